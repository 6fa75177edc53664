//! Tesseract OCR. Loading the `vie` model costs hundreds of milliseconds, so each worker thread owns
//! one engine, created on first use and reused for every page it handles (never one per page).
//! The program sets `OMP_THREAD_LIMIT=1` at start-up: parallelism comes from pages, not from OpenMP.

mod api;
mod choice;
pub mod lost_lines;
pub mod openmp;
mod order;
pub mod value_crop;
pub mod value_reader;

use std::cell::RefCell;
use std::ffi::CString;
use std::sync::atomic::{AtomicUsize, Ordering};

use image::{GrayImage, RgbImage};
use tesseract_sys::{
    TessOcrEngineMode_OEM_LSTM_ONLY, TessOcrEngineMode_OEM_TESSERACT_ONLY, TessPageSegMode,
    TessPageSegMode_PSM_OSD_ONLY,
};

pub use self::api::Orientation;
pub use self::choice::{confident_words, reading_score};

use crate::config::OcrConfig;
use crate::domain::{Line, Word};

#[derive(Debug, thiserror::Error)]
pub enum OcrError {
    #[error("cannot start Tesseract for language {lang:?} (is tesseract-ocr-{lang} installed?)")]
    Init { lang: String },
    #[error("Tesseract rejected the variable {name:?} = {value:?}")]
    Variable { name: String, value: String },
    #[error("Tesseract failed to recognise the page")]
    Recognize,
    #[error("page image has an invalid size for Tesseract")]
    Image,
    /// OMP_THREAD_LIMIT is not 1 and the OpenMP runtime could not be limited otherwise.
    #[error("cannot keep Tesseract's OpenMP to one thread (set OMP_THREAD_LIMIT=1): {0}")]
    OpenMp(String),
}

impl OcrError {
    pub fn code(&self) -> &'static str {
        match self {
            OcrError::Init { .. } | OcrError::Variable { .. } | OcrError::OpenMp(_) => {
                "ocr_unavailable"
            }
            OcrError::Recognize | OcrError::Image => "ocr_failed",
        }
    }
}

/// Words and lines found on one image, in that image's pixel coordinates and in reading order.
#[derive(Debug, Default, Clone)]
pub struct OcrResult {
    pub words: Vec<Word>,
    pub lines: Vec<Line>,
}

impl OcrResult {
    pub fn mean_confidence(&self) -> Option<f32> {
        mean_confidence(&self.words)
    }
}

/// Mean word confidence, 0–100; `None` without words.
pub fn mean_confidence(words: &[Word]) -> Option<f32> {
    (!words.is_empty())
        .then(|| words.iter().map(|w| w.confidence).sum::<f32>() / words.len() as f32)
}

static ENGINES_CREATED: AtomicUsize = AtomicUsize::new(0);

/// How many engines this process has created so far (one per worker thread is expected).
pub fn engines_created() -> usize {
    ENGINES_CREATED.load(Ordering::Relaxed)
}

pub struct Engine {
    api: api::Api,
    /// Orientation detector (the legacy `osd` model), created on first use.
    osd: Option<api::Api>,
    config: OcrConfig,
}

fn c_paths(config: &OcrConfig) -> Option<Option<CString>> {
    match &config.tessdata {
        Some(p) => CString::new(p.to_string_lossy().as_bytes()).ok().map(Some),
        None => Some(None),
    }
}

impl Engine {
    pub fn new(config: &OcrConfig) -> Result<Self, OcrError> {
        let init = || OcrError::Init {
            lang: config.lang.clone(),
        };
        openmp::ensure_limited().map_err(OcrError::OpenMp)?;
        let lang = CString::new(config.lang.as_str()).map_err(|_| init())?;
        let datapath = c_paths(config).ok_or_else(init)?;
        let mut api = api::Api::new(datapath.as_deref(), &lang, TessOcrEngineMode_OEM_LSTM_ONLY)
            .ok_or_else(init)?;
        api.set_page_seg_mode(config.psm as TessPageSegMode);
        // Keep Tesseract's diagnostics ("Detected N diacritics") off our stderr.
        api.set_variable("debug_file", "/dev/null");
        let invert = if config.invert_text { "1" } else { "0" };
        let tables = if config.find_tables { "1" } else { "0" };
        let vars = [
            ("tessedit_do_invert", invert),
            ("textord_tabfind_find_tables", tables),
        ]
        .into_iter()
        .chain(
            config
                .variables
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        for (name, value) in vars {
            if !api.set_variable(name, value) {
                return Err(OcrError::Variable {
                    name: name.into(),
                    value: value.into(),
                });
            }
        }
        ENGINES_CREATED.fetch_add(1, Ordering::Relaxed);
        Ok(Self {
            api,
            osd: None,
            config: config.clone(),
        })
    }

    /// Recognises an 8-bit gray image at the given resolution.
    pub fn recognize(&mut self, image: &GrayImage, dpi: u32) -> Result<OcrResult, OcrError> {
        self.recognize_pixels(image.as_raw(), image.width(), image.height(), 1, dpi)
    }

    /// Recognises one text line (page segmentation mode 7): a band of the page the full-page
    /// reading left out.
    pub fn recognize_line(&mut self, image: &GrayImage, dpi: u32) -> Result<OcrResult, OcrError> {
        self.api.set_page_seg_mode(7 as TessPageSegMode);
        let r = self.recognize_pixels(image.as_raw(), image.width(), image.height(), 1, dpi);
        self.api
            .set_page_seg_mode(self.config.psm as TessPageSegMode);
        r
    }

    /// Recognises a colour image: Tesseract then thresholds it itself, channel by channel, as
    /// the `tesseract` command does with a colour file (which can separate text from a tinted
    /// background better than one gray copy).
    pub fn recognize_rgb(&mut self, image: &RgbImage, dpi: u32) -> Result<OcrResult, OcrError> {
        self.recognize_pixels(image.as_raw(), image.width(), image.height(), 3, dpi)
    }

    fn recognize_pixels(
        &mut self,
        pixels: &[u8],
        width: u32,
        height: u32,
        channels: u32,
        dpi: u32,
    ) -> Result<OcrResult, OcrError> {
        if !self.api.set_image(pixels, width, height, channels, dpi) {
            return Err(OcrError::Image);
        }
        let mut result = self.api.recognize().ok_or(OcrError::Recognize);
        self.api.clear();
        if let Ok(r) = &mut result {
            order::captions_after_columns(r);
        }
        result
    }

    /// Which way the page is turned, by Tesseract's orientation and script detection.
    /// `None` when the page has too little text to tell.
    pub fn detect_orientation(
        &mut self,
        image: &GrayImage,
        dpi: u32,
    ) -> Result<Option<Orientation>, OcrError> {
        if self.osd.is_none() {
            let init = || OcrError::Init { lang: "osd".into() };
            let datapath = c_paths(&self.config).ok_or_else(init)?;
            let mut osd = api::Api::new(
                datapath.as_deref(),
                c"osd",
                TessOcrEngineMode_OEM_TESSERACT_ONLY,
            )
            .ok_or_else(init)?;
            osd.set_page_seg_mode(TessPageSegMode_PSM_OSD_ONLY);
            osd.set_variable("debug_file", "/dev/null");
            // OSD classifies characters until it has seen this many; each costs the legacy
            // classifier about a millisecond.
            let min_chars = self.config.orientation_min_characters.to_string();
            if !osd.set_variable("min_characters_to_try", &min_chars) {
                return Err(OcrError::Variable {
                    name: "min_characters_to_try".into(),
                    value: min_chars,
                });
            }
            self.osd = Some(osd);
        }
        let osd = self.osd.as_mut().expect("created above");
        if !osd.set_image(image.as_raw(), image.width(), image.height(), 1, dpi) {
            return Err(OcrError::Image);
        }
        let o = osd.detect_orientation();
        osd.clear();
        Ok(o)
    }
}

/// Drops this thread's engine (call on every pool thread before exit to free models cleanly).
pub fn release_engine() {
    ENGINE.with(|slot| slot.borrow_mut().take());
}

thread_local! {
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's engine, creating it on first use (or when the config changed).
pub fn with_engine<R>(config: &OcrConfig, f: impl FnOnce(&mut Engine) -> R) -> Result<R, OcrError> {
    ENGINE.with(|slot| {
        let mut slot = slot.borrow_mut();
        if slot.as_ref().is_none_or(|e| &e.config != config) {
            *slot = Some(Engine::new(config)?);
        }
        Ok(f(slot.as_mut().expect("engine was just created")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Draws nothing fancy: OCR of a blank page must succeed with no words.
    #[test]
    fn blank_page_has_no_words_and_engine_is_reused() {
        let cfg = OcrConfig::default();
        let img = GrayImage::from_pixel(600, 400, image::Luma([255]));
        let before = engines_created();
        for _ in 0..3 {
            let r = with_engine(&cfg, |e| e.recognize(&img, 300))
                .unwrap()
                .unwrap();
            assert!(r.words.is_empty());
            assert_eq!(r.mean_confidence(), None);
        }
        // Other tests may create engines on their own threads; this thread created exactly one.
        assert!(engines_created() > before);
        ENGINE.with(|s| assert!(s.borrow().is_some()));
    }

    #[test]
    fn reads_a_rendered_vietnamese_line_and_its_orientation() {
        // A fixture page from the dev corpus: a scanned CCCD card.
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/cccd-scan.jpg");
        let img = image::open(path).unwrap().to_luma8();
        let big = crate::normalize::resize(&img, img.width() * 3 / 2, img.height() * 3 / 2);
        let cfg = OcrConfig::default();
        let r = with_engine(&cfg, |e| e.recognize(&big, 300))
            .unwrap()
            .unwrap();
        let text = crate::text::page_text(&r.words, &r.lines);
        assert!(text.contains("CĂN CƯỚC CÔNG DÂN"), "{text}");
        assert!(r.words.iter().all(|w| (w.line as usize) < r.lines.len()));
        assert!(r.mean_confidence().unwrap() > 50.0);
        let upside = image::imageops::rotate180(&big);
        let o = with_engine(&cfg, |e| e.detect_orientation(&upside, 300))
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(o.degrees, 180);
    }

    #[test]
    fn unknown_variable_is_a_clear_error() {
        let mut cfg = OcrConfig::default();
        cfg.variables
            .insert("no_such_tesseract_variable".into(), "1".into());
        let err = Engine::new(&cfg).err().expect("must fail");
        assert!(matches!(err, OcrError::Variable { .. }), "{err}");
    }

    #[test]
    fn unknown_language_is_a_clear_error() {
        let cfg = OcrConfig {
            lang: "xx_nonexistent".into(),
            ..OcrConfig::default()
        };
        let err = Engine::new(&cfg).err().expect("must fail");
        assert_eq!(err.code(), "ocr_unavailable");
    }
}
