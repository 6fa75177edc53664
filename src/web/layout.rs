//! The page shell every review screen shares, and the Vietnamese words for states and ages.

use maud::{DOCTYPE, Markup, html};

use crate::domain::Millis;
use crate::domain::workflow::DossierState;

/// A full page: the CSRF token in a meta tag for `review.js`, the stylesheet and script served
/// by the binary itself (no CDN).
pub fn page(title: &str, username: &str, csrf: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="vi" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="csrf-token" content=(csrf);
                title { (title) " — Trạm kiểm tra hồ sơ" }
                link rel="stylesheet" href=(super::assets::CSS_PATH);
                script src=(super::assets::JS_PATH) defer {}
            }
            body {
                header.top {
                    @if username.is_empty() {
                        span.brand { "Dịch vụ công một cửa" }
                    } @else {
                        a.brand href="/review/" { "Trạm kiểm tra hồ sơ" }
                        span.who { "Cán bộ: " strong { (username) } }
                        form.logout method="post" action="/review/logout" {
                            input type="hidden" name="csrf" value=(csrf);
                            button type="submit" { "Đăng xuất" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

pub fn state_label(s: DossierState) -> &'static str {
    match s {
        DossierState::Receiving => "Đang tiếp nhận",
        DossierState::Processing => "Đang xử lý",
        DossierState::NeedsReview => "Chờ kiểm tra",
        DossierState::InReview => "Đang kiểm tra",
        DossierState::Approved => "Đã duyệt",
        DossierState::Returned => "Yêu cầu bổ sung",
        DossierState::Rejected => "Từ chối",
    }
}

/// "3 ngày 4 giờ", "2 giờ 5 phút", "12 phút": how long a dossier has waited.
pub fn age(since: Millis, now: Millis) -> String {
    let mins = ((now - since).max(0) / 60_000) as u64;
    let (d, h, m) = (mins / 1440, mins / 60 % 24, mins % 60);
    match (d, h) {
        (0, 0) => format!("{m} phút"),
        (0, _) => format!("{h} giờ {m} phút"),
        _ => format!("{d} ngày {h} giờ"),
    }
}

/// Waiting longer than this many days is shown as late: civil-status procedures have legal
/// deadlines counted in working days, the shortest a few days.
pub const LATE_DAYS: i64 = 2;

pub fn is_late(since: Millis, now: Millis) -> bool {
    now - since > LATE_DAYS * 86_400_000
}

/// Local time (Vietnam, UTC+7) as `HH:MM dd/mm/yyyy`.
pub fn clock(at: Millis) -> String {
    let local = at / 1000 + 7 * 3600;
    let (days, secs) = (local.div_euclid(86_400), local.rem_euclid(86_400));
    let (y, mo, d) = civil_from_days(days);
    format!(
        "{:02}:{:02} {d:02}/{mo:02}/{y}",
        secs / 3600,
        secs / 60 % 60
    )
}

/// Howard Hinnant's days-to-civil: the date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// A JSON value for a `data-` attribute (maud escapes its quotes).
pub fn json_attr(v: &serde_json::Value) -> String {
    v.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_and_clock_read_in_vietnamese() {
        let now = 1_800_000_000_000;
        assert_eq!(age(now - 12 * 60_000, now), "12 phút");
        assert_eq!(age(now - 125 * 60_000, now), "2 giờ 5 phút");
        assert_eq!(age(now - (3 * 1440 + 4 * 60) * 60_000, now), "3 ngày 4 giờ");
        assert!(is_late(now - 3 * 86_400_000, now) && !is_late(now - 3_600_000, now));
        // 2026-12-01 06:30 UTC is 13:30 in Hà Nội.
        assert_eq!(clock(1_796_106_600_000), "13:30 01/12/2026");
    }
}
