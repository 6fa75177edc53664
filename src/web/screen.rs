//! The review screen: the page on one side (thumbnails, zoom, turn the view, the boxes of the
//! fields), the fields on the other, grouped as the model names them (`child.name` → child),
//! with confidence, validation and the review flags; the decision buttons and the history.
//! Opening a dossier takes its claim when nobody holds it; someone else's claim makes the
//! screen read-only and says whose it is. Everything the clerk does goes through the JSON API
//! (`review.js`).

use axum::extract::{Path, State};
use maud::{Markup, html};
use serde_json::json;

use super::layout::{clock, json_attr, page, state_label};
use super::session::ClerkSession;
use super::{flags, messages};
use crate::domain::workflow::DossierState;
use crate::domain::{ValidationStatus, now_millis};
use crate::extract::model::Model;
use crate::intake::{AppError, AppState};
use crate::repo::{AttachmentView, ClaimOutcome, FieldRecord, FlagView};

/// Vietnamese names of the field groups the models use.
fn group_title(prefix: &str) -> &str {
    match prefix {
        "requester" => "Người yêu cầu",
        "child" => "Người được khai sinh",
        "mother" => "Mẹ",
        "father" => "Cha",
        "husband" => "Chồng",
        "wife" => "Vợ",
        "" => "Thông tin",
        other => other,
    }
}

/// The field's label as printed on the form: its first anchor, without the English half and
/// the colon ("Họ và tên / Full name:" → "Họ và tên").
pub(super) fn label(model: Option<&Model>, name: &str) -> String {
    model
        .and_then(|m| m.fields.iter().find(|f| f.name == name))
        .and_then(|f| f.anchors.first())
        .map(|a| {
            a.split('/')
                .next()
                .unwrap_or(a)
                .trim()
                .trim_end_matches(':')
                .trim()
                .to_string()
        })
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| name.to_string())
}

/// Low confidence, invalid, or nobody confirmed it yet while it is not proven valid.
fn needs_attention(r: &FieldRecord, threshold: f32) -> bool {
    r.confirmed_by.is_none()
        && (r.field.value.is_none()
            || r.field.validation.status != ValidationStatus::Valid
            || r.field.confidence < threshold)
}

pub async fn screen(
    State(st): State<AppState>,
    session: ClerkSession,
    Path(code): Path<String>,
) -> Result<Markup, AppError> {
    let mut d = session.own_dossier(&st, &code).await?;
    let now = now_millis();
    let until = st.cfg.review.claim_until(now);
    // Opening a dossier waiting for review takes it; one already ours is renewed.
    let (holder, mine) = match DossierState::parse(&d.status) {
        Some(DossierState::NeedsReview | DossierState::InReview) => {
            match st.repo.claim_dossier(&d, session.clerk, now, until).await? {
                ClaimOutcome::Claimed(_) => (None, true),
                ClaimOutcome::HeldBy(h) => (Some(h), false),
                ClaimOutcome::NotAllowed(_) => (None, false),
            }
        }
        _ => (None, false),
    };
    if mine {
        // The claim just taken (or renewed) put it in review.
        d.status = DossierState::InReview.as_str().to_string();
    }
    let views = st.repo.attachment_views(d.id).await?;
    let fields = st.repo.dossier_fields(d.id).await?;
    let flags = st.repo.flag_views(d.id).await?;
    let models = st.defs.extractor.models();
    let state = DossierState::parse(&d.status);
    let state_text = state.map_or_else(|| d.status.clone(), |s| state_label(s).to_string());
    let config = json!({
        "code": d.code,
        "editable": mine,
        "renewSecs": (st.cfg.review.claim_secs / 3).max(10),
    });
    let body = html! {
        div #review data-config=(json_attr(&config)) {
            div.bar {
                h1 { "Hồ sơ " (d.code) }
                span.state data-state=(d.status) { (state_text) }
                a href="/review/" { "← Hộp hồ sơ" }
            }
            @if let Some(h) = &holder {
                p.readonly role="status" {
                    "Hồ sơ đang được " strong { (h.username) } " kiểm tra đến " (clock(h.until)) ". Chỉ xem."
                }
            } @else if !mine {
                p.readonly role="status" { "Hồ sơ " (state_text.to_lowercase()) ". Chỉ xem." }
            }
            div.panes {
                section.viewer aria-label="Trang" { (viewer(&d.code, &views, &fields)) }
                section.fields aria-label="Trường thông tin" {
                    (field_list(&views, &fields, &flags, models, mine))
                    (decisions(mine))
                    details #history {
                        summary { "Lịch sử" }
                        ol #history-list {}
                    }
                }
            }
        }
    };
    Ok(page(
        &format!("Hồ sơ {}", d.code),
        &session.username,
        &session.csrf,
        body,
    ))
}

fn viewer(code: &str, views: &[AttachmentView], fields: &[FieldRecord]) -> Markup {
    html! {
        div.tools {
            button type="button" data-act="zoom-out" title="Thu nhỏ" { "−" }
            button type="button" data-act="zoom-in" title="Phóng to" { "+" }
            button type="button" data-act="rotate" title="Xoay trang" { "⟳" }
        }
        div.thumbs {
            @for v in views { @for p in &v.pages {
                button.thumb type="button" data-page={ (v.attachment.id) "-" (p.index) } {
                    img loading="lazy" alt={ "Trang " (p.index + 1) }
                        src={ "/review/dossiers/" (code) "/pages/" (v.attachment.id) "/" (p.index) "?w=160" };
                }
            } }
        }
        div.stage {
            @for (n, v) in views.iter().enumerate() { @for p in &v.pages {
                figure.page hidden[n > 0 || p.index > 0] data-page={ (v.attachment.id) "-" (p.index) }
                    data-full={ "/review/dossiers/" (code) "/pages/" (v.attachment.id) "/" (p.index) "?w=2400" } {
                    div.sheet {
                        // Only the page shown first is fetched with the screen; the hidden ones
                        // when turned to. Their size holds the page's place (and its boxes) until
                        // the image comes.
                        img alt={ "Trang " (p.index + 1) " của " (v.attachment.filename.as_deref().unwrap_or("tệp")) }
                            loading=[(n > 0 || p.index > 0).then_some("lazy")]
                            width=(p.width) height=(p.height)
                            src={ "/review/dossiers/" (code) "/pages/" (v.attachment.id) "/" (p.index) "?w=1200" };
                        @for f in fields.iter().filter(|f| f.attachment == v.attachment.id && f.field.page == p.index as usize) {
                            @if let Some(b) = f.field.bbox {
                                // Percentages of the page: right at any zoom.
                                div.box data-field=(f.id) style={
                                    "left:" (pct(b.x0, p.width)) "%;top:" (pct(b.y0, p.height))
                                    "%;width:" (pct(b.width(), p.width)) "%;height:" (pct(b.height(), p.height)) "%"
                                } {}
                            }
                        }
                    }
                }
            } }
        }
    }
}

fn pct(v: u32, of: u32) -> String {
    format!("{:.3}", f64::from(v) * 100.0 / f64::from(of.max(1)))
}

fn field_list(
    views: &[AttachmentView],
    fields: &[FieldRecord],
    flags: &[FlagView],
    models: &[Model],
    editable: bool,
) -> Markup {
    let names = flags::Names { fields, models };
    html! {
        (flags::flag_list(flags, &names, editable))
        @for v in views {
            @let of_att: Vec<&FieldRecord> = fields.iter().filter(|f| f.attachment == v.attachment.id).collect();
            @if !of_att.is_empty() {
                @let model = models.iter().find(|m| m.id == of_att[0].model);
                h2 { (model.map_or(of_att[0].model.as_str(), |m| m.title.as_str())) }
                @for g in groups(&of_att) {
                    fieldset.group {
                        legend { (group_title(g)) }
                        @for f in of_att.iter().filter(|f| group_of(f) == g) {
                            @let flagged = flags::beside_field(f, flags, &names);
                            (field_row(f, model, threshold(model, &f.field.name), &flagged, editable))
                        }
                    }
                }
            }
        }
    }
}

/// Below this confidence (0–1) a value is shown as doubtful: the field's `review_confidence` in
/// its model (Tesseract's 0–100), which defaults to the model's own.
fn threshold(model: Option<&Model>, field: &str) -> f32 {
    let spec = model.and_then(|m| m.fields.iter().find(|f| f.name == field));
    match (spec, model) {
        (Some(s), _) => s.review_confidence / 100.0,
        (None, Some(m)) => m.min_valid_confidence / 100.0,
        (None, None) => 0.8,
    }
}

fn group_of(f: &FieldRecord) -> &str {
    f.field.name.split_once('.').map_or("", |(g, _)| g)
}

/// Groups in the order their first field comes.
fn groups<'a>(fields: &[&'a FieldRecord]) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for f in fields {
        let g = group_of(f);
        if !out.contains(&g) {
            out.push(g);
        }
    }
    out
}

fn field_row(
    f: &FieldRecord,
    model: Option<&Model>,
    threshold: f32,
    flagged: &[String],
    editable: bool,
) -> Markup {
    let status = f.field.validation.status;
    let conf = if f.field.confidence < threshold {
        "low"
    } else {
        "high"
    };
    // An open flag needs the clerk even on a confirmed field: it still stops approval.
    let attention = needs_attention(f, threshold) || !flagged.is_empty();
    let notes = &f.field.validation.notes;
    let name_of = |n: &str| label(model, n);
    let message = notes
        .iter()
        .map(|n| messages::vietnamese(n, &name_of))
        .collect::<Vec<_>>()
        .join("; ");
    html! {
        div.field.attention[attention] data-id=(f.id) data-version=(f.version)
            data-page={ (f.attachment) "-" (f.field.page) } {
            label for={ "f" (f.id) } { (label(model, &f.field.name)) }
            input id={ "f" (f.id) } type="text" value=(f.field.value.as_deref().unwrap_or(""))
                data-original=(f.field.value.as_deref().unwrap_or("")) readonly[!editable]
                autocomplete="off" spellcheck="false";
            span.conf.(conf) title="Độ tin cậy" { (format!("{:.0}%", f.field.confidence * 100.0)) }
            span.status.(status.as_str()) {
                @if f.confirmed_by.is_some() { "Đã xác nhận" }
                @else { @match status {
                    ValidationStatus::Valid => "Hợp lệ",
                    ValidationStatus::Invalid => "Không hợp lệ",
                    ValidationStatus::Unchecked => "Chưa kiểm",
                } }
            }
            p.message aria-live="polite" title=(notes.join("; ")) { (message) }
            @for note in flagged { p.flagged role="note" { "⚠ " (note) } }
        }
    }
}

fn decisions(editable: bool) -> Markup {
    html! {
        @if editable {
            div.decide {
                label { "Lý do (khi trả lại hoặc từ chối) " textarea #reason maxlength="2000" rows="2" {} }
                p #decide-error.error role="alert" {}
                button #approve type="button" title="Ctrl+Enter" { "Duyệt và mở hồ sơ tiếp theo" }
                button #return type="button" { "Yêu cầu bổ sung" }
                button #reject type="button" { "Từ chối" }
                button #release type="button" { "Trả về hàng đợi" }
            }
            p.keys { "Phím: Enter xác nhận và sang trường cần xem tiếp · Ctrl+J trường cần xem tiếp · Ctrl+Enter duyệt" }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::threshold;

    #[test]
    fn each_field_has_its_models_review_bar() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let defs = crate::extract::Definitions::load(&root.join("models"), &root.join("pipelines"))
            .unwrap();
        let models = defs.extractor.models();
        let cccd = models.iter().find(|m| m.id == "cccd");
        assert!(cccd.is_some());
        assert_eq!(threshold(cccd, "pid"), 0.9, "models/cccd.toml sets its own");
        assert_eq!(
            threshold(cccd, "name"),
            0.8,
            "the model's min_valid_confidence"
        );
        assert_eq!(threshold(None, "pid"), 0.8);
    }
}
