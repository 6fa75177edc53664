//! From located values to reported fields: the type's normalizer, then the model's validators
//! between fields, then the validation status.

use std::collections::HashMap;

use super::SecondReader;
use super::anchor::{PageText, union};
use super::choose::{Agreement, Candidates, Reader, Reading};
use super::fold::fold;
use super::locate::{Located, locate};
use super::merge::{Lexicon, could_mend, merge_text};
use super::model::{FieldSpec, FieldType, Model, Place, Validator};
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
        FieldType::Relation => vn::relation(raw),
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

/// Confidence factor of a value nothing confirmed (one reader, no check), and of one its type
/// or a check refused.
const UNCONFIRMED: f32 = 0.75;
const REFUSED: f32 = 0.3;

/// Extracts every field of `model` from one page, from Tesseract's words alone.
pub fn extract(model: &Model, page: &PageText, page_index: usize) -> Vec<ExtractedField> {
    extract_with(model, page, page_index, None, None)
}

/// Extracts every field of `model` from one page; `second` reads value fields a second time;
/// free text read twice is merged by `lexicon`'s syllables (without one it is read once).
pub fn extract_with(
    model: &Model,
    page: &PageText,
    page_index: usize,
    second: Option<&dyn SecondReader>,
    lexicon: Option<&Lexicon>,
) -> Vec<ExtractedField> {
    let mut found: HashMap<&str, Located> = HashMap::new();
    let mut cands: HashMap<&str, Candidates> = HashMap::new();
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
        // A page-wide value (the date of signing) is looked for below every label found first.
        let below = if spec.place == Place::Page {
            found.values().map(|l| l.label_y).max_by(f32::total_cmp)
        } else {
            below
        };
        let rivals = rivals(model, spec);
        let above = spec
            .before
            .iter()
            .filter_map(|b| found.get(b.as_str()))
            .map(|l| l.label_y)
            .filter(|&y| below.is_none_or(|b| y > b))
            .min_by(f32::total_cmp);
        if let Some(loc) = locate(page, spec, &rivals, below, above) {
            let tess = Reading {
                reader: Reader::Tesseract,
                raw: loc.raw.clone(),
                norm: normalize(spec.kind, &loc.raw),
                confidence: if loc.words.is_empty() {
                    0.0
                } else {
                    loc.confidences(page).fold(100.0, f32::min)
                },
                mean: {
                    let cs: Vec<f32> = loc.confidences(page).collect();
                    cs.iter().sum::<f32>() / cs.len().max(1) as f32
                },
            };
            cands.insert(&spec.name, Candidates::new(tess, None));
            found.insert(&spec.name, loc);
        }
    }
    let by_name: HashMap<&str, &FieldSpec> =
        model.fields.iter().map(|f| (f.name.as_str(), f)).collect();
    if let Some(reader) = second {
        read_again(model, page, &found, &mut cands, &by_name, reader, lexicon);
    }
    settle_by_validators(&mut cands, &by_name);
    let good = chosen_values(&cands, &by_name);

    let mut out = Vec::new();
    for spec in &model.fields {
        let (Some(loc), Some(c)) = (found.get(spec.name.as_str()), cands.get(spec.name.as_str()))
        else {
            if spec.required {
                out.push(missing(spec, page_index));
            }
            continue;
        };
        let chosen = c.chosen();
        let (value, mut validation) = match &chosen.norm {
            Err(reason) => (
                (!chosen.raw.trim().is_empty()).then(|| vn::tidy(&chosen.raw)),
                Validation {
                    status: ValidationStatus::Invalid,
                    notes: vec![reason.clone()],
                    repair: None,
                },
            ),
            Ok(n) => (
                Some(n.value.clone()),
                judge(spec, n, &chosen.raw, c, &good, model.min_valid_confidence),
            ),
        };
        let proven = validation.status == ValidationStatus::Valid;
        validation.notes.extend(c.note());
        let mut confidence = (c.confidence(proven) * loc.label_similarity as f32).clamp(0.0, 1.0);
        // Calibrated on our generated forms (BENCHMARKS.md): proven values and values two readers
        // agree on (but free text) are right; what one reader alone read, unproven, is right about two
        // times in three, however sure Tesseract is, so it stays below the review bar; refused
        // values lower still.
        match validation.status {
            ValidationStatus::Valid => {}
            // Free text: two readers of the same crop share its failures (a wrapped line
            // neither saw), so their agreement does not show the value is whole.
            ValidationStatus::Unchecked
                if c.agreement() == Agreement::Agree && !spec.kind.is_free_text() => {}
            ValidationStatus::Unchecked => confidence *= UNCONFIRMED,
            ValidationStatus::Invalid => confidence *= REFUSED,
        }
        let bbox = loc.bbox(page).or_else(|| {
            (chosen.reader == Reader::Second).then(|| union(loc.regions.iter().copied()))
        });
        out.push(ExtractedField {
            name: spec.name.clone(),
            value,
            raw: chosen.raw.clone(),
            confidence,
            page: page_index,
            bbox,
            source: FieldSource::Ocr,
            validation,
        });
    }
    out
}

/// Unit names in the free text of `fields` (addresses, places) corrected by the official list;
/// the value stays unconfirmed, and a note per name says what was changed.
pub fn correct_places(model: &Model, fields: &mut [ExtractedField], places: &vn::places::Places) {
    for f in fields.iter_mut() {
        let free = model
            .fields
            .iter()
            .any(|s| s.name == f.name && s.kind.is_free_text());
        let Some(value) = f.value.as_deref().filter(|_| free) else {
            continue;
        };
        if let Some((fixed, notes)) = places.correct(value) {
            f.value = Some(fixed);
            // A comma put back or a stray mark dropped is formatting, not a correction.
            if notes.is_empty() {
                continue;
            }
            let note = notes.join("; ");
            f.validation.notes.extend(notes);
            f.validation.repair = Some(match f.validation.repair.take() {
                Some(r) => format!("{r}; {note}"),
                None => note,
            });
        }
    }
}

/// The labels of `model` that are not `spec`'s own: a line matching one of them better belongs
/// to that field.
pub(crate) fn rivals(model: &Model, spec: &FieldSpec) -> Vec<String> {
    let own: Vec<String> = spec.anchors.iter().map(|a| fold(a)).collect();
    model
        .fields
        .iter()
        .flat_map(|f| f.anchors.iter())
        .filter(|a| !own.contains(&fold(a)))
        .chain(&model.printed)
        .cloned()
        .collect()
}

/// The second reading, where it can change the outcome: not where a check of the whole value
/// already proves Tesseract's reading `valid` (a closed-list entry as read, a year its ID
/// confirms, a date its in-words reading repeats), since a second reading could then only
/// agree or lose to it. Saves the reader's time on `Kinh`, `Việt Nam`, `Nam`.
fn read_again<'a>(
    model: &Model,
    page: &PageText,
    found: &HashMap<&str, Located>,
    cands: &mut HashMap<&'a str, Candidates>,
    specs: &HashMap<&str, &FieldSpec>,
    reader: &dyn SecondReader,
    lexicon: Option<&Lexicon>,
) {
    let good = chosen_values(cands, specs);
    let names: Vec<&'a str> = cands.keys().copied().collect();
    for name in names {
        let (spec, loc) = (specs[name], &found[name]);
        let free = spec.kind.is_free_text();
        if !spec.second_reading || loc.regions.is_empty() || (free && lexicon.is_none()) {
            continue;
        }
        let c = &cands[name];
        let tess = c.chosen();
        // Only a check of the whole value counts: an ID's birth-year and sex digits say nothing
        // of its serial (Tesseract alone once had an ID `valid` with one serial digit wrong).
        let proven = tess.norm.as_ref().is_ok_and(|n| {
            let whole = spec.kind == FieldType::Year
                || spec.validators.iter().any(|v| {
                    matches!(v, Validator::EqualsAny(_))
                        && matches!(run(v, spec, &n.value, &good), Outcome::Pass(_))
                });
            settled(tess, model)
                || (whole
                    && judge(spec, n, &tess.raw, c, &good, model.min_valid_confidence).status
                        == ValidationStatus::Valid)
        });
        if proven {
            continue;
        }
        // Free text whose every word is a syllable or a number, with no ink left unread
        // beside its words: the merge would keep Tesseract's words as they are, so the second
        // reading could change nothing (it is not used for free text's confidence either).
        let sound = free
            && lexicon.is_some_and(|lex| tess.value().is_some_and(|v| !could_mend(v, lex)))
            && !reader.unread_ink(
                &loc.regions,
                &loc.words
                    .iter()
                    .map(|&i| page.words[i].bbox)
                    .collect::<Vec<_>>(),
            );
        if sound {
            continue;
        }
        let again = reader.read(&loc.regions).map(|r| Reading {
            reader: Reader::Second,
            norm: normalize(spec.kind, &r.text),
            raw: r.text,
            confidence: r.confidence,
            mean: r.confidence,
        });
        let tess = c.readings[0].clone();
        // Free text: the two readings merged word by word (both normalized first, so leader
        // dots are gone); a reading the merge changed is still a disagreement to review.
        let merged = match (lexicon, &again) {
            (Some(lex), Some(second)) if free => match (tess.value(), second.value()) {
                (Some(a), Some(b)) if a != b => {
                    let text = merge_text(a, b, lex);
                    let norm = normalize(spec.kind, &text);
                    Some(Candidates::merged(tess.clone(), second.clone(), norm, text))
                }
                _ => None,
            },
            _ => None,
        };
        cands.insert(name, merged.unwrap_or_else(|| Candidates::new(tess, again)));
    }
}

/// A value whose closed list proves Tesseract's reading as it stands, read confidently: a
/// second reading could only agree.
fn settled(tess: &Reading, model: &Model) -> bool {
    tess.proven_alone() && tess.confidence >= model.min_valid_confidence
}

fn chosen_values<'a>(
    cands: &HashMap<&'a str, Candidates>,
    specs: &HashMap<&str, &FieldSpec>,
) -> HashMap<&'a str, (FieldType, String)> {
    cands
        .iter()
        .filter_map(|(name, c)| {
            let v = c.chosen().value()?;
            Some((*name, (specs[name].kind, v.to_string())))
        })
        .collect()
}

/// Where two readers disagree, the model's validators against the other fields choose: a
/// reading that fails a check gives way to one that passes. A few rounds, since fields vouch
/// for each other (an ID and a birth year).
fn settle_by_validators(cands: &mut HashMap<&str, Candidates>, specs: &HashMap<&str, &FieldSpec>) {
    // (score, failed any) of reading `i` of field `name` against the others' chosen values.
    fn score(
        c: &Candidates,
        i: usize,
        spec: &FieldSpec,
        others: &HashMap<&str, (FieldType, String)>,
    ) -> (i32, bool) {
        let Some(v) = c.readings[i].value() else {
            return (i32::MIN, true);
        };
        let mut failed = false;
        let s = spec
            .validators
            .iter()
            .map(|val| match run(val, spec, v, others) {
                Outcome::Pass(_) => 1,
                Outcome::Fail(_) => {
                    failed = true;
                    -2
                }
                Outcome::Unknown(_) => 0,
            })
            .sum();
        (s, failed)
    }
    let contested: Vec<&str> = cands
        .iter()
        .filter(|(n, c)| !c.alternatives().is_empty() && !specs[*n].validators.is_empty())
        .map(|(n, _)| *n)
        .collect();
    for _ in 0..3 {
        let mut changed = false;
        for &name in &contested {
            let spec = specs[name];
            let others = chosen_values(cands, specs);
            let c = &cands[name];
            let current = score(c, c.chosen, spec, &others).0;
            if let Some(better) = c
                .alternatives()
                .into_iter()
                .map(|i| (i, score(c, i, spec, &others).0))
                .filter(|&(_, s)| s > current)
                .max_by_key(|&(_, s)| s)
                .map(|(i, _)| i)
            {
                cands.get_mut(name).expect("present").chosen = better;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let others = chosen_values(cands, specs);
    for &name in &contested {
        let spec = specs[name];
        let c = &cands[name];
        let (s, failed) = score(c, c.chosen, spec, &others);
        let decide = !failed
            && s > 0
            && c.alternatives()
                .into_iter()
                .all(|i| score(c, i, spec, &others).1);
        cands.get_mut(name).expect("present").validators_decide = decide;
    }
}

/// Valid only when something proves the value (closed list or a validator) and nothing
/// contradicts it, and every word of it was read confidently.
fn judge(
    spec: &FieldSpec,
    n: &Norm,
    raw: &str,
    cands: &Candidates,
    others: &HashMap<&str, (FieldType, String)>,
    min_valid_confidence: f32,
) -> Validation {
    let min_conf = cands.reading_confidence();
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
    // A repair of more than one character of an ID is a guess, whatever it then passes.
    if spec.kind == FieldType::PersonalId && vn::repaired_chars(raw, &n.value) > 1 {
        unknown.push("more than one digit of the ID was repaired".into());
    }
    // Two readers that disagree leave the value to the clerk unless the validators tell them
    // apart; the closed list alone does not (both readings may be list entries).
    if cands.agreement() == Agreement::Disagree && !cands.validators_decide {
        unknown.push("the two readers disagree".into());
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
    use crate::extract::model::shipped;

    fn cccd() -> Model {
        shipped("cccd")
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

    /// A second reader that reads `text` on page row `row` (rows are 40 px apart) and nothing
    /// elsewhere.
    struct RowReader(Vec<(u32, &'static str)>);

    impl SecondReader for RowReader {
        fn read(&self, regions: &[crate::domain::BBox]) -> Option<crate::extract::SecondReading> {
            let y = (regions.first()?.y0 + regions[0].y1) / 2;
            self.0.iter().find(|(row, _)| y / 40 == *row).map(|(_, t)| {
                crate::extract::SecondReading {
                    text: t.to_string(),
                    confidence: 90.0,
                }
            })
        }
    }

    #[test]
    fn validators_pick_between_two_readers_and_only_then_prove() {
        // Tesseract reads the ID right; the second reader's sex digit contradicts "Nữ".
        let reader = RowReader(vec![(1, "072072124924")]);
        let fs = extract_with(&cccd(), &card("072172124924", "Nữ"), 0, Some(&reader), None);
        let pid = field(&fs, "pid");
        assert_eq!(pid.value.as_deref(), Some("072172124924"));
        assert_eq!(pid.validation.status, ValidationStatus::Valid, "{pid:?}");
        assert!(
            pid.confidence < 0.8,
            "a disagreement goes to the clerk: {pid:?}"
        );
        // Both readings pass every check (they differ in the serial): nothing proves either.
        let reader = RowReader(vec![(1, "072172124929")]);
        let fs = extract_with(&cccd(), &card("072172124924", "Nữ"), 0, Some(&reader), None);
        let pid = field(&fs, "pid");
        assert_eq!(
            pid.validation.status,
            ValidationStatus::Unchecked,
            "{pid:?}"
        );
        assert!(pid.confidence < 0.5);
        // Agreement: the same value, with more confidence than either reader alone.
        let reader = RowReader(vec![(1, "072172124924"), (3, "Đinh Minh Oanh")]);
        let fs = extract_with(&cccd(), &card("072172124924", "Nữ"), 0, Some(&reader), None);
        let alone = extract(&cccd(), &card("072172124924", "Nữ"), 0);
        for name in ["pid", "name"] {
            let (two, one) = (field(&fs, name), field(&alone, name));
            assert_eq!(two.value, one.value);
            assert!(two.confidence > one.confidence.max(0.97), "{two:?}");
        }
        assert_eq!(
            field(&fs, "name").validation.status,
            ValidationStatus::Unchecked
        );
    }

    #[test]
    fn a_reading_the_type_refuses_gives_way_to_the_other() {
        let reader = RowReader(vec![(5, "Nữ")]);
        let fs = extract_with(&cccd(), &card("072172124924", "M#"), 0, Some(&reader), None);
        let sex = field(&fs, "sex");
        assert_eq!(sex.value.as_deref(), Some("Nữ"));
        assert!(
            sex.validation
                .notes
                .iter()
                .any(|n| n.contains("Tesseract read"))
        );
    }

    #[test]
    fn an_id_repaired_in_more_than_one_place_is_never_valid() {
        let fs = extract(&cccd(), &card("O72I72124924", "Nữ"), 0);
        let pid = field(&fs, "pid");
        assert_eq!(pid.value.as_deref(), Some("072172124924"));
        assert_eq!(
            pid.validation.status,
            ValidationStatus::Unchecked,
            "{pid:?}"
        );
        assert_eq!(vn::repaired_chars("O72I72124924", "072172124924"), 2);
        assert_eq!(vn::repaired_chars("072 172 124 924", "072172124924"), 0);
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
