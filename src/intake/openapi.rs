//! The OpenAPI 3 document of the JSON API, served at `/api/v1/openapi.json`. Every handler carries
//! `#[utoipa::path]`, and the router is built from those same annotations (utoipa-axum's
//! `routes!`): a route cannot be served without being documented, nor documented at a path or
//! method it is not served at.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::auth::SESSION_COOKIE;
use super::error::ErrorBody;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Motcua Intake API",
        description = "Dossiers (hồ sơ) of the one-stop-shop portals: uploads from commune scanner \
            stations and citizens, the text and fields read from every page, and the clerks' \
            review. Every error body is `ErrorBody`; its `code` is stable."
    ),
    modifiers(&Schemes),
    components(schemas(ErrorBody)),
    tags(
        (name = "dossiers", description = "Creating dossiers, uploading files, reading results"),
        (name = "uploads", description = "Resumable uploads (tus 1.0.0) for stations on links that drop"),
        (name = "review", description = "Clerks: queue, claims, field confirmation, decisions"),
        (name = "ops", description = "Health, readiness, metrics and this document"),
    )
)]
pub struct ApiDoc;

struct Schemes;

impl Modify for Schemes {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let c = api.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A station token (`mcs_…`, bound to its unit) or a citizen's upload \
                         token (`mcc_…`, bound to its dossier)",
                    ))
                    .build(),
            ),
        );
        c.add_security_scheme(
            "basic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some("A clerk's username and password"))
                    .build(),
            ),
        );
        c.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                SESSION_COOKIE,
                "The review UI's session cookie (`/review/login`); writes also need `csrf`",
            ))),
        );
        c.add_security_scheme(
            "csrf",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-CSRF-Token",
                "The session's CSRF token, as the review UI puts it in its pages",
            ))),
        );
    }
}

/// The document of the whole API; built once.
pub fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        super::api_routes(0)
            .into_openapi()
            .to_json()
            .expect("the OpenAPI document serializes")
    })
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "ops",
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn serve() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], document())
}
