//! Motcua Intake: document intake and scan processing for one-stop-shop ("một cửa") portals.
//!
//! Module dependencies point one way: `config` ← `decode` ← `normalize` ← `ocr` ← `render`
//! ← `pipeline`. The service adds `domain` ← `store`, `repo` ← `queue` (uses `pipeline`) ←
//! `intake` ← `service` (wiring); `web` (the clerks' pages) builds on `intake` and is merged
//! into its router. `station` (the scanner PC's uploader) is a client of the HTTP API only.
//! The CLI in `main.rs` talks to `pipeline`, `config`, `service` and `station`.

pub mod config;
pub mod decode;
pub mod domain;
pub mod extract;
pub mod intake;
pub mod normalize;
pub mod ocr;
pub mod orphans;
pub mod pipeline;
pub mod procedure;
pub mod queue;
pub mod render;
pub mod repo;
pub mod service;
pub mod split;
pub mod station;
pub mod store;
pub mod text;
pub mod web;
