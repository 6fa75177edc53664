//! Plain data shared by the stages and written to `<stem>.json`.

use serde::{Deserialize, Serialize};

mod fields;
pub mod productivity;
mod records;
pub mod workflow;
pub use fields::*;
pub use records::*;

/// Pixel rectangle on the page image as stored in the PDF: `[left, top, right, bottom)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
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
    /// Maps a box found on a scaled image back onto the page image. Start edges round down and
    /// end edges up, so a box never collapses to nothing (a 1 px mark stays at least 1 px).
    pub fn scaled(&self, factor: f64, max_w: u32, max_h: u32) -> BBox {
        let lo =
            |v: u32, max: u32| ((f64::from(v) * factor).floor() as u32).min(max.saturating_sub(1));
        let hi = |v: u32, lo: u32, max: u32| {
            ((f64::from(v) * factor).ceil() as u32).clamp(lo + 1, max.max(1))
        };
        let (x0, y0) = (lo(self.x0, max_w), lo(self.y0, max_h));
        BBox {
            x0,
            y0,
            x1: hi(self.x1, x0, max_w),
            y1: hi(self.y1, y0, max_h),
        }
    }
}

/// One recognised word, NFC text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Word {
    pub text: String,
    #[serde(rename = "box")]
    pub bbox: BBox,
    pub confidence: f32,
    /// Index of the text line the word belongs to, in reading order.
    pub line: u32,
}

/// Text line in reading order; `block` changes mark paragraph breaks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// OCR time, of which `plain_ms` went to the guard (its plain reading when it made one;
    /// well under a millisecond when it did not).
    pub ocr_ms: f64,
    pub plain_ms: f64,
    pub render_ms: f64,
    /// Locating fields, the second reader included.
    pub extract_ms: f64,
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
    /// Skew the page was levelled by, degrees clockwise (its lines descended to the right); 0 when
    /// it was level enough to leave as it was.
    pub skew: f32,
    pub blank: bool,
    /// Dots of dotted leaders removed before OCR.
    pub leader_dots: usize,
    /// `[x, y, width, height]` of the page in the image as delivered (after EXIF orientation)
    /// when a scanner-lid border or the desk around a photo was cut off; the PDF shows that part.
    pub crop: Option<[u32; 4]>,
    /// Seals and signatures dropped from the OCR copy by their colour.
    pub colour_marks: usize,
    /// Pictures and empty frames (an ID card's portrait) painted out of the OCR copy.
    pub pictures: usize,
    /// Uneven lighting was flattened before OCR.
    pub flattened: bool,
    /// Isolated black pixels (fax noise) whited out of a bilevel page before OCR.
    pub specks: usize,
    /// The OCR copy was binarized (Sauvola) before OCR.
    pub binarized: bool,
    /// Resolution of the copy Tesseract read, scaled so that its text has `ocr_x_height`.
    pub ocr_dpi: f32,
    /// x-height of the text Tesseract read, pixels, measured on the page before OCR; `None` on
    /// pages with too little text to measure.
    pub ocr_x_height: Option<f32>,
    /// Mean word confidence, 0–100; `None` when there are no words.
    pub mean_confidence: Option<f32>,
    /// Which reading the text comes from: the normalized copy, the page as delivered when that
    /// reads at least as well (see `normalize.compare_plain_reading`), or a PDF page's own text
    /// layer.
    pub reading: Reading,
    /// Things a reader must know about the page (`no_text`: it has ink but nothing was read).
    pub warnings: Vec<PageWarning>,
    pub words: Vec<Word>,
    pub lines: Vec<Line>,
    /// The document model the page was classified as; `None` when no model fits (or no models
    /// are loaded).
    pub doc_type: Option<DocType>,
    /// Fields extracted with that model.
    pub fields: Vec<ExtractedField>,
    pub timings: StageTimings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Reading {
    Normalized,
    Plain,
    /// The page's own PDF text layer: no OCR (confidence 100).
    #[serde(rename = "text_layer")]
    TextLayer,
}

/// A warning about one page, with a stable code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PageWarning {
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DpiSource {
    File,
    Estimated,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_boxes_keep_their_extent_and_stay_on_the_page() {
        let b = BBox {
            x0: 10,
            y0: 10,
            x1: 11,
            y1: 12,
        };
        assert_eq!(
            b.scaled(0.5, 100, 100),
            BBox {
                x0: 5,
                y0: 5,
                x1: 6,
                y1: 6
            }
        );
        assert_eq!(
            b.scaled(2.0, 100, 100),
            BBox {
                x0: 20,
                y0: 20,
                x1: 22,
                y1: 24
            }
        );
        let edge = BBox {
            x0: 90,
            y0: 0,
            x1: 120,
            y1: 5,
        };
        assert_eq!(
            edge.scaled(1.0, 100, 100),
            BBox {
                x0: 90,
                y0: 0,
                x1: 100,
                y1: 5
            }
        );
    }
}
