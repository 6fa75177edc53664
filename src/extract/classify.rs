//! Which document model a page is: the share of each model's keywords found on the page; the best
//! share at or above the model's `min_score` wins, otherwise no model applies.

use super::anchor::{PageText, match_in_line};
use super::model::Model;
use crate::domain::DocType;

pub fn score(model: &Model, page: &PageText) -> f32 {
    let found = model
        .keywords
        .iter()
        .filter(|k| (0..page.lines.len()).any(|l| match_in_line(page, l, k).is_some()))
        .count();
    found as f32 / model.keywords.len().max(1) as f32
}

/// The best-scoring model that reaches its threshold; ties go to the model listed first.
pub fn classify<'m>(models: &'m [Model], page: &PageText) -> Option<(&'m Model, DocType)> {
    let mut best: Option<(&Model, f32)> = None;
    for m in models {
        let s = score(m, page);
        if s >= m.min_score && best.is_none_or(|(_, b)| s > b) {
            best = Some((m, s));
        }
    }
    best.map(|(m, s)| {
        (
            m,
            DocType {
                model: m.id.clone(),
                confidence: s,
            },
        )
    })
}
