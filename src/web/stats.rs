//! `/review/stats`: the unit's review productivity, for its admins. The same numbers as
//! `GET /api/v1/review/stats`.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{clock, page};
use super::session::ClerkSession;
use crate::domain::productivity::{Decided, Seconds};
use crate::intake::stats::{DEFAULT_DAYS, UnitStats, unit_stats};
use crate::intake::{AppError, AppState};

#[derive(Deserialize)]
pub struct StatsQuery {
    days: Option<u32>,
}

/// The windows offered; any other `days` in the URL works too.
const WINDOWS: [u32; 4] = [1, 7, 30, 90];

/// "4 phút 5 giây", "1 giờ 3 phút", "12 giây".
pub fn duration(secs: f64) -> String {
    let s = secs.round().max(0.0) as u64;
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    match (h, m) {
        (0, 0) => format!("{s} giây"),
        (0, _) => format!("{m} phút {s} giây"),
        _ => format!("{h} giờ {m} phút"),
    }
}

fn times(t: &Option<Seconds>) -> Markup {
    html! {
        @match t {
            Some(t) => { (duration(t.median)) span.hint { " (90%: " (duration(t.p90)) ", " (t.count) " hồ sơ)" } }
            None => { "—" }
        }
    }
}

fn decided(d: &Decided) -> Markup {
    html! {
        strong { (d.total()) }
        span.hint { " (duyệt " (d.approved) ", bổ sung " (d.returned) ", từ chối " (d.rejected) ")" }
    }
}

pub async fn stats(
    State(st): State<AppState>,
    session: ClerkSession,
    Query(q): Query<StatsQuery>,
) -> Result<Response, AppError> {
    if !session.admin {
        let body = html! {
            h1 { "Năng suất kiểm tra" }
            p.error role="alert" { "Chỉ quản trị viên của đơn vị xem được trang này." }
            p { a href="/review/" { "Quay lại hộp hồ sơ" } }
        };
        let markup = page("Năng suất", &session.username, &session.csrf, body);
        return Ok((StatusCode::FORBIDDEN, markup).into_response());
    }
    let days = q.days.unwrap_or(DEFAULT_DAYS);
    let s = unit_stats(&st, session.clerk, days).await?;
    let body = body(&s);
    Ok(page("Năng suất", &session.username, &session.csrf, body).into_response())
}

fn body(s: &UnitStats) -> Markup {
    let n = &s.numbers;
    html! {
        h1 { "Năng suất kiểm tra hồ sơ" }
        nav.windows {
            @for d in WINDOWS {
                @if d == s.days { strong { (d) " ngày" } } @else { a href={ "/review/stats?days=" (d) } { (d) " ngày" } }
                " "
            }
        }
        p.hint { "Từ " (clock(n.since)) " đến " (clock(n.until)) }
        dl.stats {
            dt { "Hồ sơ đã xử lý" } dd #decided { (decided(&n.decided)) }
            dt { "Thời gian kiểm tra một hồ sơ (trung vị)" } dd #review-time { (times(&n.review_secs)) }
            dt { "Thời gian chờ đến khi được nhận (trung vị)" } dd #wait-time { (times(&n.wait_secs)) }
            dt { "Trường đã xác nhận / đã sửa" } dd #fields { strong { (n.fields_confirmed) } " / " strong { (n.fields_corrected) } }
            dt { "Trường được chấp nhận nguyên trạng" }
            dd #untouched {
                @match n.untouched_share {
                    Some(x) => { strong { (format!("{:.1}", x * 100.0)) " %" }
                        span.hint { " (" (n.approved_fields_untouched) " / " (n.approved_fields) " trường của hồ sơ đã duyệt)" } }
                    None => { "—" }
                }
            }
        }
        h2 { "Theo cán bộ" }
        @if n.clerks.is_empty() {
            p.empty { "Chưa có hoạt động trong khoảng này." }
        } @else {
            table.inbox.clerks {
                thead { tr { th { "Cán bộ" } th { "Hồ sơ đã xử lý" } th { "Thời gian / hồ sơ" } th { "Xác nhận" } th { "Sửa" } } }
                tbody {
                    @for l in &n.clerks {
                        tr data-clerk=(s.username(l.clerk)) {
                            td { (s.username(l.clerk)) }
                            td { (decided(&l.decided)) }
                            td { (times(&l.review_secs)) }
                            td { (l.fields_confirmed) }
                            td { (l.fields_corrected) }
                        }
                    }
                }
            }
        }
        p { a href="/review/" { "Quay lại hộp hồ sơ" } }
    }
}

#[cfg(test)]
mod tests {
    use super::duration;

    #[test]
    fn durations_read_in_vietnamese() {
        assert_eq!(duration(12.4), "12 giây");
        assert_eq!(duration(245.0), "4 phút 5 giây");
        assert_eq!(duration(3780.0), "1 giờ 3 phút");
    }
}
