//! The second reader for field values (asterocr's line recognizer run by tract): loading the
//! model, and reading value strips of the widths forms have (a sex, a date, a 12-digit ID, a
//! name, an address) on one core. Needs the model (`scripts/setup.sh`).

use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use motcua::ocr::value_reader::{self, ValueReader};

fn bench(c: &mut Criterion) {
    let dir = std::env::var_os("MOTCUA_VALUE_READER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(value_reader::DEFAULT_DIR));
    let mut g = c.benchmark_group("value_reader");
    g.sample_size(10);
    g.bench_function("load", |b| b.iter(|| ValueReader::load(&dir).unwrap()));
    let reader = ValueReader::load(&dir).unwrap();
    let fixtures = format!("{}/tests/value-reader", env!("CARGO_MANIFEST_DIR"));
    for (file, label) in [
        ("crop-03.png", "sex (Nữ)"),
        ("crop-01.png", "date"),
        ("crop-02.png", "12-digit ID"),
        ("crop-00.png", "name"),
        ("crop-07.png", "address"),
    ] {
        let img = image::open(format!("{fixtures}/{file}")).unwrap();
        let label = format!("read {label} {}x{}", img.width(), img.height());
        g.bench_function(label, |b| b.iter(|| reader.read(&img).unwrap()));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
