//! The citizen's status page: the dossier's state and, when it was returned, the clerk's reason,
//! for whoever holds the dossier's upload token or the lookup code printed on its receipt
//! ([`crate::intake::lookup`]). Nothing read from the papers (names, IDs) is
//! shown. The token is posted in a form, never put in a URL, so it stays out of logs and
//! browser history.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{clock, page, state_label};
use crate::domain::workflow::DossierState;
use crate::intake::auth::token_hash;
use crate::intake::lookup;
use crate::intake::{AppError, AppState};

fn form(code: &str, error: Option<&str>) -> Markup {
    page(
        "Tra cứu hồ sơ",
        "",
        "",
        html! {
            div.login {
                h1 { "Tra cứu hồ sơ " (code) }
                form method="post" action={ "/status/" (code) } {
                    label for="token" { "Mã tra cứu trên giấy biên nhận (hoặc mã tải lên)" }
                    input #token name="token" type="password" autocomplete="off" required;
                    @if let Some(e) = error { p.error role="alert" { (e) } }
                    p { button type="submit" { "Xem trạng thái" } }
                }
            }
        },
    )
}

pub async fn ask(Path(code): Path<String>) -> Markup {
    form(&code, None)
}

#[derive(Deserialize)]
pub struct TokenForm {
    token: String,
}

pub async fn show(
    State(st): State<AppState>,
    Path(code): Path<String>,
    Form(f): Form<TokenForm>,
) -> Result<Response, AppError> {
    let typed = f.token.trim();
    let found = match lookup::hash(typed) {
        Some(h) => st.repo.dossier_by_lookup(&code, &h).await?,
        None => st.repo.dossier_by_citizen_token(&token_hash(typed)).await?,
    };
    let d = match found {
        Some(id) => st.repo.dossier_by_code(&code).await?.filter(|d| d.id == id),
        None => None,
    };
    // One answer for a wrong token and for a code that does not exist: codes cannot be probed.
    let Some(d) = d else {
        let page = form(&code, Some("Mã hồ sơ hoặc mã tra cứu không đúng."));
        return Ok((StatusCode::NOT_FOUND, page).into_response());
    };
    let state = DossierState::parse(&d.status);
    let reason = if state == Some(DossierState::Returned) {
        st.repo
            .history(d.id)
            .await?
            .into_iter()
            .rev()
            .find(|h| {
                h.action == "dossier.state"
                    && h.detail.as_ref().is_some_and(|x| x["to"] == "returned")
            })
            .and_then(|h| Some(h.detail?.get("reason")?.as_str()?.to_string()))
    } else {
        None
    };
    let label = state.map_or_else(|| d.status.clone(), |s| state_label(s).to_string());
    let body = html! {
        div.login #status {
            h1 { "Hồ sơ " (d.code) }
            p { "Tiếp nhận lúc " (clock(d.created_at)) }
            p.state data-state=(d.status) { "Trạng thái: " strong { (label) } }
            @if let Some(r) = reason {
                p { "Cần bổ sung: " (r) }
                p { "Vui lòng tải lên giấy tờ bổ sung bằng cùng mã tải lên." }
            }
        }
    };
    Ok(page("Trạng thái hồ sơ", "", "", body).into_response())
}
