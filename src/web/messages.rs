//! Validation notes in Vietnamese for the review screen. The notes are stored and served by the
//! API in English (stable for other clients); the screen shows this translation, with field
//! names replaced by their labels. A note no pattern knows is shown as it is.

use std::sync::OnceLock;

use regex::{Captures, Regex};

type Render = fn(&Captures, &dyn Fn(&str) -> String) -> String;

/// Patterns of the notes `crate::extract` writes, most specific first.
const RULES: &[(&str, Render)] = &[
    (r"^in the closed list$", |_, _| "Có trong danh mục".into()),
    (r"^no check can prove this value$", |_, _| {
        "Không có phép kiểm tra nào xác minh được giá trị này".into()
    }),
    (r"^required field not found$", |_, _| {
        "Không tìm thấy trường bắt buộc".into()
    }),
    (r"^corrected by a clerk$", |_, _| "Cán bộ đã sửa".into()),
    (r"^two readers agree$", |_, _| {
        "Hai bộ nhận dạng đọc giống nhau".into()
    }),
    (
        r#"^Tesseract read "(.*)", the value reader "(.*)"; merged word by word$"#,
        |c, _| {
            format!(
                "Tesseract đọc “{}”, bộ đọc thứ hai đọc “{}”; đã ghép từng chữ",
                &c[1], &c[2]
            )
        },
    ),
    (
        r#"^"(.*)" → "(.*)" \(official list of units\)$"#,
        |c, _| {
            format!(
                "“{}” sửa thành “{}” theo danh mục đơn vị hành chính",
                &c[1], &c[2]
            )
        },
    ),
    (r#"^Tesseract read "(.*)"$"#, |c, _| {
        format!("Tesseract đọc “{}”", &c[1])
    }),
    (r#"^the value reader read "(.*)"$"#, |c, _| {
        format!("Bộ đọc thứ hai đọc “{}”", &c[1])
    }),
    (r"^OCR confidence (\d+) below (\d+)$", |c, _| {
        format!("Độ tin cậy nhận dạng {} dưới {}", &c[1], &c[2])
    }),
    (r"^birth year agrees with (\S+)$", |c, l| {
        format!("Năm sinh khớp với {}", l(&c[1]))
    }),
    (r"^sex agrees with (\S+)$", |c, l| {
        format!("Giới tính khớp với {}", l(&c[1]))
    }),
    (r"^sex digit is (.+)$", |c, _| {
        format!("Chữ số giới tính ứng với {}", &c[1])
    }),
    (r"^year agrees with (\S+)$", |c, l| {
        format!("Năm khớp với {}", l(&c[1]))
    }),
    (r"^day and month agree with (\S+)$", |c, l| {
        format!("Ngày và tháng khớp với {}", l(&c[1]))
    }),
    (r"^day and month differ from (\S+)$", |c, l| {
        format!("Ngày và tháng khác {}", l(&c[1]))
    }),
    (r"^equals (\S+)$", |c, l| format!("Trùng với {}", l(&c[1]))),
    (r"^differs from (.+)$", |c, l| {
        let names: Vec<String> = c[1].split(", ").map(l).collect();
        format!("Khác {}", names.join(", "))
    }),
    (r"^(\S+) has no year$", |c, l| {
        format!("{} không có năm", l(&c[1]))
    }),
    (r"^not a 12-digit ID$", |_, _| {
        "Không phải số định danh 12 chữ số".into()
    }),
    (r"^(\S+) is not a 12-digit ID$", |c, l| {
        format!("{} không phải số định danh 12 chữ số", l(&c[1]))
    }),
    (r"^(\S+) not read$", |c, l| {
        format!("Chưa đọc được {}", l(&c[1]))
    }),
    (r"^no year$", |_, _| "Không có năm".into()),
    (r"^empty$", |_, _| "Trống".into()),
    (r#"^"(.*)" is not 12 digits$"#, |c, _| {
        format!("“{}” không đủ 12 chữ số", &c[1])
    }),
    (r"^(\d+) is not a province code$", |c, _| {
        format!("{} không phải mã tỉnh", &c[1])
    }),
    (
        r"^century/sex digit (\d) is not 0–3 \(born 1900–2099\)$",
        |c, _| {
            format!(
                "Chữ số thế kỷ/giới tính {} không thuộc 0–3 (sinh 1900–2099)",
                &c[1]
            )
        },
    ),
    (r"^ID encodes birth year (\d+), stated (\d+)$", |c, _| {
        format!("Số định danh mang năm sinh {}, kê khai {}", &c[1], &c[2])
    }),
    (r#"^sex "(.*)" unknown$"#, |c, _| {
        format!("Giới tính “{}” không rõ", &c[1])
    }),
    (r"^ID encodes (\S+), stated (.+)$", |c, _| {
        format!("Số định danh mang giới tính {}, kê khai {}", &c[1], &c[2])
    }),
    (r#"^"(.*)" is not a personal ID$"#, |c, _| {
        format!("“{}” không phải số định danh", &c[1])
    }),
    (r#"^"(.*)" has 13 digits$"#, |c, _| {
        format!("“{}” có 13 chữ số", &c[1])
    }),
    (r#"^"(.*)" is not a known .+$"#, |c, _| {
        format!("“{}” không có trong danh mục", &c[1])
    }),
    (r#"^"(.*)" could be more than one .+$"#, |c, _| {
        format!("“{}” có thể ứng với nhiều mục trong danh mục", &c[1])
    }),
    (r#"^"(.*)" is not a nationality$"#, |c, _| {
        format!("“{}” không phải quốc tịch", &c[1])
    }),
    (r"^year (\d+) out of range$", |c, _| {
        format!("Năm {} ngoài khoảng cho phép", &c[1])
    }),
    (r"^month (\d+) does not exist$", |c, _| {
        format!("Tháng {} không tồn tại", &c[1])
    }),
    (r"^(\d+/\d+/\d+) does not exist$", |c, _| {
        format!("Ngày {} không tồn tại", &c[1])
    }),
    (r#"^"(.*)" is not a date$"#, |c, _| {
        format!("“{}” không phải ngày tháng", &c[1])
    }),
    (r#"^"(.*)" is not a year$"#, |c, _| {
        format!("“{}” không phải năm", &c[1])
    }),
    (r"^'(.+)' does not belong in a name$", |c, _| {
        format!("Ký tự “{}” không có trong họ tên", &c[1])
    }),
    (r#"^"(.*)" has more than one tone mark$"#, |c, _| {
        format!("“{}” có hơn một dấu thanh", &c[1])
    }),
    (r#"^"(.*)" is not a full name$"#, |c, _| {
        format!("“{}” không phải họ tên đầy đủ", &c[1])
    }),
    (r#"^"(.*)" is too long for a name$"#, |c, _| {
        format!("“{}” quá dài cho một họ tên", &c[1])
    }),
];

fn rules() -> &'static [(Regex, Render)] {
    static COMPILED: OnceLock<Vec<(Regex, Render)>> = OnceLock::new();
    COMPILED.get_or_init(|| {
        RULES
            .iter()
            .map(|(p, r)| (Regex::new(p).expect("a valid pattern"), *r))
            .collect()
    })
}

/// `note` in Vietnamese; `label` names a field. A failed check is written `<why> (<field>)`.
pub fn vietnamese(note: &str, label: &dyn Fn(&str) -> String) -> String {
    for (re, render) in rules() {
        if let Some(c) = re.captures(note) {
            return render(&c, label);
        }
    }
    if let Some((why, field)) = note.strip_suffix(')').and_then(|n| n.rsplit_once(" ("))
        && !field.contains(' ')
    {
        let said = vietnamese(why, label);
        if said != why {
            return format!("{said} ({})", label(field));
        }
    }
    note.to_string()
}

#[cfg(test)]
mod tests {
    use super::vietnamese;

    fn label(f: &str) -> String {
        match f {
            "dob" => "Ngày sinh".into(),
            "pid" => "Số".into(),
            other => other.into(),
        }
    }

    #[test]
    fn notes_read_in_vietnamese_with_field_labels() {
        let vi = |n: &str| vietnamese(n, &label);
        assert_eq!(vi("year agrees with pid"), "Năm khớp với Số");
        assert_eq!(
            vi("day and month agree with expiry"),
            "Ngày và tháng khớp với expiry"
        );
        assert_eq!(vi("in the closed list"), "Có trong danh mục");
        assert_eq!(
            vi("ID encodes birth year 1972, stated 1973 (dob)"),
            "Số định danh mang năm sinh 1972, kê khai 1973 (Ngày sinh)"
        );
        assert_eq!(
            vi("\"12AB\" is not a personal ID"),
            "“12AB” không phải số định danh"
        );
        assert_eq!(
            vi("OCR confidence 61 below 80"),
            "Độ tin cậy nhận dạng 61 dưới 80"
        );
        assert_eq!(
            vi("something new (pid)"),
            "something new (pid)",
            "unknown: as is"
        );
    }

    #[test]
    fn every_note_the_extractor_writes_has_a_translation() {
        // The notes of a whole extraction run on the dev corpus' kinds of values.
        for note in [
            "no check can prove this value",
            "required field not found",
            "birth year agrees with dob",
            "sex agrees with sex",
            "sex digit is Nữ",
            "equals mother.name",
            "differs from mother.name, father.name",
            "pid not read",
            "\"0721\" is not 12 digits",
            "999 is not a province code",
            "sex \"X\" unknown",
            "ID encodes Nữ, stated Nam (sex)",
            "\"Mars\" is not a nationality",
            "31/2/2020 does not exist",
            "\"abc\" is not a date",
            "'7' does not belong in a name",
            "two readers agree",
            "Tesseract read \"Nữ\"",
            "the value reader read \"1997\"",
            "Tesseract read \"xã Bình\", the value reader \"xã Bình Ngọc\"; merged word by word",
            "\"Nghi Lốc\" → \"Nghi Lộc\" (official list of units)",
        ] {
            assert_ne!(vietnamese(note, &label), note, "{note}");
        }
    }

    #[test]
    fn what_extraction_writes_on_real_looking_cards_is_all_translated() {
        use crate::extract::anchor::tests::page;
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let models = crate::extract::model::load_models(&root.join("models")).unwrap();
        let cccd = models.iter().find(|m| m.id == "cccd").unwrap();
        let mut seen = 0;
        // A consistent card, one whose ID disagrees with the date and sex, one with junk.
        for (pid, dob, sex, expiry) in [
            ("072172124924", "16/11/1972", "Nữ", "16/11/2012"),
            ("072072124924", "16/11/1973", "Nữ", "17/11/2013"),
            ("99A172124924", "31/02/1972", "Nx", "hết hạn"),
        ] {
            let p = page(&[
                "CĂN CƯỚC CÔNG DÂN",
                &format!("Số / No.: {pid}"),
                "Họ và tên / Full name:",
                "ĐINH MINH OANH",
                &format!("Ngày sinh / Date of birth: {dob}"),
                &format!("Giới tính / Sex: {sex}"),
                "Quốc tịch / Nationality: Việt Nam",
                "Quê quán / Place of origin:",
                "phường Hòa Cường Bắc, quận Hải Châu",
                &format!("Có giá trị đến: {expiry}"),
            ]);
            for f in crate::extract::fields::extract(cccd, &p, 0) {
                for note in &f.validation.notes {
                    seen += 1;
                    assert_ne!(vietnamese(note, &label), *note, "{}: {note}", f.name);
                }
            }
        }
        assert!(seen > 10, "{seen} notes");
    }
}
