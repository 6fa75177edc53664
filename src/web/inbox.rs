//! The inbox: the unit's dossiers needing review, oldest first with how long each has waited,
//! counts per state, who holds each claim, filters, and "take next".

use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{age, is_late, page, state_label};
use super::session::ClerkSession;
use crate::domain::now_millis;
use crate::domain::workflow::{ALL_STATES, DossierState};
use crate::intake::{AppError, AppState};
use crate::repo::{QueueEntry, QueueFilter};

#[derive(Deserialize, Default)]
pub struct InboxQuery {
    procedure: Option<String>,
    state: Option<String>,
    /// Shown once after "take next" found nothing.
    empty: Option<String>,
}

fn procedure_title(st: &AppState, code: &str) -> String {
    st.defs
        .procedures
        .iter()
        .find(|p| p.id == code || p.aliases.iter().any(|a| a == code))
        .map_or_else(|| code.to_string(), |p| p.title.clone())
}

pub async fn inbox(
    State(st): State<AppState>,
    session: ClerkSession,
    Query(q): Query<InboxQuery>,
) -> Result<Markup, AppError> {
    let state = q.state.as_deref().and_then(DossierState::parse);
    let procedure = q.procedure.clone().filter(|p| !p.is_empty());
    let filter = QueueFilter {
        procedure: procedure.clone(),
        state,
        limit: 500,
    };
    let now = now_millis();
    let entries = st.repo.queue(session.clerk.unit, &filter, now).await?;
    let counts = st.repo.state_counts(Some(session.clerk.unit)).await?;
    let count = |s: DossierState| counts.iter().find(|(c, _)| *c == s).map_or(0, |(_, n)| *n);
    let body = html! {
        h1 { "Hồ sơ cần kiểm tra" }
        ul.counts {
            @for s in ALL_STATES {
                li data-state=(s.as_str()) {
                    a href={ "/review/?state=" (s.as_str()) } { (state_label(s)) ": " strong { (count(s)) } }
                }
            }
        }
        @if q.empty.is_some() {
            p.notice role="status" { "Không còn hồ sơ nào chờ kiểm tra." }
        }
        div.toolbar {
            form method="post" action="/review/next" {
                input type="hidden" name="csrf" value=(session.csrf);
                button #take-next type="submit" accesskey="n" { "Nhận hồ sơ tiếp theo" }
            }
            form.filter method="get" action="/review/" {
                label { "Thủ tục "
                    select name="procedure" {
                        option value="" { "Tất cả" }
                        @for p in st.defs.procedures.iter() {
                            option value=(p.id) selected[procedure.as_deref() == Some(p.id.as_str())] { (p.title) }
                        }
                    }
                }
                label { " Trạng thái "
                    select name="state" {
                        option value="" { "Chờ và đang kiểm tra" }
                        @for s in ALL_STATES {
                            option value=(s.as_str()) selected[state == Some(s)] { (state_label(s)) }
                        }
                    }
                }
                button type="submit" { "Lọc" }
            }
            @if session.admin {
                a.stats-link href="/review/stats" { "Năng suất của đơn vị" }
            }
        }
        @if entries.is_empty() {
            p.empty { "Không có hồ sơ." }
        } @else {
            table.inbox {
                thead { tr {
                    th { "Mã hồ sơ" } th { "Thủ tục" } th { "Trạng thái" }
                    th { "Đã chờ" } th { "Người đang kiểm tra" } th { "Tệp" }
                } }
                tbody {
                    @for e in &entries { (row(&st, e, now)) }
                }
            }
        }
    };
    Ok(page("Hộp hồ sơ", &session.username, &session.csrf, body))
}

fn row(st: &AppState, e: &QueueEntry, now: i64) -> Markup {
    let d = &e.dossier;
    html! {
        tr.dossier data-code=(d.code) data-state=(d.state.as_str()) {
            td { a href={ "/review/dossiers/" (d.code) } { (d.code) } }
            td { (procedure_title(st, &d.procedure)) }
            td { (state_label(d.state)) }
            // Legal deadlines run from the day the dossier was received.
            td.age.late[is_late(d.created_at, now)] title="Tính từ khi tiếp nhận" { (age(d.created_at, now)) }
            td { @if let Some(c) = &e.claim { (c.username) } @else { "—" } }
            td { (e.attachments) }
        }
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

/// "Take next": claims the oldest dossier waiting and opens it.
pub async fn take_next(
    State(st): State<AppState>,
    session: ClerkSession,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    if !super::session::csrf_ok(&session, &axum::http::HeaderMap::new(), Some(&form.csrf)) {
        return Err(AppError::CsrfFailed);
    }
    let now = now_millis();
    let until = st.cfg.review.claim_until(now);
    Ok(match st.repo.claim_next(session.clerk, now, until).await? {
        Some(d) => Redirect::to(&format!("/review/dossiers/{}", d.code)).into_response(),
        None => Redirect::to("/review/?empty=1").into_response(),
    })
}
