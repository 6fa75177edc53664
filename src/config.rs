//! Configuration: defaults, optionally overridden by a TOML file. Every limit lives here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub limits: Limits,
    pub ocr: OcrConfig,
    pub normalize: NormalizeConfig,
    pub render: RenderConfig,
}

/// Limits applied while decoding untrusted input.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest accepted input file.
    pub max_file_bytes: u64,
    /// Largest accepted page, in pixels (width × height).
    pub max_page_pixels: u64,
    /// Largest accepted width or height of a page.
    pub max_page_side: u32,
    /// Most pages accepted in one file.
    pub max_pages: usize,
    /// Memory one decoder may allocate for one page.
    pub max_decode_alloc_bytes: u64,
    /// Decoded pages of one file held at once (0: two per worker thread).
    pub max_pages_in_memory: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_file_bytes: 200 * 1024 * 1024,
            // An A3 page at 600 dpi is about 70 Mpx; leave head-room, refuse decompression bombs.
            max_page_pixels: 100_000_000,
            max_page_side: 30_000,
            max_pages: 1_000,
            max_decode_alloc_bytes: 512 * 1024 * 1024,
            max_pages_in_memory: 0,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct OcrConfig {
    /// Tesseract language(s), e.g. `vie` or `vie+eng`.
    pub lang: String,
    /// Folder holding `*.traineddata`; `None` uses the library's compiled-in default.
    pub tessdata: Option<PathBuf>,
    /// Tesseract page segmentation mode (3 = fully automatic).
    pub psm: i32,
    /// Let Tesseract retry low-confidence lines as white-on-black text. Dossier pages are dark on
    /// light, and the retry costs up to a third of the OCR time of a form; off by default.
    pub invert_text: bool,
    /// Let Tesseract look for ruled tables. Dossier pages are label/value forms: on the dev corpus
    /// the text is identical without it and OCR takes about 5% less time; off by default.
    pub find_tables: bool,
    /// Further Tesseract variables (`name = "value"`); an unknown name fails engine start-up.
    pub variables: BTreeMap<String, String>,
    /// Characters orientation detection classifies before deciding (more is surer and slower).
    pub orientation_min_characters: u32,
}

impl Default for OcrConfig {
    fn default() -> Self {
        Self {
            lang: "vie".into(),
            tessdata: None,
            psm: 3,
            invert_text: false,
            find_tables: false,
            variables: BTreeMap::new(),
            orientation_min_characters: 25,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct NormalizeConfig {
    /// The OCR copy is scaled so that the x-height measured on the page (height of lowercase
    /// letters) lies within `x_height_min..=x_height_max` pixels; a page already within it is
    /// not resampled (resampling costs time and sharpness). Tesseract's LSTM reads best there.
    pub x_height_min: f32,
    pub x_height_max: f32,
    /// The x-height a page outside that band is scaled to.
    pub x_height_target: f32,
    /// Resolution OCR runs at when the page shows too little text to measure its x-height.
    pub ocr_dpi: f32,
    /// Such pages within this band around `ocr_dpi` are not rescaled.
    pub dpi_tolerance: f32,
    /// Resolution assumed for an image that states none and whose size gives no better guess.
    pub fallback_dpi: f32,
    /// A page is blank when fewer than this fraction of the pixels in its central area are ink
    /// (much darker than the paper). Faint bleed-through from the back is not ink.
    pub blank_max_ink: f32,
    /// Measure the skew of scanned and photographed pages and level them (both the OCR copy and
    /// the page image kept for the PDF, which is then re-encoded).
    pub deskew: bool,
    /// Skew is looked for within ±this many degrees; a page skewed more is left as it is.
    pub max_skew_deg: f32,
    /// Pages skewed less than this many degrees are left as they are (and keep their original
    /// encoding): Tesseract reads them as well, and resampling costs time and sharpness.
    pub min_skew_deg: f32,
    /// Paint dotted leaders (`..........` after form labels) out of the OCR copy; Tesseract reads
    /// them as garbage. Diacritics and ellipses stay: only long evenly spaced dot rows go.
    pub remove_leaders: bool,
    /// Detect pages turned 90/180/270° (Tesseract OSD) and turn them upright.
    pub detect_orientation: bool,
    /// Orientation is checked when OCR's mean word confidence is below this (or words run
    /// vertically); upright pages that read well skip the check.
    pub orientation_check_below_confidence: f32,
    /// Below this OSD confidence a page is left as it is.
    pub min_orientation_confidence: f32,
    /// Resolution orientation detection runs at (lower is faster; glyph shapes survive 150 dpi).
    pub orientation_dpi: f32,
}

impl Default for NormalizeConfig {
    fn default() -> Self {
        Self {
            x_height_min: 16.0,
            x_height_max: 30.0,
            x_height_target: 22.0,
            ocr_dpi: 300.0,
            dpi_tolerance: 0.25,
            fallback_dpi: 300.0,
            blank_max_ink: 0.0002,
            deskew: true,
            max_skew_deg: 10.0,
            min_skew_deg: 0.3,
            remove_leaders: true,
            detect_orientation: true,
            orientation_check_below_confidence: 75.0,
            min_orientation_confidence: 2.0,
            orientation_dpi: 150.0,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RenderConfig {
    /// JPEG quality for page images that had to be re-encoded.
    pub jpeg_quality: u8,
}

impl Default for RenderConfig {
    fn default() -> Self {
        Self { jpeg_quality: 80 }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("invalid configuration:\n  {}", .0.join("\n  "))]
    Invalid(Vec<String>),
}

impl Config {
    /// Defaults, overridden by `path` when given; validated.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let cfg = match path {
            None => Self::default(),
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.into(),
                    source,
                })?;
                toml::from_str(&text).map_err(|source| ConfigError::Parse {
                    path: p.into(),
                    source,
                })?
            }
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Reports every problem at once, not just the first.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut errs = Vec::new();
        let l = &self.limits;
        if l.max_file_bytes == 0 {
            errs.push("limits.max_file_bytes must be > 0".to_string());
        }
        if l.max_page_pixels == 0 || l.max_page_side == 0 {
            errs.push("limits.max_page_pixels and limits.max_page_side must be > 0".to_string());
        }
        if l.max_pages == 0 {
            errs.push("limits.max_pages must be > 0".to_string());
        }
        if self.ocr.lang.trim().is_empty() {
            errs.push("ocr.lang must name a language".to_string());
        }
        if !(0..=13).contains(&self.ocr.psm) {
            errs.push(format!("ocr.psm must be 0..=13, got {}", self.ocr.psm));
        }
        let n = &self.normalize;
        if !(50.0..=1200.0).contains(&n.ocr_dpi) || !(50.0..=1200.0).contains(&n.fallback_dpi) {
            errs.push(
                "normalize.ocr_dpi and normalize.fallback_dpi must be within 50..=1200".to_string(),
            );
        }
        if !(n.x_height_min >= 6.0
            && n.x_height_min <= n.x_height_target
            && n.x_height_target <= n.x_height_max
            && n.x_height_max <= 200.0)
        {
            errs.push(
                "normalize.x_height_min <= x_height_target <= x_height_max must hold within 6..=200"
                    .to_string(),
            );
        }
        if !(0.0..1.0).contains(&n.dpi_tolerance) {
            errs.push("normalize.dpi_tolerance must be within 0..1".to_string());
        }
        if !(0.0..0.05).contains(&n.blank_max_ink) {
            errs.push("normalize.blank_max_ink must be within 0..0.05".to_string());
        }
        if !(0.0..=45.0).contains(&n.max_skew_deg)
            || !(0.0..=n.max_skew_deg).contains(&n.min_skew_deg)
        {
            errs.push(
                "normalize.max_skew_deg must be within 0..=45 and normalize.min_skew_deg within 0..=max_skew_deg"
                    .to_string(),
            );
        }
        if !(1..=100).contains(&self.render.jpeg_quality) {
            errs.push("render.jpeg_quality must be within 1..=100".to_string());
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(errs))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        Config::default().validate().unwrap();
    }

    #[test]
    fn validation_reports_every_error() {
        let mut c = Config::default();
        c.limits.max_pages = 0;
        c.ocr.psm = 42;
        c.render.jpeg_quality = 0;
        let ConfigError::Invalid(errs) = c.validate().unwrap_err() else {
            panic!("wrong error")
        };
        assert_eq!(errs.len(), 3, "{errs:?}");
    }

    #[test]
    fn toml_overrides_and_rejects_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "[limits]\nmax_pages = 7\n").unwrap();
        let c = Config::load(Some(&p)).unwrap();
        assert_eq!(c.limits.max_pages, 7);
        assert_eq!(c.ocr.lang, "vie");
        std::fs::write(&p, "[limits]\nmax_pagez = 7\n").unwrap();
        assert!(matches!(
            Config::load(Some(&p)),
            Err(ConfigError::Parse { .. })
        ));
    }
}
