//! The second reader for field values: the Vietnamese line recognizer shipped in the PyPI package
//! `asterocr` 1.0.2 (MIT; a CRNN with CTC over 227 classes, one 32-px-high line strip in), run
//! with `tract-onnx` (pure Rust: nothing to link, nothing downloaded at build time).
//! `scripts/value-reader.sh` fetches the model, checks its SHA-256 and removes the one `If` node
//! tract cannot type (batch fixed to 1 with `onnxsim`); the width stays free.
//!
//! Preprocessing and decoding follow the package's own ONNX path (`asterocr/pipeline.py`):
//! RGB, scaled to 32 px high keeping the aspect (width at least 32, a multiple of 4), values
//! mapped to −1..1, greedy CTC. `tests/value_reader.rs` checks both against the package's
//! outputs on the same crops.

use std::path::{Path, PathBuf};

use image::{DynamicImage, RgbImage, imageops::FilterType};
use tract_onnx::prelude::*;

/// Height of the strips the network was trained on.
const STRIP_HEIGHT: u32 = 32;
/// Index of the CTC blank in the vocabulary.
const BLANK: usize = 0;

/// Where `scripts/value-reader.sh` installs the reader by default.
pub const DEFAULT_DIR: &str = "/usr/local/share/motcua/value-reader";
/// File names inside the reader's folder.
pub const MODEL_FILE: &str = "asternet.onnx";
pub const VOCAB_FILE: &str = "vocab.json";

#[derive(Debug, thiserror::Error)]
pub enum ValueReaderError {
    #[error("value reader not installed: {path} is missing (run scripts/setup.sh)")]
    Missing { path: PathBuf },
    #[error("value reader {path} cannot be loaded: {message}")]
    Load { path: PathBuf, message: String },
    #[error("value reader failed on a crop: {0}")]
    Run(String),
}

/// One reading of a value crop.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueReading {
    pub text: String,
    /// 0–100: the mean probability of the characters read (100 for an empty reading of a strip
    /// the network was sure is empty).
    pub confidence: f32,
}

type Plan = std::sync::Arc<TypedSimplePlan>;

/// Widths strips are padded to (white on the right, as the package's own batch path pads) so
/// that each runs on a plan optimized for one concrete width: 2.1–2.4× faster per strip than
/// the plan with a free width (BENCHMARKS.md), for about 0.2 s of optimizing per width, once per
/// process and only for widths met. Steps of a third or less keep the padding cheap.
const BUCKETS: &[u32] = &[
    48, 64, 80, 96, 128, 160, 192, 240, 288, 352, 416, 512, 640, 768, 960,
];

pub struct ValueReader {
    /// The graph as loaded, width free: what the bucket plans are made from.
    model: InferenceModel,
    /// Width free, for strips wider than every bucket and for the exact log-probabilities.
    plan: Plan,
    buckets: std::sync::Mutex<std::collections::HashMap<u32, Plan>>,
    chars: Vec<String>,
}

#[derive(serde::Deserialize)]
struct Vocab {
    chars: Vec<String>,
}

impl ValueReader {
    /// Loads `asternet.onnx` and `vocab.json` from `dir`.
    pub fn load(dir: &Path) -> Result<Self, ValueReaderError> {
        let model_path = dir.join(MODEL_FILE);
        let vocab_path = dir.join(VOCAB_FILE);
        for p in [&model_path, &vocab_path] {
            if !p.is_file() {
                return Err(ValueReaderError::Missing { path: p.clone() });
            }
        }
        let load = |path: &Path, message: String| ValueReaderError::Load {
            path: path.to_path_buf(),
            message,
        };
        let vocab: Vocab = std::fs::read(&vocab_path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
            .map_err(|m| load(&vocab_path, m))?;
        if vocab.chars.first().map(String::as_str) != Some("<blank>") {
            return Err(load(&vocab_path, "the first class is not <blank>".into()));
        }
        let model = tract_onnx::onnx()
            .model_for_path(&model_path)
            .map_err(|e| load(&model_path, format!("{e:#}")))?;
        let plan = model
            .clone()
            .into_optimized()
            .and_then(|m| m.into_runnable())
            .map_err(|e| load(&model_path, format!("{e:#}")))?;
        let reader = ValueReader {
            model,
            plan,
            buckets: Default::default(),
            chars: vocab.chars,
        };
        // A model with another vocabulary would decode to the wrong letters: check once.
        let classes = reader
            .log_probs(&RgbImage::from_pixel(
                32,
                STRIP_HEIGHT,
                image::Rgb([255; 3]),
            ))
            .map_err(|e| load(&model_path, e.to_string()))?
            .1;
        if classes != reader.chars.len() {
            return Err(load(
                &model_path,
                format!("{classes} classes, vocab has {}", reader.chars.len()),
            ));
        }
        Ok(reader)
    }

    /// Reads one value crop (a line strip: the value's own line, a little margin), padded to
    /// the next bucket width.
    pub fn read(&self, crop: &DynamicImage) -> Result<ValueReading, ValueReaderError> {
        let started = std::time::Instant::now();
        let (mut data, width) = preprocess(&crop.to_rgb8());
        let (plan, width) = match BUCKETS.iter().find(|&&b| b as usize >= width) {
            Some(&bucket) => {
                data = pad_white(&data, width, bucket as usize);
                (self.bucket_plan(bucket)?, bucket as usize)
            }
            None => (self.plan.clone(), width),
        };
        let (lp, classes) = self.run(&plan, &data, width)?;
        let path = best_path(&lp, classes);
        let reading = decode(&path, &self.chars);
        tracing::debug!(
            width,
            ms = started.elapsed().as_secs_f64() * 1e3,
            text = %reading.text,
            "value strip read"
        );
        Ok(reading)
    }

    /// The plan for strips `width` wide, optimized on first use.
    fn bucket_plan(&self, width: u32) -> Result<Plan, ValueReaderError> {
        let mut plans = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = plans.get(&width) {
            return Ok(p.clone());
        }
        let fact = f32::fact([1, 3, STRIP_HEIGHT as usize, width as usize]);
        let plan = self
            .model
            .clone()
            .with_input_fact(0, fact.into())
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(|e| ValueReaderError::Run(format!("plan for width {width}: {e:#}")))?;
        plans.insert(width, plan.clone());
        Ok(plan)
    }

    /// Per time step, the log-probabilities of every class (row-major, `classes` wide), from the
    /// strip at its own width.
    pub fn log_probs(&self, crop: &RgbImage) -> Result<(Vec<f32>, usize), ValueReaderError> {
        let (data, width) = preprocess(crop);
        self.run(&self.plan, &data, width)
    }

    fn run(
        &self,
        plan: &Plan,
        data: &[f32],
        width: usize,
    ) -> Result<(Vec<f32>, usize), ValueReaderError> {
        let input = Tensor::from_shape(&[1, 3, STRIP_HEIGHT as usize, width], data)
            .map_err(|e| ValueReaderError::Run(e.to_string()))?;
        let out = plan
            .run(tvec![input.into()])
            .map_err(|e| ValueReaderError::Run(format!("{e:#}")))?;
        let view = out[0]
            .to_plain_array_view::<f32>()
            .map_err(|e| ValueReaderError::Run(e.to_string()))?;
        // (time, batch = 1, classes)
        let shape = view.shape().to_vec();
        if shape.len() != 3 || shape[1] != 1 {
            return Err(ValueReaderError::Run(format!(
                "unexpected output {shape:?}"
            )));
        }
        Ok((view.iter().copied().collect(), shape[2]))
    }
}

/// The network's input for `crop`: CHW floats in −1..1 and the strip's width.
pub fn preprocess(crop: &RgbImage) -> (Vec<f32>, usize) {
    let (w, h) = crop.dimensions();
    let width = strip_width(w, h);
    let strip = if (width, STRIP_HEIGHT) == (w, h) {
        crop.clone()
    } else {
        image::imageops::resize(crop, width, STRIP_HEIGHT, FilterType::Triangle)
    };
    let plane = (width * STRIP_HEIGHT) as usize;
    let mut data = vec![0f32; 3 * plane];
    for (i, p) in strip.pixels().enumerate() {
        for c in 0..3 {
            data[c * plane + i] = f32::from(p[c]) / 127.5 - 1.0;
        }
    }
    (data, width as usize)
}

/// CHW data `width` wide, padded with white (1.0) on the right to `to`.
fn pad_white(data: &[f32], width: usize, to: usize) -> Vec<f32> {
    let rows = data.len() / width.max(1);
    let mut out = vec![1.0f32; rows * to];
    for (r, row) in data.chunks_exact(width).enumerate() {
        out[r * to..r * to + width].copy_from_slice(row);
    }
    out
}

/// Width of the strip a `w`×`h` crop is scaled to: the aspect kept at 32 px high (truncated, as
/// the package does), at least 32, rounded up to a multiple of 4 (the network halves it twice).
pub fn strip_width(w: u32, h: u32) -> u32 {
    let scaled = (u64::from(w) * u64::from(STRIP_HEIGHT) / u64::from(h.max(1))) as u32;
    scaled.max(32).div_ceil(4) * 4
}

/// The most likely class at each time step, with its probability.
pub fn best_path(log_probs: &[f32], classes: usize) -> Vec<(usize, f32)> {
    log_probs
        .chunks_exact(classes)
        .map(|step| {
            let (i, lp) = step
                .iter()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
                    if v > best.1 { (i, v) } else { best }
                });
            (i, lp.exp())
        })
        .collect()
}

/// Greedy CTC: repeats collapse, blanks separate them and are dropped.
pub fn decode(path: &[(usize, f32)], chars: &[String]) -> ValueReading {
    let mut text = String::new();
    let mut probs = Vec::new();
    let mut prev = usize::MAX;
    for &(class, p) in path {
        if class != prev && class != BLANK {
            text.push_str(chars.get(class).map_or("", String::as_str));
            probs.push(p);
        }
        prev = class;
    }
    let confidence = if probs.is_empty() {
        100.0 * path.iter().map(|&(_, p)| p).sum::<f32>() / path.len().max(1) as f32
    } else {
        100.0 * probs.iter().sum::<f32>() / probs.len() as f32
    };
    ValueReading { text, confidence }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars() -> Vec<String> {
        ["<blank>", "a", "b", "ồ"].map(String::from).to_vec()
    }

    #[test]
    fn ctc_collapses_repeats_and_drops_blanks() {
        let path = [
            (1, 0.9),
            (1, 0.8),
            (0, 0.99),
            (1, 0.7),
            (2, 0.6),
            (3, 1.0),
            (3, 1.0),
        ];
        let r = decode(&path, &chars());
        assert_eq!(r.text, "aabồ");
        assert!((r.confidence - 100.0 * (0.9 + 0.7 + 0.6 + 1.0) / 4.0).abs() < 1e-3);
        assert_eq!(decode(&[(0, 0.5), (0, 1.0)], &chars()).text, "");
    }

    #[test]
    fn the_best_class_is_taken_per_step() {
        let lp = [-3.0, -0.1, -5.0, -9.0, -0.2, -4.0, -6.0, -7.0];
        let path = best_path(&lp, 4);
        assert_eq!(path.iter().map(|p| p.0).collect::<Vec<_>>(), [1, 0]);
        assert!((path[0].1 - (-0.1f32).exp()).abs() < 1e-6);
    }

    #[test]
    fn strips_keep_the_aspect_at_32_px_in_multiples_of_four() {
        assert_eq!(strip_width(220, 32), 220);
        assert_eq!(strip_width(221, 32), 224);
        assert_eq!(strip_width(300, 64), 152); // 150 rounded up
        assert_eq!(strip_width(10, 32), 32);
        assert_eq!(strip_width(100, 0), 3200);
    }

    #[test]
    fn padding_is_white_row_by_row() {
        // Two rows (of one channel) 2 wide, padded to 4.
        let out = pad_white(&[-1.0, 0.5, 0.0, -0.5], 2, 4);
        assert_eq!(out, [-1.0, 0.5, 1.0, 1.0, 0.0, -0.5, 1.0, 1.0]);
        assert!(BUCKETS.windows(2).all(|w| w[0] < w[1] && w[0] % 4 == 0));
    }

    #[test]
    fn pixels_map_to_minus_one_to_one_channel_by_channel() {
        let img = RgbImage::from_fn(32, 32, |x, _| {
            image::Rgb([0, 255, if x == 0 { 51 } else { 0 }])
        });
        let (data, w) = preprocess(&img);
        assert_eq!(w, 32);
        let plane = 32 * 32;
        assert_eq!(data[0], -1.0);
        assert_eq!(data[plane], 1.0);
        assert!((data[2 * plane] - (51.0 / 127.5 - 1.0)).abs() < 1e-6);
    }
}
