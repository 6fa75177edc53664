//! Field extraction: document models (`models/*.toml`) classify a page and pull its fields from
//! the OCR words, with Vietnamese normalizers and validators; cross-document checks run per
//! dossier.

pub mod anchor;
pub mod choose;
pub mod classify;
pub mod crosscheck;
pub mod fields;
pub mod fold;
pub mod locate;
pub mod merge;
pub mod model;
pub mod vn;

use std::path::Path;

use crate::domain::{BBox, DocType, ExtractedField, Line, Word};
pub use model::{Model, ModelError, load_models};

/// A second look at a value's pixels: the neural value reader over the page image.
pub trait SecondReader: Sync {
    /// Reads the value lying in `regions` (page coordinates, one box per row, in order); `None`
    /// when there is nothing to read there or the reader failed (a warning is logged).
    fn read(&self, regions: &[BBox]) -> Option<SecondReading>;

    /// Whether `regions` hold ink, a letter wide or more, outside every one of `words` (page
    /// coordinates): something Tesseract left unread that a second reading could add. `true`
    /// when it cannot tell.
    fn unread_ink(&self, _regions: &[BBox], _words: &[BBox]) -> bool {
        true
    }
}

/// What the second reader read.
#[derive(Debug, Clone, PartialEq)]
pub struct SecondReading {
    pub text: String,
    /// 0–100.
    pub confidence: f32,
}

/// The loaded models; cheap to share between page threads.
#[derive(Debug, Clone, Default)]
pub struct Extractor {
    models: Vec<Model>,
    lexicon: Option<std::sync::Arc<merge::Lexicon>>,
    places: Option<std::sync::Arc<vn::places::Places>>,
}

/// What extraction made of one page.
#[derive(Debug, Clone, Default)]
pub struct PageFields {
    pub doc_type: Option<DocType>,
    pub fields: Vec<ExtractedField>,
}

impl Extractor {
    pub fn new(models: Vec<Model>) -> Self {
        Extractor {
            models,
            lexicon: None,
            places: None,
        }
    }

    /// Free text read twice is merged by these syllables; without them it is Tesseract's alone.
    pub fn with_lexicon(mut self, lexicon: Option<std::sync::Arc<merge::Lexicon>>) -> Self {
        self.lexicon = lexicon;
        self
    }

    /// Unit names in addresses are corrected by this list of administrative units.
    pub fn with_places(mut self, places: Option<std::sync::Arc<vn::places::Places>>) -> Self {
        self.places = places;
        self
    }

    pub fn load(dir: &Path) -> Result<Self, Vec<ModelError>> {
        Ok(Extractor::new(load_models(dir)?))
    }

    pub fn models(&self) -> &[Model] {
        &self.models
    }

    /// Classifies the page and extracts its model's fields; `second`, when given, reads value
    /// fields a second time from the page image.
    pub fn extract(
        &self,
        words: &[Word],
        lines: &[Line],
        page_index: usize,
        second: Option<&dyn SecondReader>,
    ) -> PageFields {
        let page = anchor::PageText::new(words, lines);
        let Some((model, doc_type)) = classify::classify(&self.models, &page) else {
            return PageFields::default();
        };
        let mut fields =
            fields::extract_with(model, &page, page_index, second, self.lexicon.as_deref());
        if let Some(places) = &self.places {
            fields::correct_places(model, &mut fields, places);
        }
        // A form printed but not filled in (a blank template scanned with the dossier) is not a
        // declaration: nothing of what makes one (its required fields) was written on it.
        let required: Vec<&str> = model
            .fields
            .iter()
            .filter(|f| f.required)
            .map(|f| f.name.as_str())
            .collect();
        let filled = required.is_empty()
            || fields
                .iter()
                .any(|f| required.contains(&f.name.as_str()) && f.value.is_some());
        if !filled {
            return PageFields::default();
        }
        PageFields {
            doc_type: Some(doc_type),
            fields,
        }
    }
}

/// Document models and procedure pipelines as loaded at start-up.
#[derive(Debug, Clone, Default)]
pub struct Definitions {
    pub extractor: std::sync::Arc<Extractor>,
    pub procedures: std::sync::Arc<Vec<crate::procedure::Procedure>>,
}

impl Definitions {
    /// Models, then pipelines checked against them; every error of every file. Pipelines are
    /// checked only once the models load, since their references point into the models.
    pub fn load(models: &Path, pipelines: &Path) -> Result<Definitions, Vec<ModelError>> {
        let models = load_models(models)?;
        let procedures = crate::procedure::load_procedures(pipelines, &models)?;
        Ok(Definitions {
            extractor: std::sync::Arc::new(Extractor::new(models)),
            procedures: std::sync::Arc::new(procedures),
        })
    }

    /// As [`Definitions::load`] for the service and `process`: folders that do not exist (a
    /// working directory outside the checkout) mean no extraction, with a warning; broken
    /// definitions are an error.
    pub fn load_for_run(cfg: &crate::config::ExtractConfig) -> Result<Definitions, String> {
        if !cfg.models_dir.is_dir() {
            tracing::warn!(
                dir = %cfg.models_dir.display(),
                "no document models folder: fields will not be extracted"
            );
            return Ok(Definitions::default());
        }
        let pipelines_dir = &cfg.pipelines_dir;
        let r = if pipelines_dir.is_dir() {
            Definitions::load(&cfg.models_dir, pipelines_dir)
        } else {
            tracing::warn!(dir = %pipelines_dir.display(), "no procedure pipelines folder: no cross-document checks");
            Extractor::load(&cfg.models_dir).map(|x| Definitions {
                extractor: std::sync::Arc::new(x),
                procedures: Default::default(),
            })
        };
        let mut defs = r.map_err(|errors| {
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        })?;
        let lexicon = load_lexicon(&cfg.lexicon);
        let places = load_places(&cfg.places);
        defs.extractor = std::sync::Arc::new(
            (*defs.extractor)
                .clone()
                .with_lexicon(lexicon)
                .with_places(places),
        );
        Ok(defs)
    }

    pub fn procedure(&self, code: &str) -> Option<&crate::procedure::Procedure> {
        self.procedures.iter().find(|p| p.matches(code))
    }
}

/// An optional data file named in `[extract]` (the syllable lexicon, the list of administrative
/// units): `""` turns it off; a missing, unreadable or empty one is a warning saying what runs
/// without it (`without`).
fn load_optional<T>(
    path: &Path,
    load: impl FnOnce(&Path) -> std::io::Result<T>,
    without: &str,
) -> Option<std::sync::Arc<T>> {
    if path.as_os_str().is_empty() {
        return None;
    }
    match load(path) {
        Ok(t) => Some(std::sync::Arc::new(t)),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "{without}");
            None
        }
    }
}

fn load_lexicon(path: &Path) -> Option<std::sync::Arc<merge::Lexicon>> {
    load_optional(
        path,
        merge::Lexicon::load,
        "no Vietnamese syllable lexicon (install hunspell-vi): addresses and free text are read by Tesseract alone",
    )
}

fn load_places(path: &Path) -> Option<std::sync::Arc<vn::places::Places>> {
    let load = |p: &Path| {
        let places = vn::places::Places::load(p)?;
        if places.is_empty() {
            return Err(std::io::Error::other("empty"));
        }
        Ok(places)
    };
    load_optional(
        path,
        load,
        "no list of administrative units (run scripts/places.sh): unit names in addresses are left as read",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::anchor::tests::page;

    /// `page()`'s words and lines as OCR output.
    fn ocr(rows: &[&str]) -> (Vec<Word>, Vec<Line>) {
        let p = page(rows);
        let words = p
            .words
            .iter()
            .map(|w| Word {
                text: w.text.clone(),
                bbox: w.bbox,
                confidence: w.confidence,
                line: p
                    .lines
                    .iter()
                    .position(|l| {
                        l.contains(&p.words.iter().position(|x| std::ptr::eq(x, w)).unwrap())
                    })
                    .unwrap() as u32,
            })
            .collect();
        let lines = p
            .lines
            .iter()
            .map(|l| Line {
                bbox: p.line_box(l),
                block: 0,
                baseline: [0.0; 4],
            })
            .collect();
        (words, lines)
    }

    #[test]
    fn a_form_nobody_filled_in_is_no_declaration() {
        let x = Extractor::new(model::shipped_models());
        let rows = |name: &str, child: &str| {
            vec![
                "TỜ KHAI ĐĂNG KÝ KHAI SINH".to_string(),
                format!("Họ, chữ đệm, tên người yêu cầu: {name}"),
                "Quan hệ với người được khai sinh: ..........".into(),
                "Đề nghị cơ quan đăng ký khai sinh cho người dưới đây:".into(),
                format!("Họ, chữ đệm, tên: {child}"),
                "Ngày, tháng, năm sinh: ..........".into(),
            ]
        };
        let blank = rows("..........", "..........");
        let (w, l) = ocr(&blank.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(x.extract(&w, &l, 0, None).doc_type.is_none());
        let filled = rows("NGÔ THỊ AN", "..........");
        let (w, l) = ocr(&filled.iter().map(String::as_str).collect::<Vec<_>>());
        let got = x.extract(&w, &l, 0, None);
        assert_eq!(got.doc_type.unwrap().model, "to_khai_khai_sinh");
        assert!(
            got.fields
                .iter()
                .any(|f| f.value.as_deref() == Some("NGÔ THỊ AN"))
        );
    }

    #[test]
    fn unit_names_misread_in_an_address_are_corrected_by_the_official_list() {
        let places = vn::places::Places::parse(
            "Tỉnh Nghệ An\tHuyện Nghi Lộc\tXã Nghi Thái\nTỉnh Cao Bằng\tHuyện Hoà An\t\n",
        );
        let rows = [
            "TỜ KHAI ĐĂNG KÝ KHAI SINH",
            "Họ, chữ đệm, tên người yêu cầu: NGÔ THỊ AN",
            "Nơi cư trú: Thôn 1, xã Nghi Thái, huyện Nghi Lốc, tỉnh Nghê An",
            "Quan hệ với người được khai sinh: Mẹ",
        ];
        let (w, l) = ocr(&rows);
        let address = |x: &Extractor| {
            x.extract(&w, &l, 0, None)
                .fields
                .into_iter()
                .find(|f| f.name == "requester.address")
                .unwrap()
        };
        let plain = Extractor::new(model::shipped_models());
        assert_eq!(
            address(&plain).value.as_deref(),
            Some("Thôn 1, xã Nghi Thái, huyện Nghi Lốc, tỉnh Nghê An")
        );
        let x = plain.with_places(Some(std::sync::Arc::new(places)));
        let f = address(&x);
        assert_eq!(
            f.value.as_deref(),
            Some("Thôn 1, xã Nghi Thái, huyện Nghi Lộc, tỉnh Nghệ An")
        );
        assert!(
            f.validation
                .notes
                .iter()
                .any(|n| n.contains("\"Nghi Lốc\" → \"Nghi Lộc\""))
        );
        // Still a value no check proves: the clerk looks at it.
        assert!(f.confidence < 0.8);
        assert_ne!(f.validation.status, crate::domain::ValidationStatus::Valid);
    }

    #[test]
    fn the_date_of_signing_is_not_taken_from_a_date_above_it() {
        let x = Extractor::new(model::shipped_models());
        let rows = [
            "TỜ KHAI ĐĂNG KÝ KHAI TỬ",
            "Họ, chữ đệm, tên người yêu cầu: NGÔ THỊ AN",
            "Quan hệ với người đã chết: Con gái",
            "Đề nghị cơ quan đăng ký khai tử cho người có tên dưới đây:",
            "Họ, chữ đệm, tên: NGÔ VĂN BÌNH",
            "Đã chết vào lúc: 10 giờ 30 phút, ngày 17 tháng 05 năm 2026",
            "Nơi chết: Tại nhà riêng",
            "Nguyên nhân chết: Già yếu",
            // The date of signing with its figures misread: only the looser row pattern finds it.
            "Hà Nội, ngày 1Z.... tháng O6.... năm 2026",
        ];
        let (w, l) = ocr(&rows);
        let got = x.extract(&w, &l, 0, None);
        assert_eq!(got.doc_type.unwrap().model, "to_khai_khai_tu");
        let field = |n: &str| got.fields.iter().find(|f| f.name == n).unwrap().clone();
        assert_eq!(field("death.date").value.as_deref(), Some("2026-05-17"));
        let signed = field("signed_at");
        assert!(signed.raw.contains("1Z"), "{signed:?}");
        assert_ne!(signed.value.as_deref(), Some("2026-05-17"));
    }
}
