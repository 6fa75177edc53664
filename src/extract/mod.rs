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
        r.map_err(|errors| {
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        })
    }

    pub fn procedure(&self, code: &str) -> Option<&crate::procedure::Procedure> {
        self.procedures.iter().find(|p| p.matches(code))
    }
}
