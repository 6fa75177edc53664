//! Each normalization step on its own, on fixture pages it applies to: a phone photo of an ID
//! card on a desk, a phone photo of a form and a stamped form scan. The whole step chain is
//! `normalize` in `benches/pipeline.rs`; the corpus-wide share of normalization in OCR time is in
//! `benches/corpus.sh`.

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use image::{DynamicImage, GrayImage};
use motcua::config::Config;
use motcua::decode::decode;
use motcua::normalize::{
    clean_marks, drop_colour_marks, estimate_skew, find_page, flatten_lighting, is_blank,
    level_gray, measure_x_height, normalize, sauvola, to_gray,
};

fn page(name: &str, cfg: &Config) -> DynamicImage {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let data: Arc<[u8]> = std::fs::read(path).unwrap().into();
    decode(data, &cfg.limits).unwrap().pages.remove(0).image
}

fn bench(c: &mut Criterion) {
    let cfg = Config::default();
    let n = &cfg.normalize;
    for (name, label) in [
        ("cccd-phone.jpg", "card photo 1528x1037"),
        ("form-phone.jpg", "form photo 1599x2183"),
        ("form-stamp.jpg", "stamped form 1676x2354"),
    ] {
        let image = page(name, &cfg);
        let gray: GrayImage = image.to_luma8();
        let mut g = c.benchmark_group(format!("normalize/{label}"));
        g.sample_size(20);
        g.bench_function("to gray", |b| b.iter(|| to_gray(&image)));
        g.bench_function("find page (border, desk)", |b| b.iter(|| find_page(&gray)));
        g.bench_function("x-height", |b| b.iter(|| measure_x_height(&gray, 40)));
        let letter = measure_x_height(&gray, 40).map_or(20.0, |x| x.x_height);
        g.bench_function("colour dropout (seals, signatures)", |b| {
            b.iter(|| {
                let mut g2 = gray.clone();
                drop_colour_marks(&image, &mut g2, n.colour_chroma, letter, 8.0, 3.0)
            })
        });
        g.bench_function("flatten lighting", |b| {
            b.iter(|| flatten_lighting(&mut gray.clone(), (letter * 4.0) as usize, 0))
        });
        g.bench_function("blank check", |b| {
            b.iter(|| is_blank(&gray, n.blank_max_ink))
        });
        g.bench_function("skew estimate", |b| {
            b.iter(|| estimate_skew(&gray, 300.0, n.max_skew_deg))
        });
        g.bench_function("level (rotate gray)", |b| b.iter(|| level_gray(&gray, 2.0)));
        g.bench_function("leaders and pictures", |b| {
            b.iter(|| clean_marks(&mut gray.clone(), 300.0, letter, n))
        });
        g.bench_function("sauvola binarization", |b| {
            b.iter(|| sauvola(&gray, (letter * 3.0) as u32 | 1, 0.2))
        });
        let decoded = {
            let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
            let data: Arc<[u8]> = std::fs::read(path).unwrap().into();
            decode(data, &cfg.limits).unwrap().pages.remove(0)
        };
        g.bench_function("whole normalize", |b| {
            b.iter(|| normalize(decoded.clone(), n))
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
