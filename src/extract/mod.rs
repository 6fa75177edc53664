//! Field extraction: document models (`models/*.toml`) classify a page and pull its fields from
//! the OCR words, with Vietnamese normalizers and validators; cross-document checks run per
//! dossier.

pub mod anchor;
pub mod classify;
pub mod crosscheck;
pub mod fields;
pub mod fold;
pub mod locate;
pub mod model;
pub mod vn;

use std::path::Path;

use crate::domain::{DocType, ExtractedField, Line, Word};
pub use model::{Model, ModelError, load_models};

/// The loaded models; cheap to share between page threads.
#[derive(Debug, Clone, Default)]
pub struct Extractor {
    models: Vec<Model>,
}

/// What extraction made of one page.
#[derive(Debug, Clone, Default)]
pub struct PageFields {
    pub doc_type: Option<DocType>,
    pub fields: Vec<ExtractedField>,
}

impl Extractor {
    pub fn new(models: Vec<Model>) -> Self {
        Extractor { models }
    }

    pub fn load(dir: &Path) -> Result<Self, Vec<ModelError>> {
        Ok(Extractor::new(load_models(dir)?))
    }

    pub fn models(&self) -> &[Model] {
        &self.models
    }

    pub fn extract(&self, words: &[Word], lines: &[Line], page_index: usize) -> PageFields {
        let page = anchor::PageText::new(words, lines);
        match classify::classify(&self.models, &page) {
            Some((model, doc_type)) => PageFields {
                doc_type: Some(doc_type),
                fields: fields::extract(model, &page, page_index),
            },
            None => PageFields::default(),
        }
    }
}
