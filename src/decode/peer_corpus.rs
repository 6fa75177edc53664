//! The peer corpus (`../shared/corpus/peer/`, files from other projects' test suites, never
//! copied here): every raster file marked `read` decodes to at least one page and every one
//! marked `refuse` fails with a code. Skipped, with a note on stderr, where the folder is absent.

use std::path::Path;
use std::sync::Arc;

use crate::config::Limits;

/// `read` files still refused, each with the reason; the test fails if one of them starts to
/// read (drop it from here) or fails other than with `unsupported_layout`.
const KNOWN_GAPS: &[&str] = &[];

#[test]
fn peer_raster_files_read_or_refuse_as_listed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/peer");
    let Ok(manifest) = std::fs::read_to_string(root.join("manifest.tsv")) else {
        eprintln!("skipped: no peer corpus at {}", root.display());
        return;
    };
    let limits = Limits::default();
    let mut failures = Vec::new();
    let mut checked = 0;
    for line in manifest.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let [file, _, kind, expected, ..] = cols[..] else {
            continue;
        };
        let raster = ["tiff", "jpeg", "png", "webp"]
            .iter()
            .any(|f| kind == *f || kind.starts_with(&format!("{f}-")));
        if !raster || !matches!(expected, "read" | "refuse") {
            continue;
        }
        let Ok(bytes) = std::fs::read(root.join("files").join(file)) else {
            failures.push(format!("{file}: missing"));
            continue;
        };
        checked += 1;
        let result = super::decode(Arc::from(bytes), &limits);
        if KNOWN_GAPS.contains(&file) {
            match result {
                Err(e) if e.code() == "unsupported_layout" => {}
                Err(e) => failures.push(format!("{file} (known gap): {} {e}", e.code())),
                Ok(_) => failures.push(format!("{file} now reads: drop it from KNOWN_GAPS")),
            }
            continue;
        }
        match (expected, result) {
            ("read", Ok(doc)) if !doc.pages.is_empty() => {}
            ("read", Ok(_)) => failures.push(format!("{file} ({kind}): no pages")),
            ("read", Err(e)) => failures.push(format!("{file} ({kind}): {} {e}", e.code())),
            ("refuse", Ok(_)) => failures.push(format!("{file} ({kind}): read, expected refusal")),
            _ => {}
        }
    }
    assert!(checked > 0, "no raster file listed in the manifest");
    assert!(
        failures.is_empty(),
        "{} of {checked}:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
