//! Measured skew against `skew_deg` in a corpus's truth.jsonl, with the time taken.
//!
//!     cargo run --release --example skew_eval -- /work/shared/corpus/dev

use std::time::Instant;

use motcua::config::{Limits, NormalizeConfig};
use motcua::normalize::{estimate_skew, level_display, level_gray, normalize};

fn main() -> anyhow::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "../shared/corpus/dev".into());
    let truth = std::fs::read_to_string(format!("{dir}/truth.jsonl"))?;
    let cfg = NormalizeConfig {
        deskew: false,
        remove_leaders: false,
        ..NormalizeConfig::default()
    };
    let (mut worst, mut total_ms, mut n) = (0f32, 0f64, 0);
    let mut normalize_ms = [0f64; 2];
    let mut rotate_ms = [0f64; 2];
    for line in truth.lines() {
        let t: serde_json::Value = serde_json::from_str(line)?;
        let file = t["file"].as_str().unwrap_or_default();
        let want = t["skew_deg"].as_f64().unwrap_or(0.0) as f32;
        let data = std::fs::read(format!("{dir}/{file}"))?;
        let doc = motcua::decode::decode(data.into(), &Limits::default())?;
        for page in doc.pages {
            let on = normalize(page.clone(), &NormalizeConfig::default());
            let off = normalize(
                page.clone(),
                &NormalizeConfig {
                    deskew: false,
                    ..NormalizeConfig::default()
                },
            );
            normalize_ms[0] += off.normalize_ms;
            normalize_ms[1] += on.normalize_ms;
            let p = normalize(page, &cfg);
            let started = Instant::now();
            let s = estimate_skew(&p.ocr_image, p.ocr_dpi, 10.0);
            let ms = started.elapsed().as_secs_f64() * 1e3;
            let t = Instant::now();
            let _ = level_gray(&p.ocr_image, 3.0);
            let gray_ms = t.elapsed().as_secs_f64() * 1e3;
            let t = Instant::now();
            let _ = level_display(&p.display, 3.0, p.bilevel);
            let display_ms = t.elapsed().as_secs_f64() * 1e3;
            rotate_ms[0] += gray_ms;
            rotate_ms[1] += display_ms;
            total_ms += ms;
            n += 1;
            let got = s.map_or(0.0, |s| s.degrees);
            let err = if p.blank { 0.0 } else { (got - want).abs() };
            worst = worst.max(err);
            println!(
                "{file:42} truth {want:6.2} got {got:6.2} err {err:5.2} ratio {:5.2} vert {:5} blank {:5} {ms:5.1} ms",
                s.map_or(0.0, |s| s.peak_ratio),
                s.is_some_and(|s| s.vertical),
                p.blank
            );
        }
    }
    println!(
        "levelling mean ms: OCR copy {:.1}, page image {:.1}",
        rotate_ms[0] / n.max(1) as f64,
        rotate_ms[1] / n.max(1) as f64
    );
    println!(
        "normalize mean ms: without deskew {:.1}, with {:.1}",
        normalize_ms[0] / n.max(1) as f64,
        normalize_ms[1] / n.max(1) as f64
    );
    println!(
        "pages {n}, worst error on non-blank pages {worst:.2}°, mean {:.1} ms",
        total_ms / n.max(1) as f64
    );
    Ok(())
}
