//! From located values to reported fields: the type's normalizer, then the model's validators
//! between fields, then the validation status.

use std::collections::HashMap;

use super::anchor::PageText;
use super::fold::fold;
use super::locate::{Located, locate};
use super::model::{FieldSpec, FieldType, Model, Validator};
use super::vn::{self, Date, Norm, PersonalId};
use crate::domain::{ExtractedField, FieldSource, Validation, ValidationStatus};

pub fn normalize(kind: FieldType, raw: &str) -> Result<Norm, vn::Reason> {
    match kind {
        FieldType::Name => vn::name(raw),
        FieldType::Date => vn::date(raw),
        FieldType::PersonalId => vn::personal_id(raw),
        FieldType::Sex => vn::sex(raw),
        FieldType::Ethnicity => vn::ethnicity(raw),
        FieldType::Nationality => vn::nationality(raw),
        FieldType::Year => vn::year(raw),
        FieldType::Address | FieldType::Text => vn::text(raw),
    }
}

/// Outcome of one validator.
enum Outcome {
    Pass(String),
    Fail(String),
    /// The other field is missing or invalid, or (for `equals_any`) differs: nothing proven.
    Unknown(String),
}

fn birth_year_of(kind: FieldType, value: &str) -> Option<u32> {
    match kind {
        FieldType::Date => Date::from_iso(value).map(|d| d.year),
        FieldType::Year => value.parse().ok(),
        _ => None,
    }
}

fn run(
    v: &Validator,
    spec: &FieldSpec,
    value: &str,
    others: &HashMap<&str, (FieldType, String)>,
) -> Outcome {
    let other = |f: &str| others.get(f);
    let pid = |s: &str| PersonalId::parse(s).ok();
    match v {
        Validator::PidBirth(f) => match (pid(value), other(f)) {
            (Some(id), Some((k, o))) => match birth_year_of(*k, o) {
                Some(y) => match id.check_birth_year(y) {
                    Ok(()) => Outcome::Pass(format!("birth year agrees with {f}")),
                    Err(e) => Outcome::Fail(format!("{e} ({f})")),
                },
                None => Outcome::Unknown(format!("{f} has no year")),
            },
            (None, _) => Outcome::Unknown("not a 12-digit ID".into()),
            (_, None) => Outcome::Unknown(format!("{f} not read")),
        },
        Validator::PidSex(f) => match (pid(value), other(f)) {
            (Some(id), Some((_, s))) => match id.check_sex(s) {
                Ok(()) => Outcome::Pass(format!("sex agrees with {f}")),
                Err(e) => Outcome::Fail(format!("{e} ({f})")),
            },
            (None, _) => Outcome::Unknown("not a 12-digit ID".into()),
            (_, None) => Outcome::Unknown(format!("{f} not read")),
        },
        Validator::PidSexIs(s) => match pid(value) {
            Some(id) => match id.check_sex(s) {
                Ok(()) => Outcome::Pass(format!("sex digit is {s}")),
                Err(e) => Outcome::Fail(e),
            },
            None => Outcome::Unknown("not a 12-digit ID".into()),
        },
        Validator::BirthYearOfPid(f) => match (birth_year_of(spec.kind, value), other(f)) {
            (Some(y), Some((_, o))) => match pid(o) {
                Some(id) => match id.check_birth_year(y) {
                    Ok(()) => Outcome::Pass(format!("year agrees with {f}")),
                    Err(e) => Outcome::Fail(format!("{e} ({f})")),
                },
                None => Outcome::Unknown(format!("{f} is not a 12-digit ID")),
            },
            (None, _) => Outcome::Unknown("no year".into()),
            (_, None) => Outcome::Unknown(format!("{f} not read")),
        },
        Validator::SameDayMonth(f) => {
            match (
                Date::from_iso(value),
                other(f).and_then(|(_, o)| Date::from_iso(o)),
            ) {
                (Some(a), Some(b)) if (a.day, a.month) == (b.day, b.month) => {
                    Outcome::Pass(format!("day and month agree with {f}"))
                }
                (Some(_), Some(_)) => Outcome::Fail(format!("day and month differ from {f}")),
                _ => Outcome::Unknown(format!("{f} not read")),
            }
        }
        Validator::EqualsAny(fs) => {
            if let Some(f) = fs
                .iter()
                .find(|f| other(f).is_some_and(|(_, o)| o == value))
            {
                Outcome::Pass(format!("equals {f}"))
            } else {
                Outcome::Unknown(format!("differs from {}", fs.join(", ")))
            }
        }
    }
}

/// Extracts every field of `model` from one page.
pub fn extract(model: &Model, page: &PageText, page_index: usize) -> Vec<ExtractedField> {
    let mut found: HashMap<&str, Located> = HashMap::new();
    let mut norms: HashMap<&str, Result<Norm, vn::Reason>> = HashMap::new();
    for spec in &model.fields {
        let below = spec
            .after
            .as_deref()
            .and_then(|a| found.get(a))
            .map(|l| l.label_y);
        // A section whose heading was not found is not searched from the top: its labels would be
        // taken from another section.
        if spec.after.is_some() && below.is_none() {
            continue;
        }
        let own: Vec<String> = spec.anchors.iter().map(|a| fold(a)).collect();
        let rivals: Vec<String> = model
            .fields
            .iter()
            .flat_map(|f| f.anchors.iter())
            .filter(|a| !own.contains(&fold(a)))
            .cloned()
            .collect();
        if let Some(loc) = locate(page, spec, &rivals, below) {
            norms.insert(&spec.name, normalize(spec.kind, &loc.raw));
            found.insert(&spec.name, loc);
        }
    }
    let good: HashMap<&str, (FieldType, String)> = model
        .fields
        .iter()
        .filter_map(|s| match norms.get(s.name.as_str()) {
            Some(Ok(n)) => Some((s.name.as_str(), (s.kind, n.value.clone()))),
            _ => None,
        })
        .collect();

    let mut out = Vec::new();
    for spec in &model.fields {
        let Some(loc) = found.get(spec.name.as_str()) else {
            if spec.required {
                out.push(missing(spec, page_index));
            }
            continue;
        };
        let confs: Vec<f32> = loc.confidences(page).collect();
        let mean = confs.iter().sum::<f32>() / confs.len().max(1) as f32;
        let min = confs.iter().copied().fold(f32::INFINITY, f32::min);
        let confidence = (mean / 100.0 * loc.label_similarity as f32).clamp(0.0, 1.0);
        let (value, validation) = match &norms[spec.name.as_str()] {
            Err(reason) => (
                (!loc.raw.trim().is_empty()).then(|| vn::tidy(&loc.raw)),
                Validation {
                    status: ValidationStatus::Invalid,
                    notes: vec![reason.clone()],
                    repair: None,
                },
            ),
            Ok(n) => (
                Some(n.value.clone()),
                judge(spec, n, &good, min, model.min_valid_confidence),
            ),
        };
        out.push(ExtractedField {
            name: spec.name.clone(),
            value,
            raw: loc.raw.clone(),
            confidence,
            page: page_index,
            bbox: loc.bbox(page),
            source: FieldSource::Ocr,
            validation,
        });
    }
    out
}

/// Valid only when something proves the value (closed list or a validator) and nothing
/// contradicts it, and every word of it was read confidently.
fn judge(
    spec: &FieldSpec,
    n: &Norm,
    others: &HashMap<&str, (FieldType, String)>,
    min_conf: f32,
    min_valid_confidence: f32,
) -> Validation {
    let mut passed = Vec::new();
    let mut failed = Vec::new();
    let mut unknown = Vec::new();
    for v in &spec.validators {
        match run(v, spec, &n.value, others) {
            Outcome::Pass(s) => passed.push(s),
            Outcome::Fail(s) => failed.push(s),
            Outcome::Unknown(s) => unknown.push(s),
        }
    }
    let status = if !failed.is_empty() {
        ValidationStatus::Invalid
    } else if (n.checked || !passed.is_empty())
        && unknown.is_empty()
        && min_conf >= min_valid_confidence
    {
        ValidationStatus::Valid
    } else {
        ValidationStatus::Unchecked
    };
    let mut notes = match status {
        ValidationStatus::Invalid => failed,
        ValidationStatus::Valid => passed,
        ValidationStatus::Unchecked => {
            let mut u = unknown;
            if min_conf < min_valid_confidence {
                u.push(format!(
                    "OCR confidence {min_conf:.0} below {min_valid_confidence:.0}"
                ));
            }
            if !n.checked && spec.validators.is_empty() {
                u.push("no check can prove this value".into());
            }
            u
        }
    };
    if status == ValidationStatus::Valid && n.checked {
        notes.insert(0, "in the closed list".into());
    }
    Validation {
        status,
        notes,
        repair: n.repair.clone(),
    }
}

fn missing(spec: &FieldSpec, page: usize) -> ExtractedField {
    ExtractedField {
        name: spec.name.clone(),
        value: None,
        raw: String::new(),
        confidence: 0.0,
        page,
        bbox: None,
        source: FieldSource::Ocr,
        validation: Validation {
            status: ValidationStatus::Invalid,
            notes: vec!["required field not found".into()],
            repair: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::anchor::tests::page;
    use crate::extract::model::load_models;

    fn cccd() -> Model {
        load_models(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models"))
            .unwrap()
            .into_iter()
            .find(|m| m.id == "cccd")
            .unwrap()
    }

    fn card(pid: &str, sex: &str) -> PageText {
        page(&[
            "CĂN CƯỚC CÔNG DÂN",
            &format!("Số / No.: {pid}"),
            "Họ và tên / Full name:",
            "ĐINH MINH OANH",
            "Ngày sinh / Date of birth: 16/11/1972",
            &format!("Giới tính / Sex: {sex}"),
            "Quốc tịch / Nationality: Việt Nam",
            "Quê quán / Place of origin:",
            "phường Hòa Cường Bắc, quận Hải Châu",
            "Có giá trị đến: 16/11/2012",
        ])
    }

    fn field<'a>(fs: &'a [ExtractedField], name: &str) -> &'a ExtractedField {
        fs.iter().find(|f| f.name == name).unwrap()
    }

    #[test]
    fn a_consistent_card_is_proven_and_a_repair_is_recorded() {
        let fs = extract(&cccd(), &card("O72172124924", "Nữ"), 0);
        let pid = field(&fs, "pid");
        assert_eq!(pid.value.as_deref(), Some("072172124924"));
        assert_eq!(pid.validation.status, ValidationStatus::Valid);
        assert_eq!(pid.validation.repair.as_deref(), Some("O→0"));
        assert_eq!(field(&fs, "name").value.as_deref(), Some("ĐINH MINH OANH"));
        assert_eq!(
            field(&fs, "name").validation.status,
            ValidationStatus::Unchecked
        );
        assert_eq!(field(&fs, "dob").value.as_deref(), Some("1972-11-16"));
        assert_eq!(field(&fs, "dob").validation.status, ValidationStatus::Valid);
        assert_eq!(
            field(&fs, "origin").value.as_deref(),
            Some("phường Hòa Cường Bắc, quận Hải Châu")
        );
    }

    #[test]
    fn a_zone_takes_the_words_at_its_offset_from_the_label() {
        let mut m = cccd();
        let name = m.fields.iter_mut().find(|f| f.name == "name").unwrap();
        name.place = crate::extract::model::Place::Zone;
        // The row below the label, from its left edge on.
        name.zone = Some([0.0, 1.5, 40.0, 3.0]);
        let fs = extract(&m, &card("072172124924", "Nữ"), 0);
        assert_eq!(field(&fs, "name").value.as_deref(), Some("ĐINH MINH OANH"));
        name_zone_misses(&mut m);
    }

    /// A zone over nothing finds no value.
    fn name_zone_misses(m: &mut Model) {
        let name = m.fields.iter_mut().find(|f| f.name == "name").unwrap();
        name.zone = Some([0.0, 20.0, 40.0, 21.0]);
        let fs = extract(m, &card("072172124924", "Nữ"), 0);
        assert_eq!(field(&fs, "name").value, None);
    }

    #[test]
    fn an_id_that_contradicts_the_card_is_invalid() {
        // Century/sex digit 0 says male, the card says Nữ.
        let fs = extract(&cccd(), &card("072072124924", "Nữ"), 0);
        let pid = field(&fs, "pid");
        assert_eq!(pid.validation.status, ValidationStatus::Invalid);
        assert!(
            pid.validation.notes.iter().any(|n| n.contains("sex")),
            "{pid:?}"
        );
        // Born 1972 per the ID but 1973 stated: both sides are refused.
        let mut p = card("072172124924", "Nữ");
        for w in &mut p.words {
            if w.text == "16/11/1972" {
                w.text = "16/11/1973".into();
            }
        }
        let fs = extract(&cccd(), &p, 0);
        assert_eq!(
            field(&fs, "pid").validation.status,
            ValidationStatus::Invalid
        );
        assert_eq!(
            field(&fs, "dob").validation.status,
            ValidationStatus::Invalid
        );
    }

    #[test]
    fn low_confidence_is_never_valid_and_missing_required_fields_are_reported() {
        let mut p = card("072172124924", "Nữ");
        for w in &mut p.words {
            w.confidence = 40.0;
        }
        let fs = extract(&cccd(), &p, 3);
        assert!(
            fs.iter()
                .all(|f| f.validation.status != ValidationStatus::Valid)
        );
        assert!(fs.iter().all(|f| f.page == 3));
        let empty = page(&["CĂN CƯỚC CÔNG DÂN"]);
        let fs = extract(&cccd(), &empty, 0);
        let pid = field(&fs, "pid");
        assert_eq!(
            (pid.value.as_ref(), pid.validation.status),
            (None, ValidationStatus::Invalid)
        );
        assert!(
            fs.iter().all(|f| f.name != "expiry"),
            "optional fields are left out"
        );
    }
}
