//! Splitting a scanned stack into dossiers (issue 16): at separator sheets (a QR code or a
//! Code 39 with a configured text, paperless-ngx's `PATCHT` among them) and at the receipts
//! printed at the counter, whose QR code carries the dossier code. This module so far reads the
//! codes on a page ([`codes`]) and decides where a stack splits ([`plan`]); the worker does not
//! split yet.

pub mod codes;
pub mod plan;
