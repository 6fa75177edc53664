//! Tesseract OCR. Loading the `vie` model costs hundreds of milliseconds, so each worker thread owns
//! one engine, created on first use and reused for every page it handles (never one per page).
//! The program sets `OMP_THREAD_LIMIT=1` at start-up: parallelism comes from pages, not from OpenMP.

mod tsv;

use std::cell::RefCell;
use std::ffi::CString;
use std::sync::atomic::{AtomicUsize, Ordering};

use image::GrayImage;
use tesseract::plumbing::TessBaseApi;
use tesseract::plumbing::tesseract_sys::{TessOcrEngineMode_OEM_LSTM_ONLY, TessPageSegMode};

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
}

impl OcrError {
    pub fn code(&self) -> &'static str {
        match self {
            OcrError::Init { .. } | OcrError::Variable { .. } => "ocr_unavailable",
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
    api: TessBaseApi,
    config: OcrConfig,
}

impl Engine {
    pub fn new(config: &OcrConfig) -> Result<Self, OcrError> {
        let init = || OcrError::Init {
            lang: config.lang.clone(),
        };
        let lang = CString::new(config.lang.as_str()).map_err(|_| init())?;
        let datapath = match &config.tessdata {
            Some(p) => Some(CString::new(p.to_string_lossy().as_bytes()).map_err(|_| init())?),
            None => None,
        };
        limit_openmp_on_this_thread();
        let mut api = TessBaseApi::create();
        api.init_4(
            datapath.as_deref(),
            Some(&lang),
            TessOcrEngineMode_OEM_LSTM_ONLY,
        )
        .map_err(|_| init())?;
        api.set_page_seg_mode(config.psm as TessPageSegMode);
        // Keep Tesseract's diagnostics ("Detected N diacritics") off our stderr.
        let _ = api.set_variable(c"debug_file", c"/dev/null");
        let invert = if config.invert_text { "1" } else { "0" };
        let vars = std::iter::once(("tessedit_do_invert", invert)).chain(
            config
                .variables
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        for (name, value) in vars {
            let bad = || OcrError::Variable {
                name: name.into(),
                value: value.into(),
            };
            let (n, v) = (
                CString::new(name).map_err(|_| bad())?,
                CString::new(value).map_err(|_| bad())?,
            );
            api.set_variable(&n, &v).map_err(|_| bad())?;
        }
        ENGINES_CREATED.fetch_add(1, Ordering::Relaxed);
        Ok(Self {
            api,
            config: config.clone(),
        })
    }

    /// Recognises an 8-bit gray image at the given resolution.
    pub fn recognize(&mut self, image: &GrayImage, dpi: u32) -> Result<OcrResult, OcrError> {
        let (w, h) = (i32::try_from(image.width()), i32::try_from(image.height()));
        let (Ok(w), Ok(h)) = (w, h) else {
            return Err(OcrError::Image);
        };
        self.api
            .set_image(image.as_raw(), w, h, 1, w)
            .map_err(|_| OcrError::Image)?;
        self.api.set_source_resolution(dpi as i32);
        self.api.recognize().map_err(|_| OcrError::Recognize)?;
        let tsv = self.api.get_tsv_text(0).map_err(|_| OcrError::Recognize)?;
        Ok(tsv::parse(&String::from_utf8_lossy(
            tsv.as_ref().to_bytes(),
        )))
    }
}

/// Caps OpenMP to one thread for parallel regions started from this thread, when the Tesseract
/// library uses OpenMP at all. Looked up at run time so that builds without libgomp still link.
fn limit_openmp_on_this_thread() {
    // SAFETY: dlsym with a NUL-terminated name; the symbol, if present, has this C signature.
    unsafe {
        let f = libc::dlsym(libc::RTLD_DEFAULT, c"omp_set_num_threads".as_ptr());
        if !f.is_null() {
            let set: extern "C" fn(libc::c_int) = std::mem::transmute(f);
            set(1);
        }
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
