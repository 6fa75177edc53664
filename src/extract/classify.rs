//! Which document model a page is: the share of each model's keywords found on the page; the best
//! share at or above the model's `min_score` wins, otherwise no model applies.

use super::anchor::{PageText, match_in_line};
use super::model::Model;
use crate::domain::DocType;

pub fn score(model: &Model, page: &PageText) -> f32 {
    let found = model
        .keywords
        .iter()
        .filter(|k| (0..page.lines.len()).any(|l| match_in_line(page, l, k).is_some()))
        .count();
    found as f32 / model.keywords.len().max(1) as f32
}

/// The best-scoring model that reaches its threshold; ties go to the model listed first.
pub fn classify<'m>(models: &'m [Model], page: &PageText) -> Option<(&'m Model, DocType)> {
    let mut best: Option<(&Model, f32)> = None;
    for m in models {
        let s = score(m, page);
        if s >= m.min_score && best.is_none_or(|(_, b)| s > b) {
            best = Some((m, s));
        }
    }
    best.map(|(m, s)| {
        (
            m,
            DocType {
                model: m.id.clone(),
                confidence: s,
            },
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::anchor::tests::page;
    use crate::extract::model::load_models;

    fn models() -> Vec<Model> {
        load_models(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models")).unwrap()
    }

    #[test]
    fn forms_are_told_apart_and_letters_are_none() {
        let ms = models();
        let card = page(&[
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            "CĂN CUỚC CÔNG DÂN",
            "Số / No.: 072172124924",
            "Họ và tên / Full name:",
            "Ngày sinh / Date of birth: 16/11/1972",
        ]);
        assert_eq!(classify(&ms, &card).unwrap().0.id, "cccd");
        let marriage = page(&[
            "TỜ KHAI ĐĂNG KÝ KẾT HÔN",
            "Bên nữ - Họ, chữ đệm, tên: AN",
            "Kết hôn lần thứ mấy: Lần thứ nhất",
        ]);
        assert_eq!(classify(&ms, &marriage).unwrap().0.id, "to_khai_ket_hon");
        let birth = page(&[
            "TỜ KHAI ĐĂNG KÝ KHAI SINH",
            "Họ, chữ đệm, tên người yêu cầu: AN",
            "Quan hệ với người được khai sinh: Mẹ",
        ]);
        let (m, dt) = classify(&ms, &birth).unwrap();
        assert_eq!(m.id, "to_khai_khai_sinh");
        assert!(dt.confidence >= 0.5 && dt.confidence <= 1.0);
        let letter = page(&[
            "Hà Nội triển khai 120 dịch vụ công trực tuyến",
            "trong đó có 2 dịch vụ về đăng ký kết hôn và khai sinh",
        ]);
        assert!(classify(&ms, &letter).is_none());
    }
}
