//! Document models: `models/<id>.toml`, one per document type. Loading checks every file and
//! every field and reports all problems together, each with its file and field.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use regex::Regex;
use serde::Deserialize;

/// What a field holds; decides its normalizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Name,
    Date,
    PersonalId,
    Sex,
    Ethnicity,
    Nationality,
    /// How the declarant is related to the person the paper is about (`Mẹ`, `Con trai`).
    Relation,
    Address,
    Year,
    Text,
}

impl FieldType {
    /// Addresses and other free text: no check can prove the whole value.
    pub fn is_free_text(self) -> bool {
        matches!(self, FieldType::Address | FieldType::Text)
    }

    /// Values of words that run on to the next row when the row ends (`Bản` / `thân`).
    pub fn wraps(self) -> bool {
        self.is_free_text() || self == FieldType::Relation
    }

    fn parse(s: &str) -> Option<FieldType> {
        Some(match s {
            "name" => FieldType::Name,
            "date" => FieldType::Date,
            "personal_id" => FieldType::PersonalId,
            "sex" => FieldType::Sex,
            "ethnicity" => FieldType::Ethnicity,
            "nationality" => FieldType::Nationality,
            "relation" => FieldType::Relation,
            "address" => FieldType::Address,
            "year" => FieldType::Year,
            "text" => FieldType::Text,
            _ => return None,
        })
    }
}

/// Where the value sits relative to its label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Rest of the label's row, right of the label.
    SameLine,
    /// The row below the label.
    NextLine,
    /// Rest of the row, or the row below when the rest is empty.
    SameOrNext,
    /// No label: the last row of the page matching `pattern`.
    Page,
    /// Words whose centre lies in `zone`, a box relative to the label (see [`FieldSpec::zone`]).
    Zone,
}

impl Place {
    fn parse(s: &str) -> Option<Place> {
        Some(match s {
            "same_line" => Place::SameLine,
            "next_line" => Place::NextLine,
            "same_or_next" => Place::SameOrNext,
            "page" => Place::Page,
            "zone" => Place::Zone,
            _ => return None,
        })
    }
}

/// Checks between fields of one page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Validator {
    /// The personal ID's century digit and year match this date or year field.
    PidBirth(String),
    /// The personal ID's sex digit matches this sex field.
    PidSex(String),
    /// The personal ID's sex digit is this sex ("Nam" or "Nữ").
    PidSexIs(String),
    /// This date or year has the birth year the ID field encodes.
    BirthYearOfPid(String),
    /// Day and month equal those of this date field (a CCCD expires on the holder's birthday).
    SameDayMonth(String),
    /// The same value as one of these fields (two readings of one fact). A mismatch leaves the
    /// field unproven, not wrong: a requester need not be a parent.
    EqualsAny(Vec<String>),
}

impl Validator {
    /// `name(arg, …)`.
    fn parse(s: &str) -> Result<Validator, String> {
        let s = s.trim();
        let (name, args) = s
            .strip_suffix(')')
            .and_then(|x| x.split_once('('))
            .ok_or_else(|| format!("validator {s:?} is not written name(arg, …)"))?;
        let args: Vec<String> = args
            .split(',')
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty())
            .collect();
        let one = |args: &[String]| match args {
            [a] => Ok(a.clone()),
            _ => Err(format!("validator {name} takes one argument")),
        };
        Ok(match name.trim() {
            "pid_birth" => Validator::PidBirth(one(&args)?),
            "pid_sex" => Validator::PidSex(one(&args)?),
            "pid_sex_is" => {
                let v = one(&args)?;
                if v != "Nam" && v != "Nữ" {
                    return Err(format!("pid_sex_is takes Nam or Nữ, not {v:?}"));
                }
                Validator::PidSexIs(v)
            }
            "birth_year_of_pid" => Validator::BirthYearOfPid(one(&args)?),
            "same_day_month" => Validator::SameDayMonth(one(&args)?),
            "equals_any" if !args.is_empty() => Validator::EqualsAny(args),
            "equals_any" => return Err("equals_any needs at least one field".into()),
            other => return Err(format!("unknown validator {other:?}")),
        })
    }

    /// Fields the validator reads.
    pub fn refs(&self) -> Vec<&str> {
        match self {
            Validator::PidBirth(f)
            | Validator::PidSex(f)
            | Validator::BirthYearOfPid(f)
            | Validator::SameDayMonth(f) => vec![f.as_str()],
            Validator::PidSexIs(_) => vec![],
            Validator::EqualsAny(fs) => fs.iter().map(String::as_str).collect(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    id: String,
    #[serde(default)]
    title: String,
    /// Lowest OCR word confidence (0–100) a value may have to be reported valid.
    #[serde(default = "default_min_valid_confidence")]
    min_valid_confidence: f32,
    /// Below this OCR confidence (0–100) the review screen shows a value as doubtful and sends
    /// the clerk to it; a field may set its own. Default: `min_valid_confidence`.
    review_confidence: Option<f32>,
    classify: RawClassify,
    /// Sentences printed on the form that are never part of a value (`Tôi cam đoan …`): a value
    /// stops before them and a wrapped value does not run on into them.
    #[serde(default)]
    printed: Vec<String>,
    #[serde(default, rename = "field")]
    fields: Vec<RawField>,
}

fn default_min_valid_confidence() -> f32 {
    80.0
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClassify {
    keywords: Vec<String>,
    /// Phrases of other forms that share this one's labels (the joint birth, residence and
    /// health-insurance form shares every label of the birth declaration): a page carrying
    /// any of them is not this model.
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default = "default_min_score")]
    min_score: f32,
}

fn default_min_score() -> f32 {
    0.5
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    anchors: Vec<String>,
    #[serde(default = "default_place")]
    value: String,
    after: Option<String>,
    /// Fields defined above whose labels end this one's search below `after`: where the form
    /// may print its sections in either order (the father's before the mother's), a label
    /// missing from its own section is not taken from the next.
    #[serde(default)]
    before: Vec<String>,
    pattern: Option<String>,
    /// value = "page": a looser pattern for the row when `pattern` matches none (the figures
    /// misread), so the second reader still gets to read it.
    row: Option<String>,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    validators: Vec<String>,
    zone: Option<[f32; 4]>,
    /// This field's bar for the review screen (0–100), instead of the model's.
    review_confidence: Option<f32>,
    /// Whether the value reader reads this value a second time (default: yes). Free text
    /// (`address`, `text`) is read twice only with a syllable lexicon to merge the readings by
    /// (`extract.lexicon`), since no check of the whole value can tell the better one.
    second_reading: Option<bool>,
}

fn default_place() -> String {
    "same_line".into()
}

#[derive(Debug, Clone)]
pub struct Model {
    pub id: String,
    pub title: String,
    pub min_valid_confidence: f32,
    pub keywords: Vec<String>,
    pub exclude: Vec<String>,
    pub min_score: f32,
    pub printed: Vec<String>,
    pub fields: Vec<FieldSpec>,
}

#[derive(Debug, Clone)]
pub struct FieldSpec {
    pub name: String,
    pub kind: FieldType,
    pub anchors: Vec<String>,
    pub place: Place,
    /// Name of an earlier field whose label this one's must lie below (repeated labels such as
    /// "Dân tộc:" belong to the section they follow).
    pub after: Option<String>,
    /// Fields whose labels, found below this one's section start, end its search.
    pub before: Vec<String>,
    pub pattern: Option<Regex>,
    pub row_pattern: Option<Regex>,
    pub required: bool,
    pub validators: Vec<Validator>,
    /// For `value = "zone"`: `[left, top, right, bottom]` in label heights, from the label's
    /// left edge and top (a card's photo column shifts values; their offset from labels holds).
    pub zone: Option<[f32; 4]>,
    /// Below this OCR confidence (0–100) the review screen shows the value as doubtful.
    pub review_confidence: f32,
    /// Read a second time by the value reader, when one is installed.
    pub second_reading: bool,
}

/// One problem in one model file.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelError {
    pub file: PathBuf,
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(
                f,
                "{}: field {field}: {}",
                self.file.display(),
                self.message
            ),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// Every `*.toml` in `dir`, sorted by name; unreadable directories are an error of their own.
pub fn toml_files(dir: &Path) -> Result<Vec<PathBuf>, ModelError> {
    let entries = std::fs::read_dir(dir).map_err(|e| ModelError {
        file: dir.to_path_buf(),
        field: None,
        message: format!("cannot read directory: {e}"),
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

/// Loads every model in `dir`; all errors of all files, or the models.
pub fn load_models(dir: &Path) -> Result<Vec<Model>, Vec<ModelError>> {
    let files = toml_files(dir).map_err(|e| vec![e])?;
    let mut models = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        match load_model(&file) {
            Ok(m) => models.push(m),
            Err(mut e) => errors.append(&mut e),
        }
    }
    let mut ids = HashSet::new();
    for m in &models {
        if !ids.insert(m.id.clone()) {
            errors.push(ModelError {
                file: dir.to_path_buf(),
                field: None,
                message: format!("model id {:?} is used by more than one file", m.id),
            });
        }
    }
    if models.is_empty() && errors.is_empty() {
        errors.push(ModelError {
            file: dir.to_path_buf(),
            field: None,
            message: "no model files (*.toml)".into(),
        });
    }
    if errors.is_empty() {
        Ok(models)
    } else {
        Err(errors)
    }
}

pub fn load_model(file: &Path) -> Result<Model, Vec<ModelError>> {
    let err = |field: Option<&str>, message: String| ModelError {
        file: file.to_path_buf(),
        field: field.map(str::to_string),
        message,
    };
    let text =
        std::fs::read_to_string(file).map_err(|e| vec![err(None, format!("cannot read: {e}"))])?;
    let raw: RawModel =
        toml::from_str(&text).map_err(|e| vec![err(None, format!("invalid TOML: {e}"))])?;
    let mut errors = Vec::new();
    if raw.id.trim().is_empty() {
        errors.push(err(None, "id is empty".into()));
    }
    if raw.classify.keywords.iter().all(|k| k.trim().is_empty()) {
        errors.push(err(None, "classify.keywords is empty".into()));
    }
    if !(0.0..=1.0).contains(&raw.classify.min_score) {
        errors.push(err(None, "classify.min_score must be within 0–1".into()));
    }
    if raw.fields.is_empty() {
        errors.push(err(None, "no [[field]]".into()));
    }
    let percent = |v: f32| (0.0..=100.0).contains(&v);
    if !percent(raw.min_valid_confidence) {
        errors.push(err(
            None,
            "min_valid_confidence must be within 0–100".into(),
        ));
    }
    let review_default = raw.review_confidence.unwrap_or(raw.min_valid_confidence);
    if !percent(review_default) {
        errors.push(err(None, "review_confidence must be within 0–100".into()));
    }
    let mut seen: Vec<&str> = Vec::new();
    let all: HashSet<&str> = raw.fields.iter().map(|f| f.name.as_str()).collect();
    let mut fields = Vec::new();
    for f in &raw.fields {
        let name = f.name.as_str();
        let mut ferr = |m: String| errors.push(err(Some(name), m));
        if name.trim().is_empty() {
            ferr("name is empty".into());
        }
        if seen.contains(&name) {
            ferr("defined twice".into());
        }
        let kind = FieldType::parse(&f.kind);
        if kind.is_none() {
            ferr(format!(
                "unknown type {:?} (name, date, personal_id, sex, ethnicity, nationality, relation, address, year, text)",
                f.kind
            ));
        }
        let place = Place::parse(&f.value);
        if place.is_none() {
            ferr(format!(
                "unknown value place {:?} (same_line, next_line, same_or_next, page, zone)",
                f.value
            ));
        }
        let anchors: Vec<String> = f
            .anchors
            .iter()
            .filter(|a| !crate::extract::fold::fold(a).is_empty())
            .cloned()
            .collect();
        if place != Some(Place::Page) && anchors.is_empty() {
            ferr("no anchors: a label to find the value by is required".into());
        }
        let pattern = match f.pattern.as_deref().map(Regex::new) {
            Some(Ok(r)) => Some(r),
            Some(Err(e)) => {
                ferr(format!("invalid pattern: {e}"));
                None
            }
            None => None,
        };
        let row_pattern = match f.row.as_deref().map(Regex::new) {
            Some(Ok(r)) => Some(r),
            Some(Err(e)) => {
                ferr(format!("invalid row pattern: {e}"));
                None
            }
            None => None,
        };
        if f.row.is_some() && place != Some(Place::Page) {
            ferr("row is only used with value = \"page\"".into());
        }
        if place == Some(Place::Page) && f.pattern.is_none() {
            ferr("value = \"page\" needs a pattern".into());
        }
        match (place, f.zone) {
            (Some(Place::Zone), None) => {
                ferr("value = \"zone\" needs zone = [left, top, right, bottom]".into())
            }
            (Some(Place::Zone), Some([l, t, r, b])) if !(r > l && b > t) => {
                ferr("zone must have right > left and bottom > top".into())
            }
            (Some(p), Some(_)) if p != Place::Zone => {
                ferr("zone is only used with value = \"zone\"".into())
            }
            _ => {}
        }
        if let Some(a) = &f.after
            && !seen.contains(&a.as_str())
        {
            ferr(format!("after = {a:?} is not a field defined above"));
        }
        for b in &f.before {
            if !seen.contains(&b.as_str()) {
                ferr(format!("before = {b:?} is not a field defined above"));
            }
        }
        if f.review_confidence.is_some_and(|v| !percent(v)) {
            ferr("review_confidence must be within 0–100".into());
        }
        let mut validators = Vec::new();
        for v in &f.validators {
            match Validator::parse(v) {
                Ok(v) => {
                    for r in v.refs() {
                        if !all.contains(r) {
                            ferr(format!("validator refers to unknown field {r:?}"));
                        }
                    }
                    validators.push(v);
                }
                Err(e) => ferr(e),
            }
        }
        seen.push(name);
        if let (Some(kind), Some(place)) = (kind, place) {
            fields.push(FieldSpec {
                name: name.to_string(),
                kind,
                anchors,
                place,
                after: f.after.clone(),
                before: f.before.clone(),
                pattern,
                row_pattern,
                required: f.required,
                validators,
                zone: f.zone,
                review_confidence: f.review_confidence.unwrap_or(review_default),
                second_reading: f.second_reading.unwrap_or(true),
            });
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Model {
        id: raw.id,
        title: raw.title,
        min_valid_confidence: raw.min_valid_confidence,
        keywords: raw.classify.keywords,
        exclude: raw.classify.exclude,
        min_score: raw.classify.min_score,
        printed: raw.printed,
        fields,
    })
}

/// The models shipped in `models/`, for tests; `id` picks one.
#[cfg(test)]
pub(crate) fn shipped(id: &str) -> Model {
    shipped_models()
        .into_iter()
        .find(|m| m.id == id)
        .unwrap_or_else(|| panic!("no shipped model {id}"))
}

#[cfg(test)]
pub(crate) fn shipped_models() -> Vec<Model> {
    load_models(&Path::new(env!("CARGO_MANIFEST_DIR")).join("models")).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    const GOOD: &str = r#"
id = "card"
[classify]
keywords = ["căn cước"]
[[field]]
name = "pid"
type = "personal_id"
anchors = ["Số:"]
validators = ["pid_birth(dob)"]
[[field]]
name = "dob"
type = "date"
anchors = ["Ngày sinh:"]
review_confidence = 92
"#;

    #[test]
    fn loads_a_good_model() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "card.toml", GOOD);
        let models = load_models(dir.path()).unwrap();
        assert_eq!(models[0].id, "card");
        assert_eq!(
            models[0].fields[0].validators,
            vec![Validator::PidBirth("dob".into())]
        );
        assert_eq!(models[0].fields[1].place, Place::SameLine);
        // The review bar defaults to the model's validity bar; a field may set its own.
        assert_eq!(models[0].fields[0].review_confidence, 80.0);
        assert_eq!(models[0].fields[1].review_confidence, 92.0);
    }

    #[test]
    fn reports_every_error_of_every_file() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a_broken.toml", "id = \"x\"\n[classify\n");
        write(
            dir.path(),
            "b_fields.toml",
            r#"
id = "b"
[classify]
keywords = ["x"]
[[field]]
name = "one"
type = "colour"
anchors = ["One:"]
[[field]]
name = "two"
type = "date"
after = "three"
validators = ["pid_birth(nowhere)", "frobnicate(one)"]
[[field]]
name = "three"
type = "text"
value = "page"
pattern = "("
"#,
        );
        write(
            dir.path(),
            "d_confidence.toml",
            "id = \"d\"\nreview_confidence = 120\n[classify]\nkeywords=[\"x\"]\n\
             [[field]]\nname = \"n\"\ntype = \"name\"\nanchors = [\"N:\"]\nreview_confidence = -1\n",
        );
        write(
            dir.path(),
            "c_unknown_key.toml",
            "id = \"c\"\ncolour = 1\n[classify]\nkeywords=[\"x\"]\n",
        );
        write(dir.path(), "notes.txt", "ignored");
        let errors = load_models(dir.path()).unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        let has = |file: &str, field: Option<&str>, what: &str| {
            assert!(
                errors.iter().any(|e| e.file.ends_with(file)
                    && e.field.as_deref() == field
                    && e.message.contains(what)),
                "missing {file} {field:?} {what:?} in {text:#?}"
            );
        };
        has("a_broken.toml", None, "invalid TOML");
        has("b_fields.toml", Some("one"), "unknown type \"colour\"");
        has("b_fields.toml", Some("two"), "no anchors");
        has("b_fields.toml", Some("two"), "after = \"three\"");
        has("b_fields.toml", Some("two"), "unknown field \"nowhere\"");
        has(
            "b_fields.toml",
            Some("two"),
            "unknown validator \"frobnicate\"",
        );
        has("b_fields.toml", Some("three"), "invalid pattern");
        has("c_unknown_key.toml", None, "colour");
        has(
            "d_confidence.toml",
            None,
            "review_confidence must be within 0–100",
        );
        has(
            "d_confidence.toml",
            Some("n"),
            "review_confidence must be within 0–100",
        );
        assert_eq!(errors.len(), 10, "{text:#?}");
    }

    #[test]
    fn duplicate_ids_and_empty_dirs_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            load_models(dir.path()).unwrap_err()[0]
                .message
                .contains("no model files")
        );
        write(dir.path(), "a.toml", GOOD);
        write(dir.path(), "b.toml", GOOD);
        assert!(
            load_models(dir.path()).unwrap_err()[0]
                .message
                .contains("more than one file")
        );
        assert!(load_models(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn zones_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let base = "id = \"z\"\n[classify]\nkeywords = [\"k\"]\n[[field]]\nname = \"a\"\ntype = \"text\"\nanchors = [\"A:\"]\n";
        write(
            dir.path(),
            "z.toml",
            &format!("{base}value = \"zone\"\nzone = [0, 1, 20, 2]\n"),
        );
        assert_eq!(
            load_models(dir.path()).unwrap()[0].fields[0].zone,
            Some([0.0, 1.0, 20.0, 2.0])
        );
        for (extra, want) in [
            ("value = \"zone\"\n", "needs zone"),
            ("value = \"zone\"\nzone = [5, 1, 2, 2]\n", "right > left"),
            ("zone = [0, 1, 20, 2]\n", "only used with"),
        ] {
            write(dir.path(), "z.toml", &format!("{base}{extra}"));
            let e = load_models(dir.path()).unwrap_err();
            assert!(e[0].message.contains(want), "{extra}: {e:?}");
        }
    }

    #[test]
    fn validator_syntax() {
        assert!(Validator::parse("pid_sex_is(Nữ)").is_ok());
        assert!(Validator::parse("pid_sex_is(X)").is_err());
        assert!(Validator::parse("pid_birth").is_err());
        assert!(Validator::parse("pid_birth(a, b)").is_err());
        assert_eq!(
            Validator::parse("equals_any(a, b)").unwrap(),
            Validator::EqualsAny(vec!["a".into(), "b".into()])
        );
    }
}
