//! Two readings of one value, Tesseract's words and the second reader's look at the value's
//! pixels, and which one a field reports. Agreement between the two independent readers is the
//! strongest evidence a value has; when they disagree, the field type's checks (closed lists,
//! the model's validators against the other fields) pick, and the confidence says the clerk
//! should look.

use super::vn::{Norm, Reason};

/// Which reader a reading came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    Tesseract,
    Second,
    /// Free text: both readings merged word by word (`merge.rs`).
    Merged,
}

/// One normalized reading of a value.
#[derive(Debug, Clone)]
pub struct Reading {
    pub reader: Reader,
    pub raw: String,
    pub norm: Result<Norm, Reason>,
    /// 0–100: the least confident part of the reading (Tesseract: its weakest word; the second
    /// reader: its mean character probability).
    pub confidence: f32,
    /// 0–100: the mean confidence of its parts, reported when this reader is the only one.
    pub mean: f32,
}

impl Reading {
    pub fn value(&self) -> Option<&str> {
        self.norm.as_ref().ok().map(|n| n.value.as_str())
    }

    /// Proven by its own check without a repair (a closed list entry as read).
    pub fn proven_alone(&self) -> bool {
        self.norm
            .as_ref()
            .is_ok_and(|n| n.checked && n.repair.is_none())
    }
}

/// How the readings of a field relate; decides the reported confidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agreement {
    /// Only one reader looked at the value.
    Single,
    /// Both readers gave the same normalized value.
    Agree,
    /// Only one reading normalized; the other was refused by the field type.
    OneRefused,
    /// Both normalized to different values.
    Disagree,
}

/// A field's readings, the one it reports (`chosen`) and how they relate.
#[derive(Debug, Clone)]
pub struct Candidates {
    pub readings: Vec<Reading>,
    pub chosen: usize,
    /// Set when the model's validators pass the chosen reading and fail every other: only then
    /// may a disagreement end `valid` (a validator that passes both proves nothing between them:
    /// an ID's birth-year digits say nothing of its serial).
    pub validators_decide: bool,
}

impl Candidates {
    pub fn new(tesseract: Reading, second: Option<Reading>) -> Candidates {
        let mut readings = vec![tesseract];
        readings.extend(second);
        let chosen = initial(&readings);
        Candidates {
            readings,
            chosen,
            validators_decide: false,
        }
    }

    /// Free text both readers read differently: the merged reading is reported, and it counts
    /// as a disagreement whatever it equals (the note tells both readings).
    pub fn merged(
        tess: Reading,
        second: Reading,
        norm: Result<Norm, Reason>,
        raw: String,
    ) -> Candidates {
        let merged = Reading {
            reader: Reader::Merged,
            raw,
            norm,
            confidence: tess.confidence.min(second.confidence),
            mean: tess.mean.min(second.mean),
        };
        let chosen = if merged.value().is_some() { 2 } else { 0 };
        Candidates {
            readings: vec![tess, second, merged],
            chosen,
            validators_decide: false,
        }
    }

    pub fn chosen(&self) -> &Reading {
        &self.readings[self.chosen]
    }

    pub fn agreement(&self) -> Agreement {
        match self.readings.as_slice() {
            [_] => Agreement::Single,
            [a, b] => match (a.value(), b.value()) {
                (Some(x), Some(y)) if x == y => Agreement::Agree,
                (Some(_), Some(_)) => Agreement::Disagree,
                (Some(_), None) | (None, Some(_)) => Agreement::OneRefused,
                (None, None) => Agreement::Single,
            },
            // Tesseract, the value reader and their merge: the two read differently.
            [_, _, _] => Agreement::Disagree,
            _ => Agreement::Single,
        }
    }

    /// Indices of readings with a normalized value different from the chosen one: what a
    /// validator may switch to.
    pub fn alternatives(&self) -> Vec<usize> {
        let chosen = self.chosen().value();
        (0..self.readings.len())
            .filter(|&i| i != self.chosen)
            .filter(|&i| self.readings[i].value().is_some_and(|v| Some(v) != chosen))
            .collect()
    }

    /// The reading confidence (0–100) the judge compares with the model's threshold: two
    /// readers that agree vouch for each other.
    pub fn reading_confidence(&self) -> f32 {
        match self.agreement() {
            Agreement::Agree => self
                .readings
                .iter()
                .map(|r| r.confidence)
                .fold(0.0, f32::max)
                .max(95.0),
            _ => self.chosen().confidence,
        }
    }

    /// The confidence reported (0–1), before the label match is taken into account.
    /// `proven`: a validator or the closed list vouches for the chosen value.
    pub fn confidence(&self, proven: bool) -> f32 {
        let c = self.chosen().confidence / 100.0;
        match self.agreement() {
            Agreement::Single => self.chosen().mean / 100.0,
            Agreement::Agree => 0.5 + 0.5 * self.reading_confidence() / 100.0,
            // The other reader saw something the type refuses: the chosen value is likely but
            // unconfirmed.
            Agreement::OneRefused if proven => 0.9 * c,
            Agreement::OneRefused => 0.7 * c,
            // Two readers disagree: a clerk looks whatever the checks say.
            Agreement::Disagree if proven => 0.75 * c,
            Agreement::Disagree => 0.5 * c,
        }
    }

    /// A note for the clerk when the readers did not simply agree.
    pub fn note(&self) -> Option<String> {
        let other = self
            .readings
            .iter()
            .enumerate()
            .find(|(i, _)| *i != self.chosen)?
            .1;
        let name = |r: &Reading| match r.reader {
            Reader::Tesseract => "Tesseract",
            Reader::Second => "the value reader",
            Reader::Merged => "the merge",
        };
        if let [t, s, _] = self.readings.as_slice() {
            return Some(format!(
                "Tesseract read {:?}, the value reader {:?}; merged word by word",
                t.raw.trim(),
                s.raw.trim()
            ));
        }
        match self.agreement() {
            Agreement::Agree => Some("two readers agree".into()),
            Agreement::Disagree | Agreement::OneRefused => Some(format!(
                "{} read {:?}",
                name(other),
                other.value().unwrap_or(other.raw.trim())
            )),
            // Both refused: what the other reader saw still helps the clerk.
            Agreement::Single => Some(format!("{} read {:?}", name(other), other.raw.trim())),
        }
    }
}

/// The reading a field starts from: one the type accepts; between two accepted and different
/// ones, the one its closed list proves as read, else the second reader's (it reads digits and
/// stacked diacritics of typed-in values better than Tesseract does).
fn initial(readings: &[Reading]) -> usize {
    let ok: Vec<usize> = (0..readings.len())
        .filter(|&i| readings[i].value().is_some())
        .collect();
    match ok.as_slice() {
        [] => 0,
        [one] => *one,
        many => {
            let proven: Vec<usize> = many
                .iter()
                .copied()
                .filter(|&i| readings[i].proven_alone())
                .collect();
            if let [one] = proven.as_slice() {
                return *one;
            }
            many.iter()
                .copied()
                .find(|&i| readings[i].reader == Reader::Second)
                .unwrap_or(many[0])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::fields::normalize;
    use crate::extract::model::FieldType;

    fn reading(reader: Reader, kind: FieldType, raw: &str, conf: f32) -> Reading {
        Reading {
            reader,
            raw: raw.into(),
            norm: normalize(kind, raw),
            confidence: conf,
            mean: conf,
        }
    }

    #[test]
    fn agreement_raises_confidence_and_disagreement_lowers_it() {
        let t = reading(Reader::Tesseract, FieldType::Name, "HUỲNH MAI", 90.0);
        let s = reading(Reader::Second, FieldType::Name, "Huỳnh Mai", 85.0);
        let c = Candidates::new(t.clone(), Some(s));
        assert_eq!(c.agreement(), Agreement::Agree);
        assert!(c.confidence(false) > 0.95);
        let s = reading(Reader::Second, FieldType::Name, "HUỲNH MẠI", 85.0);
        let c = Candidates::new(t.clone(), Some(s));
        assert_eq!(c.agreement(), Agreement::Disagree);
        assert_eq!(c.chosen().reader, Reader::Second);
        assert!(c.confidence(true) < 0.8 && c.confidence(false) < c.confidence(true));
        assert_eq!(c.alternatives(), vec![0]);
        let alone = Candidates::new(t, None);
        assert_eq!(alone.agreement(), Agreement::Single);
        assert!((alone.confidence(false) - 0.9).abs() < 1e-6);
    }

    #[test]
    fn a_reading_the_type_refuses_is_not_chosen() {
        let t = reading(Reader::Tesseract, FieldType::Sex, "M#", 60.0);
        let s = reading(Reader::Second, FieldType::Sex, "Nữ", 90.0);
        let c = Candidates::new(t, Some(s));
        assert_eq!(c.chosen().value(), Some("Nữ"));
        assert_eq!(c.agreement(), Agreement::OneRefused);
        // The closed list proves Tesseract's exact reading over the second reader's other one.
        let t = reading(Reader::Tesseract, FieldType::Ethnicity, "Kinh", 95.0);
        let s = reading(Reader::Second, FieldType::Ethnicity, "Kinb", 90.0);
        let c = Candidates::new(t, Some(s));
        assert_eq!(c.chosen().reader, Reader::Tesseract);
    }
}
