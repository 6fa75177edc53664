//! Motcua Intake: document intake and scan processing for one-stop-shop ("một cửa") portals.
//!
//! Module dependencies point one way: `config` ← `decode` ← `normalize` ← `ocr` ← `render`
//! ← `pipeline`. The CLI in `main.rs` only talks to `pipeline` and `config`.

pub mod config;
pub mod decode;
pub mod domain;
pub mod normalize;
pub mod ocr;
pub mod pipeline;
pub mod render;
pub mod text;
