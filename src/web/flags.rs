//! Review flags on the review screen, in Vietnamese: the list above the fields, and each open
//! flag again next to every field it is about (both sides of a mismatch), naming the other side
//! and its value so the clerk can compare without searching.

use maud::{Markup, html};
use serde_json::json;

use super::layout::json_attr;
use super::screen::label;
use crate::extract::crosscheck::FlagField;
use crate::extract::model::Model;
use crate::repo::{FieldRecord, FlagView};

/// The dossier's fields and models, to name a flag's fields.
pub struct Names<'a> {
    pub fields: &'a [FieldRecord],
    pub models: &'a [Model],
}

impl Names<'_> {
    fn record(&self, x: &FlagField) -> Option<&FieldRecord> {
        self.fields.iter().find(|r| {
            r.attachment.0 == x.attachment && r.field.page == x.page && r.field.name == x.name
        })
    }

    fn model(&self, id: &str) -> Option<&Model> {
        self.models.iter().find(|m| m.id == id)
    }

    /// "Họ và tên (Căn cước công dân (mặt trước))".
    fn describe(&self, x: &FlagField) -> String {
        match self.record(x) {
            Some(r) => {
                let m = self.model(&r.model);
                let title = m.map_or(r.model.as_str(), |m| m.title.as_str());
                format!("{} ({title})", label(m, &x.name))
            }
            None => x.name.clone(),
        }
    }

    fn value(&self, x: &FlagField) -> String {
        self.record(x)
            .and_then(|r| r.field.value.clone())
            .unwrap_or_else(|| "(trống)".into())
    }

    /// The flag in one sentence of Vietnamese; the stored English message stays as its title.
    pub fn sentence(&self, f: &FlagView) -> String {
        let x = &f.flag.fields;
        match (f.flag.code.as_str(), x.as_slice()) {
            ("mismatch", [a, b]) => format!(
                "{}: “{}” khác {}: “{}”",
                self.describe(a),
                self.value(a),
                self.describe(b),
                self.value(b)
            ),
            ("no_matching_document", [a]) => format!(
                "Không có giấy tờ nào trong hồ sơ khớp {}: “{}”",
                self.describe(a),
                self.value(a)
            ),
            ("missing_attachment", _) => {
                // The message names the model the pipeline expects: show its title.
                let model = f.flag.message.strip_prefix("no page of the dossier is a ");
                let title = model.and_then(|m| self.model(m)).map(|m| m.title.as_str());
                format!("Thiếu giấy tờ bắt buộc: {}", title.unwrap_or(&f.flag.check))
            }
            _ => f.flag.message.clone(),
        }
    }
}

/// The flags above the fields, each with its dismissal note (or the box to write one).
pub fn flag_list(flags: &[FlagView], names: &Names<'_>, editable: bool) -> Markup {
    html! {
        @if !flags.is_empty() {
            div.flags {
                h2 { "Cần đối chiếu" }
                @for f in flags {
                    // Only what a dismissal names goes back to the API.
                    @let id = json!({"code": f.flag.code, "check": f.flag.check, "message": f.flag.message});
                    div.flag.dismissed[f.dismissed.is_some()] data-flag=(json_attr(&id)) {
                        p title=(f.flag.message) { (names.sentence(f)) }
                        @if let Some(x) = &f.dismissed { p.note { "Đã bỏ qua: " (x.note) } }
                        @else if editable {
                            label { "Ghi chú khi bỏ qua " input.flag-note type="text" maxlength="2000"; }
                        }
                    }
                }
            }
        }
    }
}

/// The open flags about this field, each naming the other side and its value.
pub fn beside_field(r: &FieldRecord, flags: &[FlagView], names: &Names<'_>) -> Vec<String> {
    let me = |x: &FlagField| {
        x.attachment == r.attachment.0 && x.page == r.field.page && x.name == r.field.name
    };
    flags
        .iter()
        .filter(|f| f.dismissed.is_none() && f.flag.fields.iter().any(me))
        .map(|f| match f.flag.fields.iter().find(|x| !me(x)) {
            Some(other) if f.flag.code == "mismatch" => {
                format!("Khác {}: “{}”", names.describe(other), names.value(other))
            }
            _ => names.sentence(f),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        AttachmentId, ClerkId, ExtractedField, FieldSource, Validation, ValidationStatus,
    };
    use crate::extract::crosscheck::ReviewFlag;
    use crate::repo::Dismissal;

    fn record(id: i64, attachment: i64, model: &str, name: &str, value: &str) -> FieldRecord {
        FieldRecord {
            id,
            attachment: AttachmentId(attachment),
            model: model.into(),
            field: ExtractedField {
                name: name.into(),
                value: Some(value.into()),
                raw: value.into(),
                confidence: 0.9,
                page: 0,
                bbox: None,
                source: FieldSource::Ocr,
                validation: Validation {
                    status: ValidationStatus::Valid,
                    notes: vec![],
                    repair: None,
                },
            },
            updated_at: 0,
            version: 1,
            confirmed_by: None,
        }
    }

    fn at(attachment: i64, name: &str) -> FlagField {
        FlagField {
            attachment,
            page: 0,
            name: name.into(),
        }
    }

    #[test]
    fn a_mismatch_shows_beside_both_fields_naming_the_other_side() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let defs = crate::extract::Definitions::load(&root.join("models"), &root.join("pipelines"))
            .unwrap();
        let fields = [
            record(
                1,
                10,
                "to_khai_khai_sinh",
                "mother.name",
                "NGUYỄN THỊ HƯƠNG",
            ),
            record(2, 11, "cccd", "name", "NGUYỄN THỊ HƯỜNG"),
            record(3, 11, "cccd", "pid", "001190255594"),
        ];
        let names = Names {
            fields: &fields,
            models: defs.extractor.models(),
        };
        let open = FlagView {
            flag: ReviewFlag {
                code: "mismatch".into(),
                check: "mother_id_card".into(),
                message: "to_khai_khai_sinh.mother.name is … but cccd.name is …".into(),
                fields: vec![at(10, "mother.name"), at(11, "name")],
            },
            dismissed: None,
        };
        let flags = [open.clone()];
        let mother = beside_field(&fields[0], &flags, &names);
        assert_eq!(mother.len(), 1);
        assert!(
            mother[0].starts_with("Khác Họ và tên (Căn cước"),
            "{mother:?}"
        );
        assert!(mother[0].ends_with("“NGUYỄN THỊ HƯỜNG”"), "{mother:?}");
        let card = beside_field(&fields[1], &flags, &names);
        assert!(card[0].ends_with("“NGUYỄN THỊ HƯƠNG”"), "{card:?}");
        assert!(beside_field(&fields[2], &flags, &names).is_empty());
        assert!(names.sentence(&open).contains("” khác "));
        let missing = FlagView {
            flag: ReviewFlag {
                code: "missing_attachment".into(),
                check: "to_khai".into(),
                message: "no page of the dossier is a to_khai_khai_sinh".into(),
                fields: vec![],
            },
            dismissed: None,
        };
        assert!(
            names
                .sentence(&missing)
                .starts_with("Thiếu giấy tờ bắt buộc: Tờ khai")
        );

        // A dismissed flag stays in the list, no longer beside the fields.
        let dismissed = FlagView {
            dismissed: Some(Dismissal {
                clerk: ClerkId(1),
                note: "đã đối chiếu".into(),
                at: 0,
            }),
            ..open
        };
        assert!(beside_field(&fields[0], std::slice::from_ref(&dismissed), &names).is_empty());
        let html = flag_list(&[dismissed], &names, true).into_string();
        assert!(html.contains("Đã bỏ qua: đã đối chiếu"));
        assert!(
            !html.contains("fields"),
            "only the flag's identity goes back: {html}"
        );
    }
}
