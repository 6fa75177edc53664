//! Plain data shared by the stages and written to `<stem>.json`.

use serde::Serialize;

/// Pixel rectangle on the page image as stored in the PDF: `[left, top, right, bottom)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BBox {
    pub x0: u32,
    pub y0: u32,
    pub x1: u32,
    pub y1: u32,
}

impl BBox {
    pub fn width(&self) -> u32 {
        self.x1.saturating_sub(self.x0)
    }
    pub fn height(&self) -> u32 {
        self.y1.saturating_sub(self.y0)
    }
    /// Maps a box found on a scaled image back onto the page image.
    pub fn scaled(&self, factor: f64, max_w: u32, max_h: u32) -> BBox {
        let s = |v: u32, max: u32| ((f64::from(v) * factor).round() as u32).min(max);
        BBox {
            x0: s(self.x0, max_w),
            y0: s(self.y0, max_h),
            x1: s(self.x1, max_w),
            y1: s(self.y1, max_h),
        }
    }
}

/// One recognised word, NFC text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Word {
    pub text: String,
    #[serde(rename = "box")]
    pub bbox: BBox,
    pub confidence: f32,
    /// Index of the text line the word belongs to, in reading order.
    pub line: u32,
}

/// Text line in reading order; `block` changes mark paragraph breaks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Line {
    pub bbox: BBox,
    pub block: u32,
    /// Baseline from `(x0, y0)` to `(x1, y1)`, pixels.
    pub baseline: [f32; 4],
}

impl Line {
    /// Baseline height in the middle of the line. Until pages are deskewed, words of one line are
    /// laid on this single height: stair-stepped words would read as separate lines in extractors.
    pub fn baseline_mid(&self) -> f32 {
        (self.baseline[1] + self.baseline[3]) / 2.0
    }

    pub fn scaled(&self, factor: f64, max_w: u32, max_h: u32) -> Line {
        Line {
            bbox: self.bbox.scaled(factor, max_w, max_h),
            block: self.block,
            baseline: self.baseline.map(|v| (f64::from(v) * factor) as f32),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct StageTimings {
    pub decode_ms: f64,
    pub normalize_ms: f64,
    pub ocr_ms: f64,
    pub render_ms: f64,
}

/// Everything known about one page after processing.
#[derive(Debug, Clone, Serialize)]
pub struct PageReport {
    pub index: usize,
    /// Size of the page image in the PDF, pixels.
    pub width: u32,
    pub height: u32,
    /// Resolution of the page image (stated by the file, or estimated).
    pub dpi: f32,
    pub dpi_source: DpiSource,
    /// Clockwise degrees the page was turned from upright as delivered (0, 90, 180, 270); the
    /// PDF and every box here are upright.
    pub orientation: u16,
    pub orientation_confidence: Option<f32>,
    /// Skew corrected, degrees.
    pub skew: f32,
    pub blank: bool,
    /// Dots of dotted leaders removed before OCR.
    pub leader_dots: usize,
    /// Mean word confidence, 0–100; `None` when there are no words.
    pub mean_confidence: Option<f32>,
    pub words: Vec<Word>,
    pub lines: Vec<Line>,
    pub timings: StageTimings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DpiSource {
    File,
    Estimated,
}
