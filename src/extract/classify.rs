//! Which document model a page is: the share of each model's keywords found on the page; the best
//! share at or above the model's `min_score` wins, otherwise no model applies.

use super::anchor::{PageText, match_in_line};
use super::model::Model;
use crate::domain::DocType;

pub fn score(model: &Model, page: &PageText) -> f32 {
    let on_page = |k: &String| (0..page.lines.len()).any(|l| match_in_line(page, l, k).is_some());
    if model.exclude.iter().any(on_page) {
        return 0.0;
    }
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
    use crate::extract::model::shipped_models as models;

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
        // The joint birth, residence and health-insurance form carries every label of the
        // birth declaration, and is another procedure.
        let joint = page(&[
            "TỜ KHAI ĐĂNG KÝ KHAI SINH, ĐĂNG KÝ THƯỜNG TRÚ, CẤP THẺ BẢO HIỂM Y TẾ",
            "Họ, chữ đệm, tên người yêu cầu: AN",
            "Quan hệ với người được khai sinh: Mẹ",
            "Đề nghị cơ quan đăng ký khai sinh cho người dưới đây:",
        ]);
        assert!(classify(&ms, &joint).is_none());
        let death = page(&[
            "TỜ KHAI ĐĂNG KÝ KHAI TỬ",
            "Họ, chữ đệm, tên người yêu cầu: AN",
            "Quan hệ với người đã chết: Con",
            "Đã chết vào lúc: 10 giờ 30 phút, ngày 05 tháng 11 năm 2026",
        ]);
        assert_eq!(classify(&ms, &death).unwrap().0.id, "to_khai_khai_tu");
        let status = page(&[
            "TỜ KHAI CẤP GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN",
            "Họ, chữ đệm, tên người yêu cầu: AN",
            "Quan hệ với người được cấp Giấy xác nhận tình trạng hôn nhân: Bản thân",
            "Đề nghị cấp Giấy xác nhận tình trạng hôn nhân cho người có tên dưới đây:",
            "Tình trạng hôn nhân: Chưa đăng ký kết hôn với ai",
        ]);
        assert_eq!(
            classify(&ms, &status).unwrap().0.id,
            "to_khai_xac_nhan_tinh_trang_hon_nhan"
        );
        let letter = page(&[
            "Hà Nội triển khai 120 dịch vụ công trực tuyến",
            "trong đó có 2 dịch vụ về đăng ký kết hôn và khai sinh",
        ]);
        assert!(classify(&ms, &letter).is_none());
    }
}
