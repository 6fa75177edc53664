//! Runs the stages on documents: decode → (per page, in parallel) normalize → OCR → image encode
//! → PDF assembly and text. Pages of every input share one rayon pool, so a few large files use
//! every core just as many small ones do.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::config::{Config, PlainComparison};
use crate::decode::{self, DecodeError, Format};
use crate::domain::{DpiSource, PageReport, PageWarning, Reading, StageTimings};
use crate::extract::Extractor;
use crate::normalize::{Normalized, normalize};
use crate::ocr::value_crop::ValueCrops;
use crate::ocr::value_reader::ValueReader;
use crate::ocr::{self, OcrError, OcrResult};
use crate::render::{self, PageBody, RenderPage};
use crate::text;

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read input: {0}")]
    Read(std::io::Error),
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(transparent)]
    Ocr(#[from] OcrError),
    #[error("cannot write output {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("another input has the same name stem; its outputs would be overwritten")]
    DuplicateStem,
    #[error("internal error while processing: {0}")]
    Internal(String),
}

impl FileError {
    /// Stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            FileError::Read(_) => "read_failed",
            FileError::Decode(e) => e.code(),
            FileError::Ocr(e) => e.code(),
            FileError::Write { .. } => "write_failed",
            FileError::DuplicateStem => "duplicate_output_name",
            FileError::Internal(_) => "internal",
        }
    }
}

/// Receives progress from worker threads.
pub trait Progress: Sync {
    fn pages_found(&self, _pages: usize) {}
    fn page_done(&self) {}
    /// A file finished, successfully or not.
    fn file_done(&self) {}
}

impl Progress for () {}

/// The result of running the pipeline on one document.
#[derive(Debug, Serialize)]
pub struct ProcessedDocument {
    pub format: Format,
    pub bytes: usize,
    pub pages: Vec<PageReport>,
    #[serde(skip)]
    pub pdf: Vec<u8>,
    #[serde(skip)]
    pub text: String,
    pub timings: DocumentTimings,
}

#[derive(Debug, Serialize)]
pub struct DocumentTimings {
    pub total_ms: f64,
    pub pdf_assembly_ms: f64,
}

pub struct Processor {
    cfg: Config,
    /// Document models; pages are classified and their fields extracted after OCR.
    extractor: Arc<Extractor>,
    /// The second reader for field values, when configured and installed.
    value_reader: Option<Arc<ValueReader>>,
}

/// The value reader in `dir`; `None`, with a warning, when it is not installed or does not load
/// (fields are then read by Tesseract alone), and when `dir` is empty (turned off).
pub fn load_value_reader(dir: &Path) -> Option<Arc<ValueReader>> {
    if dir.as_os_str().is_empty() {
        return None;
    }
    match ValueReader::load(dir) {
        Ok(r) => Some(Arc::new(r)),
        Err(e) => {
            tracing::warn!(error = %e, "field values will be read by Tesseract alone");
            None
        }
    }
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// Turns a panic in a stage into an error for that document instead of taking the process down.
fn guarded<T>(f: impl FnOnce() -> Result<T, FileError>) -> Result<T, FileError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".into());
        Err(FileError::Internal(msg))
    })
}

impl Processor {
    /// A processor without document models: no fields are extracted.
    pub fn new(cfg: Config) -> Self {
        Self::with_extractor(cfg, Arc::default())
    }

    /// A processor with document models; the value reader is loaded from
    /// `ocr.value_reader` when there are models to use it (see [`load_value_reader`]).
    pub fn with_extractor(cfg: Config, extractor: Arc<Extractor>) -> Self {
        let value_reader = if extractor.models().is_empty() {
            None
        } else {
            load_value_reader(&cfg.ocr.value_reader)
        };
        Self {
            cfg,
            extractor,
            value_reader,
        }
    }

    /// Whether field values get a second reading.
    pub fn has_value_reader(&self) -> bool {
        self.value_reader.is_some()
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Runs every stage on one document held in memory. Call inside a rayon pool.
    pub fn process_bytes(
        &self,
        data: Arc<[u8]>,
        progress: &dyn Progress,
    ) -> Result<ProcessedDocument, FileError> {
        let started = Instant::now();
        let bytes = data.len();
        let mut doc = guarded(|| Ok(decode::open(data, &self.cfg.limits)?))?;
        let format = doc.format;
        // Pages are decoded a chunk at a time: a 1,000-page batch TIFF never sits in memory whole,
        // while each chunk still spreads over every worker.
        let chunk = match self.cfg.limits.max_pages_in_memory {
            0 => 2 * rayon::current_num_threads(),
            n => n,
        }
        .max(1);
        let mut pages: Vec<(PageReport, PageBody)> = Vec::new();
        loop {
            let batch = guarded(|| Ok(doc.by_ref().take(chunk).collect::<Result<Vec<_>, _>>()?))?;
            if batch.is_empty() {
                break;
            }
            progress.pages_found(batch.len());
            let base = pages.len();
            let done: Vec<_> = batch
                .into_par_iter()
                .enumerate()
                .map(|(i, page)| {
                    let r = guarded(|| self.process_page(base + i, page));
                    progress.page_done();
                    r
                })
                .collect::<Result<_, _>>()?;
            pages.extend(done);
        }

        let t = Instant::now();
        let render_pages: Vec<RenderPage<'_>> = pages
            .iter()
            .map(|(rep, body)| RenderPage {
                body,
                dpi: rep.dpi,
                // A page's own text layer is in its content already.
                words: if rep.reading == Reading::TextLayer {
                    &[]
                } else {
                    &rep.words
                },
                lines: &rep.lines,
            })
            .collect();
        let pdf = render::render_pdf(&render_pages);
        let texts: Vec<String> = pages
            .iter()
            .map(|(rep, _)| text::page_text(&rep.words, &rep.lines))
            .collect();
        let text = text::document_text(texts.iter().map(String::as_str));
        let pdf_assembly_ms = ms_since(t);
        Ok(ProcessedDocument {
            format,
            bytes,
            pages: pages.into_iter().map(|(rep, _)| rep).collect(),
            pdf,
            text,
            timings: DocumentTimings {
                total_ms: ms_since(started),
                pdf_assembly_ms,
            },
        })
    }

    fn process_page(
        &self,
        index: usize,
        mut page: decode::DecodedPage,
    ) -> Result<(PageReport, PageBody), FileError> {
        let decode_ms = page.decode_ms;
        if let (Some(layer), Some(original)) = (page.text_layer.take(), page.original.clone()) {
            let report = self.text_layer_page(index, layer, decode_ms);
            return Ok((report, PageBody::Original(original)));
        }
        let original = page.original.take();
        let delivered_size = (page.image.width(), page.image.height());
        // Kept for a plain reading, should the normalized one find too little (see `guard`).
        let delivered = page.clone();
        let mut n = normalize(page, &self.cfg.normalize);

        let t = Instant::now();
        let (mut ocr, mut osd_ms, mut orientation_confidence) = (OcrResult::default(), 0.0, None);
        let (mut reading, mut plain_ms) = (Reading::Normalized, 0.0);
        if !n.blank {
            (n, ocr, osd_ms, orientation_confidence) = self.read_upright(n)?;
            let t = Instant::now();
            (n, ocr, reading) = self.guard(n, ocr, delivered)?;
            plain_ms = ms_since(t);
            self.reread_lost_lines(&n, &mut ocr)?;
        }
        let ocr_ms = ms_since(t) - osd_ms;
        let warnings = page_warnings(&n, &ocr);
        for w in &warnings {
            tracing::warn!(page = index, code = w.code, "{}", w.message);
        }

        let t = Instant::now();
        // The page's own content goes under the OCR layer when our boxes are on its grid:
        // normalization left the page as rendered (no crop, deskew or turn).
        let same_grid = n.crop.is_none()
            && n.skew == 0.0
            && n.orientation == 0
            && (n.display.width(), n.display.height()) == delivered_size;
        let body = match original {
            Some(o) if same_grid => PageBody::Original(o),
            _ => PageBody::Image(render::prepare_image(&n, self.cfg.render.jpeg_quality)),
        };
        let render_ms = ms_since(t);

        // Boxes were found on the OCR copy; report them on the page image the PDF shows.
        let (w, h) = (n.display.width(), n.display.height());
        let f = n.ocr_to_display;
        let mut words = ocr.words;
        for word in &mut words {
            word.bbox = word.bbox.scaled(f, w, h);
        }
        let lines: Vec<_> = ocr.lines.iter().map(|l| l.scaled(f, w, h)).collect();
        let t = Instant::now();
        let crops = self.value_reader.as_deref().map(|reader| ValueCrops {
            reader,
            image: &n.ocr_image,
            scale: 1.0 / f,
            dpi: n.ocr_dpi,
        });
        let extracted = self.extractor.extract(
            &words,
            &lines,
            index,
            crops
                .as_ref()
                .map(|c| c as &dyn crate::extract::SecondReader),
        );
        let extract_ms = ms_since(t);
        let report = PageReport {
            index,
            width: w,
            height: h,
            dpi: n.dpi,
            dpi_source: n.dpi_source,
            orientation: n.orientation,
            orientation_confidence,
            skew: n.skew,
            blank: n.blank,
            leader_dots: n.leader_dots,
            crop: n.crop.map(|c| [c.x, c.y, c.w, c.h]),
            colour_marks: n.colour_marks.len(),
            pictures: n.pictures.len(),
            flattened: n.flattened,
            specks: n.specks,
            binarized: n.binarized,
            ocr_dpi: n.ocr_dpi,
            ocr_x_height: n.x_height,
            mean_confidence: ocr::mean_confidence(&words),
            reading,
            warnings,
            words,
            lines,
            doc_type: extracted.doc_type,
            fields: extracted.fields,
            timings: StageTimings {
                decode_ms,
                normalize_ms: n.normalize_ms + osd_ms,
                ocr_ms,
                plain_ms,
                render_ms,
                extract_ms,
            },
        };
        Ok((report, body))
    }

    /// A page read from its own PDF text layer: no normalization and no OCR; its words are
    /// exact and on the grid the page would be rendered to.
    fn text_layer_page(
        &self,
        index: usize,
        layer: decode::TextLayer,
        decode_ms: f64,
    ) -> PageReport {
        // Words of a text layer are exact: nothing to read twice.
        let extracted = self
            .extractor
            .extract(&layer.words, &layer.lines, index, None);
        PageReport {
            index,
            width: layer.width,
            height: layer.height,
            dpi: layer.dpi,
            dpi_source: DpiSource::File,
            orientation: 0,
            orientation_confidence: None,
            skew: 0.0,
            blank: layer.words.is_empty(),
            leader_dots: 0,
            crop: None,
            colour_marks: 0,
            pictures: 0,
            flattened: false,
            specks: 0,
            binarized: false,
            ocr_dpi: layer.dpi,
            ocr_x_height: None,
            mean_confidence: ocr::mean_confidence(&layer.words),
            reading: Reading::TextLayer,
            warnings: Vec::new(),
            words: layer.words,
            lines: layer.lines,
            doc_type: extracted.doc_type,
            fields: extracted.fields,
            timings: StageTimings {
                decode_ms,
                ..StageTimings::default()
            },
        }
    }

    /// Reads the page right way up. Pages whose text lines do not look upright get orientation
    /// detection before the first reading, so a turned page is read once; any page whose reading
    /// looks wrong gets it afterwards. A turn is kept only when it reads better.
    fn read_upright(
        &self,
        n: Normalized,
    ) -> Result<(Normalized, OcrResult, f64, Option<f32>), FileError> {
        let cfg = &self.cfg.normalize;
        if !cfg.detect_orientation {
            let ocr = self.recognize(&n)?;
            return Ok((n, ocr, 0.0, None));
        }
        if n.suspect_orientation {
            let (turn, conf, osd_ms) = self.upright_turn(&n);
            let Some(cw) = turn else {
                // Detection found no turn: the page is read as it is, and upside down too should
                // that reading look wrong.
                let ocr = self.recognize(&n)?;
                let (n, ocr) = self.half_turn_if_better(n, ocr)?;
                return Ok((n, ocr, osd_ms, conf));
            };
            let upright = n.turned(cw);
            let ocr = self.recognize(&upright)?;
            if !looks_misoriented(&ocr, cfg) {
                return Ok((upright, ocr, osd_ms, conf));
            }
            // OSD can be wrong on odd pages: read the page as delivered too, keep the better.
            let first = self.recognize(&n)?;
            return Ok(if turned_is_better(&first, &ocr) {
                (upright, ocr, osd_ms, conf)
            } else {
                (n, first, osd_ms, conf)
            });
        }
        let ocr = self.recognize(&n)?;
        if !looks_misoriented(&ocr, cfg) {
            return Ok((n, ocr, 0.0, None));
        }
        let (turn, conf, osd_ms) = self.upright_turn(&n);
        if let Some(cw) = turn {
            let upright = n.turned(cw);
            let second = self.recognize(&upright)?;
            if turned_is_better(&ocr, &second) {
                return Ok((upright, second, osd_ms, conf));
            }
            return Ok((n, ocr, osd_ms, conf));
        }
        let (n, ocr) = self.half_turn_if_better(n, ocr)?;
        Ok((n, ocr, osd_ms, conf))
    }

    /// An upside-down page that orientation detection could not place (an ID card has too few
    /// letters for it) still reads badly: it is read turned half round as well, and that reading
    /// kept when Tesseract trusts it more. Only pages whose reading looks wrong pay for it.
    fn half_turn_if_better(
        &self,
        n: Normalized,
        ocr: OcrResult,
    ) -> Result<(Normalized, OcrResult), FileError> {
        if !self.cfg.normalize.detect_orientation || !looks_misoriented(&ocr, &self.cfg.normalize) {
            return Ok((n, ocr));
        }
        let turned = n.turned(180);
        let second = self.recognize(&turned)?;
        let better = second.mean_confidence().unwrap_or(0.0) > ocr.mean_confidence().unwrap_or(0.0);
        Ok(if better { (turned, second) } else { (n, ocr) })
    }

    /// Never worse than plain Tesseract: a page that went through a step whose effect on
    /// Tesseract is a toss-up (`normalize.compare_plain_reading`: levelling a slight skew,
    /// dropping colour marks, shrinking the text) is also read as delivered (only turned the same
    /// way upright), and the reading that scores better (`ocr::reading_score`) is kept, the plain
    /// one on a tie (it keeps the page's own image in the PDF). So is a page whose normalized
    /// reading finds few confident words for its text-like ink. A normalization step that goes
    /// wrong on an unusual page then costs one more reading, never the page's text.
    fn guard(
        &self,
        n: Normalized,
        ocr: OcrResult,
        delivered: decode::DecodedPage,
    ) -> Result<(Normalized, OcrResult, Reading), FileError> {
        let cfg = &self.cfg.normalize;
        let ours = ocr::confident_words(&ocr);
        // About four letters a word; x-height-shaped letters are most of them.
        let expected = n.letters as f32 / 4.0;
        let share = cfg.plain_check_below_word_share;
        let few = share > 0.0 && (ours == 0 || (ours as f32) < share * expected);
        let megapixels =
            f64::from(delivered.image.width()) * f64::from(delivered.image.height()) / 1e6;
        let compare = megapixels <= f64::from(cfg.compare_max_megapixels)
            && match cfg.compare_plain_reading {
                PlainComparison::Never => false,
                PlainComparison::Changed => true,
                PlainComparison::Risky => went_through_risky_step(&n, cfg),
            };
        if !few && !compare {
            return Ok((n, ocr, Reading::Normalized));
        }
        let mut plain = normalize(delivered, &plain_config(cfg));
        plain.blank = false;
        let cw = (plain.orientation + 360 - n.orientation) % 360;
        let plain = if cw == 0 { plain } else { plain.turned(cw) };
        if plain.ocr_image == n.ocr_image && plain.ocr_dpi == n.ocr_dpi {
            // Normalization left the page as Tesseract would have seen it: same reading.
            return Ok((n, ocr, Reading::Normalized));
        }
        let second = self.recognize_plain(&plain)?;
        let (score_ours, score_plain) = (ocr::reading_score(&ocr), ocr::reading_score(&second));
        tracing::debug!(
            score_ours,
            score_plain,
            few,
            share = ours as f32 / expected.max(1.0),
            mean = ocr.mean_confidence().unwrap_or(0.0),
            "plain reading checked"
        );
        if score_plain >= score_ours {
            Ok((plain, second, Reading::Plain))
        } else {
            Ok((n, ocr, Reading::Normalized))
        }
    }

    /// Puts back lines the page reading left out (`ocr::lost_lines`).
    fn reread_lost_lines(&self, n: &Normalized, ocr: &mut OcrResult) -> Result<(), FileError> {
        let Some(xh) = n.x_height.filter(|_| self.cfg.normalize.reread_lost_lines) else {
            return Ok(());
        };
        let bands = ocr::lost_lines::unread_bands(&n.ocr_image, ocr, xh);
        if bands.is_empty() {
            return Ok(());
        }
        let dpi = n.ocr_dpi.round() as u32;
        let restored = ocr::with_engine(&self.cfg.ocr, |e| {
            ocr::lost_lines::reread(&n.ocr_image, ocr, &bands, |crop| {
                e.recognize_line(crop, dpi).ok()
            })
        })?;
        if restored > 0 {
            tracing::info!(
                restored,
                bands = bands.len(),
                "lines the page reading left out read again"
            );
        }
        Ok(())
    }

    /// Timed orientation detection: the clockwise turn that sets the page upright when detection
    /// is confident of one, the detection's confidence, and its milliseconds.
    fn upright_turn(&self, n: &Normalized) -> (Option<u16>, Option<f32>, f64) {
        let t = Instant::now();
        let found = self.detect_orientation(n);
        let turn = found
            .filter(|o| {
                o.degrees != 0 && o.confidence >= self.cfg.normalize.min_orientation_confidence
            })
            .map(|o| 360 - o.degrees);
        (turn, found.map(|o| o.confidence), ms_since(t))
    }

    /// The plain reading sees a colour page in colour, as the `tesseract` command would, unless
    /// the page had to be rescaled for it.
    fn recognize_plain(&self, plain: &Normalized) -> Result<OcrResult, FileError> {
        let colour = plain.display.color().has_color()
            && (plain.display.width(), plain.display.height())
                == (plain.ocr_image.width(), plain.ocr_image.height());
        if !colour {
            return self.recognize(plain);
        }
        let rgb = plain.display.to_rgb8();
        Ok(ocr::with_engine(&self.cfg.ocr, |e| {
            e.recognize_rgb(&rgb, plain.ocr_dpi.round() as u32)
        })??)
    }

    fn recognize(&self, n: &Normalized) -> Result<OcrResult, FileError> {
        Ok(ocr::with_engine(&self.cfg.ocr, |e| {
            e.recognize(&n.ocr_image, n.ocr_dpi.round() as u32)
        })??)
    }

    /// Tesseract OSD on a reduced copy; a failure only costs the detection, never the page.
    fn detect_orientation(&self, n: &Normalized) -> Option<ocr::Orientation> {
        let (probe, dpi) = n.orientation_probe(self.cfg.normalize.orientation_dpi);
        match ocr::with_engine(&self.cfg.ocr, |e| {
            e.detect_orientation(&probe, dpi.round() as u32)
        }) {
            Ok(Ok(o)) => o,
            Ok(Err(e)) | Err(e) => {
                tracing::warn!(code = e.code(), "orientation detection unavailable: {e}");
                None
            }
        }
    }

    /// Processes `input` and writes `<stem>.pdf`, `<stem>.txt` and `<stem>.json` into `out_dir`.
    pub fn process_file(
        &self,
        input: &Path,
        out_dir: &Path,
        progress: &dyn Progress,
    ) -> Result<FileSummary, FileError> {
        let meta = std::fs::metadata(input).map_err(FileError::Read)?;
        if meta.len() > self.cfg.limits.max_file_bytes {
            // Refuse before reading a huge file into memory.
            return Err(DecodeError::FileTooLarge {
                size: meta.len(),
                limit: self.cfg.limits.max_file_bytes,
            }
            .into());
        }
        let data: Arc<[u8]> = std::fs::read(input).map_err(FileError::Read)?.into();
        let doc = self.process_bytes(data, progress)?;
        let stem = output_stem(input);
        let json = serde_json::to_vec_pretty(&DocumentJson {
            source: input,
            document: &doc,
        })
        .map_err(|e| FileError::Internal(e.to_string()))?;
        let outputs = [
            ("pdf", &doc.pdf[..]),
            ("txt", doc.text.as_bytes()),
            ("json", &json[..]),
        ]
        .into_iter()
        .map(|(ext, bytes)| {
            let path = out_dir.join(format!("{stem}.{ext}"));
            write_atomic(&path, bytes).map_err(|source| FileError::Write {
                path: path.clone(),
                source,
            })?;
            Ok(path)
        })
        .collect::<Result<Vec<_>, FileError>>()?;
        Ok(FileSummary {
            pages: doc.pages.len(),
            outputs,
        })
    }
}

#[derive(Serialize)]
struct DocumentJson<'a> {
    source: &'a Path,
    #[serde(flatten)]
    document: &'a ProcessedDocument,
}

#[derive(Debug)]
pub struct FileSummary {
    pub pages: usize,
    pub outputs: Vec<PathBuf>,
}

/// Steps that help most pages but can cost an unusual one words (measured in BENCHMARKS.md);
/// cropping, flattening, despeckling and larger levelling or enlarging did not.
fn went_through_risky_step(n: &Normalized, cfg: &crate::config::NormalizeConfig) -> bool {
    let slight_skew = n.skew != 0.0 && n.skew.abs() < cfg.compare_below_skew_deg;
    let shrunk = n.dpi > 0.0 && n.ocr_dpi < cfg.compare_below_scale * n.dpi;
    slight_skew || shrunk || !n.colour_marks.is_empty()
}

/// Normalization for the plain reading: the page as delivered, gray, at its own resolution
/// (rescaled only when that is far out of Tesseract's range).
fn plain_config(cfg: &crate::config::NormalizeConfig) -> crate::config::NormalizeConfig {
    crate::config::NormalizeConfig {
        find_page: false,
        drop_colour_marks: false,
        flatten_light: false,
        despeckle: false,
        remove_leaders: false,
        remove_pictures: false,
        binarize: false,
        deskew: false,
        // Any measured text size is "in range": only the resolution's bound can rescale.
        x_height_min: 1.0,
        x_height_max: f32::MAX,
        ..cfg.clone()
    }
}

/// What a reader of the page JSON must know: a page with ink whose reading is empty is never
/// passed off as a page without text.
fn page_warnings(n: &Normalized, ocr: &OcrResult) -> Vec<PageWarning> {
    let mut out = Vec::new();
    if !n.blank && ocr.words.iter().all(|w| w.text.trim().is_empty()) {
        out.push(PageWarning {
            code: "no_text",
            message: "the page has ink but no text was read from it".into(),
        });
    }
    out
}

/// Share of words (of 3+ characters) taller than wide: near 1 when a page turned 90° was read
/// line by line down the page.
fn vertical_share(ocr: &OcrResult) -> f32 {
    let long: Vec<_> = ocr
        .words
        .iter()
        .filter(|w| w.text.chars().count() >= 3)
        .collect();
    let vertical = long
        .iter()
        .filter(|w| w.bbox.height() > w.bbox.width())
        .count();
    vertical as f32 / long.len().max(1) as f32
}

/// Orientation detection is worth its cost only when the reading looks wrong: nothing read, low
/// confidence (text upside down reads as garbage), or words running vertically (turned 90°).
fn looks_misoriented(ocr: &OcrResult, cfg: &crate::config::NormalizeConfig) -> bool {
    ocr.mean_confidence()
        .is_none_or(|c| c < cfg.orientation_check_below_confidence)
        || vertical_share(ocr) > 0.5
}

/// After turning, keep the new reading if Tesseract trusts it at least as much, or if it turned
/// vertical lines into horizontal ones (Tesseract reads sideways text well, but boxes and reading
/// order are then those of a sideways page).
fn turned_is_better(before: &OcrResult, after: &OcrResult) -> bool {
    after.mean_confidence() >= before.mean_confidence()
        || (vertical_share(before) > 0.5 && vertical_share(after) < 0.5)
}

pub fn output_stem(input: &Path) -> String {
    input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "document".into())
}

/// Temp file + rename, so a reader never sees a half-written output.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Processes many files; each result is independent. Call inside the rayon pool to size it.
pub fn process_files(
    processor: &Processor,
    inputs: &[PathBuf],
    out_dir: &Path,
    progress: &dyn Progress,
) -> Vec<Result<FileSummary, FileError>> {
    let mut seen = std::collections::HashSet::new();
    let duplicate: Vec<bool> = inputs
        .iter()
        .map(|p| !seen.insert(output_stem(p)))
        .collect();
    inputs
        .par_iter()
        .zip(duplicate)
        .map(|(input, dup)| {
            let result = if dup {
                Err(FileError::DuplicateStem)
            } else {
                processor.process_file(input, out_dir, progress)
            };
            progress.file_done();
            result
        })
        .collect()
}
