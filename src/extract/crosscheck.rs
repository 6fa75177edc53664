//! Checks between the documents of one dossier, as its procedure pipeline declares them: the
//! registrant's CCCD is in the dossier, the names on it and on the declaration agree, every
//! required attachment is there. Disagreements become review flags; nothing is changed.

use serde::{Deserialize, Serialize};

use crate::domain::ExtractedField;
use crate::procedure::{Procedure, split_ref};

/// One classified page of the dossier with its fields.
#[derive(Debug, Clone)]
pub struct DocFields {
    pub attachment: i64,
    pub page: usize,
    pub model: String,
    pub fields: Vec<ExtractedField>,
}

impl DocFields {
    fn value(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.name == field)
            .and_then(|f| f.value.as_deref())
    }
}

/// A field a flag is about: its attachment, page (0-based) and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlagField {
    pub attachment: i64,
    pub page: usize,
    pub name: String,
}

impl FlagField {
    fn of(d: &DocFields, name: &str) -> Self {
        FlagField {
            attachment: d.attachment,
            page: d.page,
            name: name.to_string(),
        }
    }
}

/// Something a clerk must look at. Its identity (what a dismissal names) is `code`, `check`
/// and `message`; `fields` only says where the screen shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewFlag {
    /// `missing_attachment`, `no_matching_document` or `mismatch`.
    pub code: String,
    /// The pipeline check or expected attachment that raised it.
    pub check: String,
    pub message: String,
    /// The fields involved: both sides of a mismatch, the linking field of a missing match.
    #[serde(default)]
    pub fields: Vec<FlagField>,
}

/// Equal values; a year also equals a date in that year (birth year on a declaration, birth date
/// on a CCCD).
fn year(s: &str) -> Option<&str> {
    s.get(..4).filter(|y| y.chars().all(|c| c.is_ascii_digit()))
}

fn same(a: &str, b: &str) -> bool {
    a == b || ((a.len() == 4 || b.len() == 4) && year(a).is_some() && year(a) == year(b))
}

pub fn check(procedure: &Procedure, docs: &[DocFields]) -> Vec<ReviewFlag> {
    let mut flags = Vec::new();
    for a in &procedure.attachments {
        if a.required && !docs.iter().any(|d| d.model == a.model) {
            flags.push(ReviewFlag {
                code: "missing_attachment".into(),
                check: a.name.clone(),
                message: format!("no page of the dossier is a {}", a.model),
                fields: Vec::new(),
            });
        }
    }
    for c in &procedure.checks {
        let (Some((lm, lf)), Some((rm, rf))) = (split_ref(&c.link[0]), split_ref(&c.link[1]))
        else {
            continue;
        };
        for left in docs.iter().filter(|d| d.model == lm) {
            let Some(key) = left.value(lf) else { continue };
            let Some(right) = docs
                .iter()
                .find(|d| d.model == rm && d.value(rf) == Some(key) && !std::ptr::eq(*d, left))
            else {
                if c.required {
                    flags.push(ReviewFlag {
                        code: "no_matching_document".into(),
                        check: c.name.clone(),
                        message: format!("no {rm} in the dossier has {rf} = {key} ({lm}.{lf})"),
                        fields: vec![FlagField::of(left, lf)],
                    });
                }
                continue;
            };
            for [l, r] in &c.same {
                let (Some((_, lf2)), Some((_, rf2))) = (split_ref(l), split_ref(r)) else {
                    continue;
                };
                if let (Some(x), Some(y)) = (left.value(lf2), right.value(rf2))
                    && !same(x, y)
                {
                    flags.push(ReviewFlag {
                        code: "mismatch".into(),
                        check: c.name.clone(),
                        message: format!(
                            "{l} is {x:?} but {r} is {y:?} (attachment {}, page {})",
                            right.attachment,
                            right.page + 1
                        ),
                        fields: vec![FlagField::of(left, lf2), FlagField::of(right, rf2)],
                    });
                }
            }
        }
    }
    flags
}

/// Recomputes and stores the review flags of a dossier from its stored fields (after its last
/// attachment is processed, after a clerk's correction). No pipeline for its procedure: nothing.
pub async fn refresh_flags(
    repo: &dyn crate::repo::Repo,
    procedures: &[Procedure],
    dossier: crate::domain::DossierId,
) -> crate::repo::RepoResult<()> {
    let Some(code) = repo.dossier_procedure(dossier).await? else {
        return Ok(());
    };
    let Some(procedure) = procedures.iter().find(|p| p.matches(&code)) else {
        return Ok(());
    };
    let mut docs: Vec<DocFields> = Vec::new();
    for r in repo.dossier_fields(dossier).await? {
        let (att, page) = (r.attachment.0, r.field.page);
        match docs
            .iter_mut()
            .find(|d| d.attachment == att && d.page == page)
        {
            Some(d) => d.fields.push(r.field),
            None => docs.push(DocFields {
                attachment: att,
                page,
                model: r.model,
                fields: vec![r.field],
            }),
        }
    }
    repo.replace_flags(dossier, &check(procedure, &docs)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{FieldSource, Validation, ValidationStatus};

    fn doc(attachment: i64, model: &str, fields: &[(&str, &str)]) -> DocFields {
        DocFields {
            attachment,
            page: 0,
            model: model.into(),
            fields: fields
                .iter()
                .map(|(n, v)| ExtractedField {
                    name: n.to_string(),
                    value: Some(v.to_string()),
                    raw: v.to_string(),
                    confidence: 0.9,
                    page: 0,
                    bbox: None,
                    source: FieldSource::Ocr,
                    validation: Validation {
                        status: ValidationStatus::Unchecked,
                        notes: vec![],
                        repair: None,
                    },
                })
                .collect(),
        }
    }

    fn procedure() -> Procedure {
        toml::from_str(
            r#"
id = "dang_ky_khai_sinh"
[[attachment]]
name = "to_khai"
model = "to_khai_khai_sinh"
required = true
[[attachment]]
name = "cccd_me"
model = "cccd"
required = true
[[check]]
name = "mother_id_card"
link = ["to_khai_khai_sinh.mother.pid", "cccd.pid"]
same = [["to_khai_khai_sinh.mother.name", "cccd.name"], ["to_khai_khai_sinh.mother.birth_year", "cccd.dob"]]
required = true
"#,
        )
        .unwrap()
    }

    #[test]
    fn agreeing_documents_raise_nothing() {
        let docs = [
            doc(
                1,
                "to_khai_khai_sinh",
                &[
                    ("mother.pid", "001190255594"),
                    ("mother.name", "NGUYỄN THỊ HƯƠNG"),
                    ("mother.birth_year", "1990"),
                ],
            ),
            doc(
                2,
                "cccd",
                &[
                    ("pid", "001190255594"),
                    ("name", "NGUYỄN THỊ HƯƠNG"),
                    ("dob", "1990-02-03"),
                ],
            ),
        ];
        assert_eq!(check(&procedure(), &docs), vec![]);
    }

    #[test]
    fn a_different_name_on_the_card_is_flagged() {
        let docs = [
            doc(
                1,
                "to_khai_khai_sinh",
                &[
                    ("mother.pid", "001190255594"),
                    ("mother.name", "NGUYỄN THỊ HƯƠNG"),
                    ("mother.birth_year", "1991"),
                ],
            ),
            doc(
                2,
                "cccd",
                &[
                    ("pid", "001190255594"),
                    ("name", "NGUYỄN THỊ HƯỜNG"),
                    ("dob", "1990-02-03"),
                ],
            ),
        ];
        let flags = check(&procedure(), &docs);
        assert_eq!(flags.len(), 2, "{flags:#?}");
        assert!(
            flags
                .iter()
                .all(|f| f.code == "mismatch" && f.check == "mother_id_card")
        );
        // Each names both fields, for the review screen to show it next to either.
        let about = |f: &ReviewFlag| -> Vec<(i64, String)> {
            f.fields
                .iter()
                .map(|x| (x.attachment, x.name.clone()))
                .collect()
        };
        assert_eq!(
            about(&flags[0]),
            [(1, "mother.name".to_string()), (2, "name".to_string())]
        );
        assert_eq!(
            about(&flags[1]),
            [(1, "mother.birth_year".to_string()), (2, "dob".to_string())]
        );
    }

    #[test]
    fn missing_card_and_attachment_are_flagged() {
        let docs = [doc(
            1,
            "to_khai_khai_sinh",
            &[("mother.pid", "001190255594")],
        )];
        let codes: Vec<String> = check(&procedure(), &docs)
            .into_iter()
            .map(|f| f.code)
            .collect();
        assert_eq!(codes, vec!["missing_attachment", "no_matching_document"]);
    }
}
