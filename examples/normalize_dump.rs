//! Writes each page's OCR copy as normalized (PNG) and prints what normalization did, to look
//! at what Tesseract is given.
//!
//!     cargo run --release --example normalize_dump -- OUT_DIR FILES…  (MOTCUA_CONFIG=toml)
use std::sync::Arc;

use motcua::config::Config;

fn main() {
    let mut args = std::env::args().skip(1);
    let out = std::path::PathBuf::from(args.next().expect("output directory"));
    std::fs::create_dir_all(&out).unwrap();
    let cfg = match std::env::var("MOTCUA_CONFIG") {
        Ok(p) => toml::from_str(&std::fs::read_to_string(p).unwrap()).unwrap(),
        Err(_) => Config::default(),
    };
    for f in args {
        let path = std::path::Path::new(&f);
        let data: Arc<[u8]> = std::fs::read(path).unwrap().into();
        let Ok(doc) = motcua::decode::decode(data, &cfg.limits) else {
            eprintln!("{f}: cannot decode");
            continue;
        };
        for (i, p) in doc.pages.into_iter().enumerate() {
            let n = motcua::normalize::normalize(p, &cfg.normalize);
            let stem = path.file_stem().unwrap().to_string_lossy();
            n.ocr_image
                .save(out.join(format!("{stem}-{i}.png")))
                .unwrap();
            println!(
                "{stem:40} {:5}x{:<5} crop {:?} marks {} pictures {} flat {} skew {:.2} x {:?} {:.1} ms",
                n.ocr_image.width(),
                n.ocr_image.height(),
                n.crop,
                n.colour_marks.len(),
                n.pictures.len(),
                n.flattened,
                n.skew,
                n.x_height,
                n.normalize_ms
            );
        }
    }
}
