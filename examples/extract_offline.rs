//! Re-runs field extraction on the `<stem>.json` files `motcua process` wrote, without OCR, so
//! document models can be tuned in seconds:
//!
//! ```sh
//! cargo run --release --example extract_offline -- models OCR_DIR OUT_DIR
//! ```
//!
//! Writes `OUT_DIR/<stem>.json` with each page's `doc_type` and `fields`, the shape
//! `benches/fields.py` reads.

use std::path::PathBuf;

use motcua::domain::{Line, Word};
use motcua::extract::Extractor;
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
struct Doc {
    source: PathBuf,
    pages: Vec<Page>,
}

#[derive(Deserialize)]
struct Page {
    index: usize,
    words: Vec<Word>,
    lines: Vec<Line>,
}

fn main() -> anyhow::Result<()> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [models, ocr, out] = args.as_slice() else {
        anyhow::bail!("usage: extract_offline MODELS_DIR OCR_JSON_DIR OUT_DIR");
    };
    let extractor = Extractor::load(models).map_err(|errors| {
        anyhow::anyhow!(
            "{}",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        )
    })?;
    std::fs::create_dir_all(out)?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(ocr)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    for f in files {
        let doc: Doc = serde_json::from_slice(&std::fs::read(&f)?)?;
        let pages: Vec<_> = doc
            .pages
            .iter()
            .map(|p| {
                // Saved OCR output has no page image: Tesseract's words alone.
                let x = extractor.extract(&p.words, &p.lines, p.index, None);
                json!({"index": p.index, "doc_type": x.doc_type, "fields": x.fields})
            })
            .collect();
        let name = f.file_name().expect("a file");
        std::fs::write(
            out.join(name),
            serde_json::to_vec_pretty(&json!({"source": doc.source, "pages": pages}))?,
        )?;
    }
    Ok(())
}
