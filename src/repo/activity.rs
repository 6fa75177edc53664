//! What a unit's clerks did, read back from the audit trail for the productivity numbers
//! ([`crate::domain::productivity`]). The SQL is the same on both backends, written once.

use async_trait::async_trait;

use super::RepoResult;
use crate::domain::productivity::{ActivityRow, ApprovedFields};
use crate::domain::workflow::DossierState;
use crate::domain::{ClerkId, ClerkRole, DossierId, Millis, UnitId};

/// The unit's review activity in a window.
#[derive(Debug, Clone, Default)]
pub struct Activity {
    pub rows: Vec<ActivityRow>,
    /// Fields of the dossiers approved in the window (still approved).
    pub approved: ApprovedFields,
    /// The unit's clerks: id, username, role.
    pub clerks: Vec<(ClerkId, String, ClerkRole)>,
}

#[async_trait]
pub trait ActivityRepo: Send + Sync {
    /// State moves and clerks' field actions of the unit's dossiers from `since` on.
    async fn activity(&self, unit: UnitId, since: Millis) -> RepoResult<Activity>;
}

/// An audit row as stored: the actor as text (`clerk:7`), the detail as JSON text.
pub(super) fn activity_row(
    at: Millis,
    actor: &str,
    action: String,
    dossier: i64,
    detail: Option<&str>,
) -> ActivityRow {
    let detail: Option<serde_json::Value> = detail.and_then(|d| serde_json::from_str(d).ok());
    let state = |k: &str| {
        detail
            .as_ref()
            .and_then(|d| d[k].as_str())
            .and_then(DossierState::parse)
    };
    ActivityRow {
        at,
        clerk: actor
            .strip_prefix("clerk:")
            .and_then(|n| n.parse().ok())
            .map(ClerkId),
        from: state("from"),
        to: state("to"),
        action,
        dossier: DossierId(dossier),
    }
}

/// `activity_backend!(Repo, begin_method)`: `impl ActivityRepo` with the backend's transactions.
macro_rules! activity_backend {
    ($repo:ty, $begin:ident) => {
        #[async_trait::async_trait]
        impl crate::repo::ActivityRepo for $repo {
            async fn activity(
                &self,
                unit: crate::domain::UnitId,
                since: crate::domain::Millis,
            ) -> crate::repo::RepoResult<crate::repo::Activity> {
                let mut tx = self.$begin().await?;
                let rows: Vec<(i64, String, String, i64, Option<String>)> = sqlx::query_as(
                    "SELECT at, actor, action, dossier_id, detail FROM audit
                     WHERE unit_id = $1 AND at >= $2 AND dossier_id IS NOT NULL
                       AND action IN ('dossier.state', 'field.confirm', 'field.correct')
                     ORDER BY dossier_id, at, id",
                )
                .bind(unit.0)
                .bind(since)
                .fetch_all(&mut *tx)
                .await?;
                let (total, corrected): (i64, i64) = sqlx::query_as(
                    "SELECT COUNT(*),
                            COALESCE(SUM(CASE WHEN f.source = 'clerk' THEN 1 ELSE 0 END), 0)
                     FROM fields f JOIN dossiers d ON d.id = f.dossier_id
                     WHERE d.unit_id = $1 AND d.status = 'approved' AND d.state_since >= $2",
                )
                .bind(unit.0)
                .bind(since)
                .fetch_one(&mut *tx)
                .await?;
                let clerks: Vec<(i64, String, String)> = sqlx::query_as(
                    "SELECT id, username, role FROM clerks WHERE unit_id = $1 ORDER BY username",
                )
                .bind(unit.0)
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(crate::repo::Activity {
                    rows: rows
                        .into_iter()
                        .map(|(at, actor, action, dossier, detail)| {
                            crate::repo::activity::activity_row(
                                at,
                                &actor,
                                action,
                                dossier,
                                detail.as_deref(),
                            )
                        })
                        .collect(),
                    approved: crate::domain::productivity::ApprovedFields {
                        total: total as u64,
                        corrected: corrected as u64,
                    },
                    clerks: clerks
                        .into_iter()
                        .map(|(id, username, role)| {
                            let role = crate::domain::ClerkRole::from_db(&role);
                            (crate::domain::ClerkId(id), username, role)
                        })
                        .collect(),
                })
            }
        }
    };
}

activity_backend!(crate::repo::SqliteRepo, write_tx);
activity_backend!(crate::repo::PgRepo, tx);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_rows_read_back_with_clerk_and_states() {
        let r = activity_row(
            5,
            "clerk:12",
            "dossier.state".into(),
            3,
            Some(r#"{"from":"in_review","to":"approved","reason":null}"#),
        );
        assert_eq!(r.clerk, Some(ClerkId(12)));
        assert_eq!(
            (r.from, r.to),
            (Some(DossierState::InReview), Some(DossierState::Approved))
        );
        let r = activity_row(5, "system", "field.confirm".into(), 3, Some("plain text"));
        assert_eq!((r.clerk, r.from, r.to), (None, None, None));
    }
}
