//! Per-stage costs on fixture pages: decode, normalize, OCR of one page, render of one page.
//! Whole-corpus throughput against the tesseract CLI is `benches/corpus.sh`.

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use motcua::config::Config;
use motcua::decode::decode;
use motcua::normalize::normalize;
use motcua::ocr;
use motcua::render::{self, RenderPage};

fn fixture(name: &str) -> Arc<[u8]> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
    .into()
}

fn bench(c: &mut Criterion) {
    let cfg = Config::default();
    let jpeg = fixture("cccd-scan.jpg");
    let png = fixture("cccd-clean.png");
    let fax = fixture("text-fax.tif");
    let fax_pdf = fixture("text-fax-g4.pdf");
    let jpeg_pdf = fixture("cccd-scan-jpeg.pdf");

    let mut g = c.benchmark_group("decode");
    g.bench_function("jpeg 678x432", |b| {
        b.iter(|| decode(jpeg.clone(), &cfg.limits).unwrap())
    });
    g.bench_function("png 2022x1275", |b| {
        b.iter(|| decode(png.clone(), &cfg.limits).unwrap())
    });
    g.bench_function("tiff g4 1653x2338", |b| {
        b.iter(|| decode(fax.clone(), &cfg.limits).unwrap())
    });
    // The same pages inside PDFs (made by Tesseract): parsing adds little to the codec.
    g.bench_function("pdf ccitt g4 1653x2338", |b| {
        b.iter(|| decode(fax_pdf.clone(), &cfg.limits).unwrap())
    });
    g.bench_function("pdf jpeg 678x432", |b| {
        b.iter(|| decode(jpeg_pdf.clone(), &cfg.limits).unwrap())
    });
    g.finish();

    let page = decode(fax.clone(), &cfg.limits).unwrap().pages.remove(0);
    let mut g = c.benchmark_group("normalize");
    g.bench_function("fax page 200 dpi", |b| {
        b.iter(|| normalize(page.clone(), &cfg.normalize))
    });
    g.finish();

    let n = normalize(page, &cfg.normalize);
    let dpi = n.ocr_dpi.round() as u32;
    let mut g = c.benchmark_group("ocr");
    g.sample_size(10);
    g.bench_function("fax page (vie)", |b| {
        b.iter(|| {
            ocr::with_engine(&cfg.ocr, |e| e.recognize(&n.ocr_image, dpi))
                .unwrap()
                .unwrap()
        })
    });
    let (probe, pdpi) = n.orientation_probe(cfg.normalize.orientation_dpi);
    g.bench_function("orientation detection (osd)", |b| {
        b.iter(|| {
            ocr::with_engine(&cfg.ocr, |e| {
                e.detect_orientation(&probe, pdpi.round() as u32)
            })
            .unwrap()
            .unwrap()
        })
    });
    g.finish();

    let result = ocr::with_engine(&cfg.ocr, |e| e.recognize(&n.ocr_image, dpi))
        .unwrap()
        .unwrap();
    let mut g = c.benchmark_group("render");
    g.bench_function("prepare image (bilevel)", |b| {
        b.iter(|| render::prepare_image(&n, cfg.render.jpeg_quality))
    });
    let img = render::PageBody::Image(render::prepare_image(&n, cfg.render.jpeg_quality));
    g.bench_function("pdf page with text layer", |b| {
        b.iter(|| {
            render::render_pdf(&[RenderPage {
                body: &img,
                dpi: n.dpi,
                words: &result.words,
                lines: &result.lines,
            }])
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
