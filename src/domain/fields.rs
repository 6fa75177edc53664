//! Extracted fields as reported per page and stored per dossier.

use serde::{Deserialize, Serialize};

use super::BBox;

/// Which document model a page was classified as.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocType {
    pub model: String,
    /// Share of the model's keywords found on the page, 0–1.
    pub confidence: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldSource {
    Ocr,
    Clerk,
}

impl FieldSource {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldSource::Ocr => "ocr",
            FieldSource::Clerk => "clerk",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValidationStatus {
    /// A check proved the value (closed list, agreement with another reading or field).
    Valid,
    /// A check failed, or the value has no valid form.
    Invalid,
    /// The value has a valid form but nothing proves it; a clerk should look.
    Unchecked,
}

impl ValidationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ValidationStatus::Valid => "valid",
            ValidationStatus::Invalid => "invalid",
            ValidationStatus::Unchecked => "unchecked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "valid" => ValidationStatus::Valid,
            "invalid" => ValidationStatus::Invalid,
            "unchecked" => ValidationStatus::Unchecked,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Validation {
    pub status: ValidationStatus,
    /// Why it is invalid or unchecked; the checks that passed when valid.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// An OCR confusion repaired because the repaired value passed its check, e.g. `O→0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repair: Option<String>,
}

/// One field of one page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExtractedField {
    pub name: String,
    /// Normalized value (names upper case, dates ISO); `None` when the field was not found.
    pub value: Option<String>,
    /// The OCR text the value came from.
    pub raw: String,
    /// 0–1: OCR confidence of the value's words times how well its label matched.
    pub confidence: f32,
    pub page: usize,
    #[serde(rename = "box")]
    pub bbox: Option<BBox>,
    pub source: FieldSource,
    pub validation: Validation,
}
