//! `GET /api/v1/review/stats`: the unit's review productivity for its admins (dossiers
//! decided, time per dossier, fields confirmed and corrected, share accepted untouched, per
//! clerk), and the counters `/metrics` gets when clerks act.

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use super::AppState;
use super::auth::Auth;
use super::error::{AppError, ErrorBody};
use crate::domain::productivity::{Productivity, summarize};
use crate::domain::{Actor, ClerkId, ClerkRole, FieldSource, Millis, now_millis};
use crate::repo::{ClerkRef, FieldRecord};

pub const DEFAULT_DAYS: u32 = 30;
pub const MAX_DAYS: u32 = 366;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    /// The window: the last this many days (1 to 366, default 30).
    days: Option<u32>,
}

#[derive(Serialize)]
pub struct UnitStats {
    pub days: u32,
    #[serde(flatten)]
    pub numbers: Productivity,
    /// Usernames of the clerks in `clerks`.
    pub usernames: Vec<(ClerkId, String)>,
}

impl UnitStats {
    pub fn username(&self, c: ClerkId) -> &str {
        self.usernames
            .iter()
            .find(|(id, _)| *id == c)
            .map_or("?", |(_, n)| n)
    }
}

/// The unit's numbers over the last `days`, for one of its admins.
pub async fn unit_stats(st: &AppState, clerk: ClerkRef, days: u32) -> Result<UnitStats, AppError> {
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(AppError::BadRequest(format!(
            "days must be 1 to {MAX_DAYS}"
        )));
    }
    let now = now_millis();
    let since: Millis = now - Millis::from(days) * 86_400_000;
    let a = st.repo.activity(clerk.unit, since).await?;
    let admin = a
        .clerks
        .iter()
        .any(|(id, _, role)| *id == clerk.id && *role == ClerkRole::Admin);
    if !admin {
        return Err(AppError::Forbidden(
            "only the unit's admins see its productivity",
        ));
    }
    Ok(UnitStats {
        days,
        numbers: summarize(&a.rows, a.approved, since, now + 1),
        usernames: a.clerks.into_iter().map(|(id, n, _)| (id, n)).collect(),
    })
}

/// Only unit admins (clerks with the `admin` role).
#[utoipa::path(get, path = "/api/v1/review/stats", tag = "review", params(StatsQuery),
    responses(
        (status = 200, description = "`{days, since, until, decided: {approved, returned, rejected}, review_secs: {count, median, p90, mean}, wait_secs, fields_confirmed, fields_corrected, approved_fields, approved_fields_untouched, untouched_share, clerks: [{clerk, decided, review_secs, fields_confirmed, fields_corrected}], usernames}`", body = Value),
        (status = 400, description = "`days` out of range", body = ErrorBody),
        (status = 401, description = "No or unknown credentials", body = ErrorBody),
        (status = 403, description = "Not an admin of a unit", body = ErrorBody),
        (status = 503, description = "Database unreachable", body = ErrorBody)),
    security(("basic" = []), ("session" = [])))]
pub async fn stats(
    State(st): State<AppState>,
    Auth(actor): Auth,
    Query(q): Query<StatsQuery>,
) -> Result<Json<UnitStats>, AppError> {
    let Actor::Clerk { id, unit } = actor else {
        return Err(match actor {
            Actor::Anonymous => AppError::Unauthorized,
            _ => AppError::Forbidden("only the unit's admins see its productivity"),
        });
    };
    let days = q.days.unwrap_or(DEFAULT_DAYS);
    Ok(Json(unit_stats(&st, ClerkRef { id, unit }, days).await?))
}

/// `/metrics` after a clerk's field action.
pub fn count_field_change(corrected: bool) {
    let change = if corrected { "corrected" } else { "confirmed" };
    metrics::counter!("motcua_review_fields_total", "change" => change).increment(1);
}

/// `/metrics` after a decision: the decision, the time the clerk held the dossier before it, and
/// on approval how many of its fields kept extraction's value.
pub fn count_decision(action: &str, claimed_for_secs: Option<f64>, fields: &[FieldRecord]) {
    metrics::counter!("motcua_review_decisions_total", "action" => action.to_string()).increment(1);
    if let Some(s) = claimed_for_secs {
        metrics::histogram!("motcua_review_seconds").record(s);
    }
    if action == "approve" {
        let corrected = fields
            .iter()
            .filter(|f| f.field.source == FieldSource::Clerk)
            .count() as u64;
        let untouched = fields.len() as u64 - corrected;
        metrics::counter!("motcua_review_approved_fields_total", "untouched" => "true")
            .increment(untouched);
        metrics::counter!("motcua_review_approved_fields_total", "untouched" => "false")
            .increment(corrected);
    }
}
