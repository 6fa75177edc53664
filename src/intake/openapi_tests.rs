//! The OpenAPI document against the router that serves it: every documented operation is
//! served (no fallback 404, no 405) and refuses a caller without the credentials it documents.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::Value;
use tower::ServiceExt;

use super::router;
use super::tests::fixture;
use crate::config::Config;

async fn call(app: &axum::Router, req: Request<Body>) -> (StatusCode, Value) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Every (method, path) the clients of this API use.
const ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/api/v1/openapi.json"),
    ("post", "/api/v1/dossiers"),
    ("get", "/api/v1/dossiers/{code}"),
    ("get", "/api/v1/review/queue"),
    ("post", "/api/v1/review/next"),
    ("get", "/api/v1/review/stats"),
    ("post", "/api/v1/dossiers/{code}/claim"),
    ("delete", "/api/v1/dossiers/{code}/claim"),
    ("post", "/api/v1/dossiers/{code}/decision"),
    ("get", "/api/v1/dossiers/{code}/history"),
    ("put", "/api/v1/dossiers/{code}/fields/{id}"),
    ("post", "/api/v1/dossiers/{code}/attachments"),
    ("get", "/api/v1/dossiers/{code}/attachments/{id}/original"),
    ("get", "/api/v1/dossiers/{code}/attachments/{id}/pdf"),
    ("post", "/api/v1/dossiers/{code}/attachments/{id}/retry"),
    ("options", "/api/v1/uploads"),
    ("post", "/api/v1/uploads"),
    ("head", "/api/v1/uploads/{id}"),
    ("patch", "/api/v1/uploads/{id}"),
    ("delete", "/api/v1/uploads/{id}"),
];

/// Every `$ref` under `v`.
fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r);
            }
            m.values().for_each(|v| refs(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch", "head", "options"];

#[tokio::test]
async fn the_document_describes_exactly_the_routes_served() {
    let f = fixture(Config::default()).await;
    let app = router(f.state.clone());
    let res = app
        .clone()
        .oneshot(
            Request::get("/api/v1/openapi.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CONTENT_TYPE], "application/json");
    let (_, doc) = call(
        &app,
        Request::get("/api/v1/openapi.json")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    let mut all_refs = Vec::new();
    refs(&doc, &mut all_refs);
    assert!(all_refs.len() > 20);
    for r in all_refs {
        let name = r.strip_prefix("#/components/schemas/").unwrap();
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "{r} dangles"
        );
    }

    let mut documented = Vec::new();
    let mut operation_ids = std::collections::HashSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(METHODS.contains(&method.as_str()), "{method} {path}");
            documented.push((method.clone(), path.clone()));
            let id = op["operationId"].as_str().unwrap();
            assert!(
                operation_ids.insert(id.to_string()),
                "operationId {id} twice"
            );
            assert!(op["tags"].as_array().is_some_and(|t| !t.is_empty()));
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|k| k.starts_with('2')),
                "{method} {path}"
            );
            let security = op["security"].as_array().cloned().unwrap_or_default();
            for req in &security {
                for name in req.as_object().unwrap().keys() {
                    assert!(schemes.contains_key(name), "{method} {path}: scheme {name}");
                }
            }

            // Served: the request reaches the handler, which refuses a caller without
            // credentials where the document asks for them.
            let uri = path.replace("{code}", &f.code).replace("{id}", "1");
            let multipart = op["requestBody"]["content"]
                .get("multipart/form-data")
                .is_some();
            let (content_type, body) = if multipart {
                ("multipart/form-data; boundary=b", "--b--\r\n")
            } else {
                ("application/json", "{}")
            };
            let req = Request::builder()
                .method(method.to_uppercase().as_str())
                .uri(&uri)
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(body))
                .unwrap();
            let (status, body) = call(&app, req).await;
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert_ne!(
                body["error"]["message"], "route not found",
                "{method} {path} is documented but not served"
            );
            let anonymous_allowed =
                security.is_empty() || security.iter().any(|r| r.as_object().unwrap().is_empty());
            if anonymous_allowed {
                assert_ne!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
            } else {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}: {body}");
                assert!(
                    responses.contains_key("401"),
                    "{method} {path} answers 401 without documenting it"
                );
            }
        }
    }
    let mut expected: Vec<_> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    expected.sort();
    documented.sort();
    assert_eq!(documented, expected);

    // And what is not documented is not served.
    let (status, body) = call(
        &app,
        Request::get("/api/v1/undocumented")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["message"], "route not found");
}
