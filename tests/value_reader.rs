//! The value reader (asterocr 1.0.2's line recognizer, run by tract) against the package's own
//! ONNX path on the same crops: `tests/value-reader/reference.json`, made once by
//! `make_reference.py` beside it with onnxruntime on the model as shipped. Needs the model
//! (`scripts/setup.sh` installs it; `.ci/run` runs this test, it is never skipped).

use std::path::{Path, PathBuf};

use motcua::ocr::value_reader::{self, ValueReader, ValueReaderError};
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/value-reader")
}

fn reader() -> ValueReader {
    let dir = std::env::var_os("MOTCUA_VALUE_READER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(value_reader::DEFAULT_DIR));
    ValueReader::load(&dir).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn reads_the_crops_as_the_python_package_does() {
    let reader = reader();
    let table: Vec<Value> =
        serde_json::from_slice(&std::fs::read(fixtures().join("reference.json")).unwrap()).unwrap();
    assert!(table.len() >= 10);
    for row in &table {
        let file = row["file"].as_str().unwrap();
        let img = image::open(fixtures().join(file)).unwrap();
        let (lp, classes) = reader.log_probs(&img.to_rgb8()).unwrap();
        assert_eq!(classes, 227, "{file}");
        let path = value_reader::best_path(&lp, classes);
        let want: Vec<usize> = row["path"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(path.len(), want.len(), "{file}: time steps");
        if row["height"] == 32 {
            // Already a strip: no resampling, so this compares the network alone.
            let got: Vec<usize> = path.iter().map(|p| p.0).collect();
            assert_eq!(got, want, "{file}");
            for (i, (p, lp)) in path
                .iter()
                .zip(row["best_log_prob"].as_array().unwrap())
                .enumerate()
            {
                let lp = lp.as_f64().unwrap() as f32;
                assert!(
                    (p.1.ln() - lp).abs() < 1e-3,
                    "{file} step {i}: {} vs {lp}",
                    p.1.ln()
                );
            }
        }
        let read = reader.read(&img).unwrap();
        assert_eq!(read.text, row["text"].as_str().unwrap(), "{file}");
        assert!(
            read.confidence > 50.0 && read.confidence <= 100.0,
            "{file}: {read:?}"
        );
    }
}

#[test]
fn a_blank_strip_reads_as_nothing() {
    let blank =
        image::DynamicImage::ImageLuma8(image::GrayImage::from_pixel(120, 32, image::Luma([255])));
    assert_eq!(reader().read(&blank).unwrap().text, "");
}

#[test]
fn a_missing_or_broken_reader_says_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let err = ValueReader::load(dir.path()).err().unwrap();
    assert!(matches!(err, ValueReaderError::Missing { .. }), "{err}");
    assert!(err.to_string().contains("scripts/setup.sh"), "{err}");
    std::fs::write(dir.path().join(value_reader::MODEL_FILE), b"not a model").unwrap();
    std::fs::write(
        dir.path().join(value_reader::VOCAB_FILE),
        br#"{"chars":["<blank>","a"]}"#,
    )
    .unwrap();
    let err = ValueReader::load(dir.path()).err().unwrap();
    assert!(matches!(err, ValueReaderError::Load { .. }), "{err}");
}
