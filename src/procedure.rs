//! Procedure pipelines: `pipelines/<id>.toml`, one per administrative procedure. A pipeline names
//! the attachments a dossier of that procedure expects (by document model) and the checks between
//! documents; a dossier's `procedure` selects it by id or alias.

use std::collections::HashSet;
use std::path::Path;

use serde::Deserialize;

use crate::extract::Model;
use crate::extract::model::{ModelError, toml_files};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Procedure {
    pub id: String,
    #[serde(default)]
    pub title: String,
    /// Other procedure codes dossiers use for this procedure (e.g. `khai-sinh`).
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default, rename = "attachment")]
    pub attachments: Vec<ExpectedAttachment>,
    #[serde(default, rename = "check")]
    pub checks: Vec<CrossCheck>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedAttachment {
    /// What the attachment is, for clerks (`to_khai`, `cccd_me`, …).
    pub name: String,
    /// Document model its pages are read with.
    pub model: String,
    #[serde(default)]
    pub required: bool,
}

/// Finds the document of `link[1]`'s model whose field equals `link[0]` (e.g. the CCCD whose
/// number is the requester's ID), then compares each pair in `same`. Fields are written
/// `<model>.<field>`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrossCheck {
    pub name: String,
    pub link: [String; 2],
    #[serde(default)]
    pub same: Vec<[String; 2]>,
    /// Raise a flag when no document matches the link.
    #[serde(default)]
    pub required: bool,
}

impl Procedure {
    pub fn matches(&self, code: &str) -> bool {
        self.id == code || self.aliases.iter().any(|a| a == code)
    }
}

/// `<model>.<field>` → (model, field), the model being the part before the first dot.
pub fn split_ref(r: &str) -> Option<(&str, &str)> {
    r.split_once('.')
        .filter(|(m, f)| !m.is_empty() && !f.is_empty())
}

/// Loads every pipeline in `dir`, checking model and field references against `models`; all
/// errors of all files.
pub fn load_procedures(dir: &Path, models: &[Model]) -> Result<Vec<Procedure>, Vec<ModelError>> {
    let files = toml_files(dir).map_err(|e| vec![e])?;
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut codes = HashSet::new();
    for file in files {
        let err = |field: Option<&str>, message: String| ModelError {
            file: file.clone(),
            field: field.map(str::to_string),
            message,
        };
        let p: Procedure = match std::fs::read_to_string(&file)
            .map_err(|e| format!("cannot read: {e}"))
            .and_then(|t| toml::from_str(&t).map_err(|e| format!("invalid TOML: {e}")))
        {
            Ok(p) => p,
            Err(m) => {
                errors.push(err(None, m));
                continue;
            }
        };
        for code in std::iter::once(&p.id).chain(&p.aliases) {
            if !codes.insert(code.clone()) {
                errors.push(err(None, format!("procedure code {code:?} is used twice")));
            }
        }
        if p.attachments.is_empty() {
            errors.push(err(None, "no [[attachment]]".into()));
        }
        for a in &p.attachments {
            if !models.iter().any(|m| m.id == a.model) {
                errors.push(err(
                    Some(&a.name),
                    format!("unknown document model {:?}", a.model),
                ));
            }
        }
        for c in &p.checks {
            let refs = c.link.iter().chain(c.same.iter().flatten());
            for r in refs {
                let known = split_ref(r).is_some_and(|(m, f)| {
                    models
                        .iter()
                        .any(|x| x.id == m && x.fields.iter().any(|y| y.name == f))
                });
                if !known {
                    errors.push(err(
                        Some(&c.name),
                        format!("{r:?} is not <model>.<field> of a loaded model"),
                    ));
                }
            }
        }
        out.push(p);
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn models() -> Vec<Model> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("cccd.toml"),
            "id = \"cccd\"\n[classify]\nkeywords = [\"x\"]\n[[field]]\nname = \"pid\"\ntype = \"personal_id\"\nanchors = [\"Số\"]\n",
        )
        .unwrap();
        crate::extract::load_models(dir.path()).unwrap()
    }

    #[test]
    fn loads_and_selects_by_alias() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("p.toml"),
            "id = \"dang_ky\"\naliases = [\"dk\"]\n[[attachment]]\nname = \"card\"\nmodel = \"cccd\"\n[[check]]\nname = \"c\"\nlink = [\"cccd.pid\", \"cccd.pid\"]\n",
        )
        .unwrap();
        let ps = load_procedures(dir.path(), &models()).unwrap();
        assert!(ps[0].matches("dk") && ps[0].matches("dang_ky") && !ps[0].matches("x"));
    }

    #[test]
    fn reports_every_bad_reference() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("a.toml"),
            "id = \"a\"\n[[attachment]]\nname = \"card\"\nmodel = \"passport\"\n[[check]]\nname = \"c\"\nlink = [\"cccd.nope\", \"cccd.pid\"]\nsame = [[\"x\", \"cccd.pid\"]]\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("b.toml"), "id = \"b\"\nsurprise = 1\n").unwrap();
        let errors = load_procedures(dir.path(), &models()).unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(errors.len(), 4, "{text:#?}");
        assert!(
            text.iter()
                .any(|t| t.contains("unknown document model \"passport\""))
        );
        assert!(text.iter().any(|t| t.contains("\"cccd.nope\"")));
        assert!(text.iter().any(|t| t.contains("\"x\"")));
        assert!(
            text.iter()
                .any(|t| t.contains("b.toml") && t.contains("surprise"))
        );
    }
}
