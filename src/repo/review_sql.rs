//! The review workflow's SQL, written once for both backends (see [`super::review`]). The macro
//! takes the backend's repository type, its sqlx database, how it opens a write transaction,
//! and the row-locking clauses PostgreSQL needs (SQLite's write transaction already holds the
//! whole database).

/// `review_backend!(module, Repo, sqlx::Db, begin_method, "row lock", "skip-locked")` defines
/// `module::{files_added, settle}` for the backend's own transactions and `impl ReviewRepo`.
macro_rules! review_backend {
    ($module:ident, $repo:ty, $db:ty, $begin:ident, $lock:literal, $skip:literal) => {
        pub(in crate::repo) mod $module {
            use async_trait::async_trait;
            use sqlx::Transaction;

            use crate::domain::workflow::{DossierState, Event, NotAllowed, next};
            use crate::domain::{ClerkId, Dossier, DossierId, Millis, UnitId};
            use crate::extract::crosscheck::ReviewFlag;
            use crate::repo::review::*;
            use crate::repo::rows::{DOSSIER_COLS, DossierRow, FIELD_COLS, FieldRow};
            use crate::repo::{FieldRecord, RepoError, RepoResult};

            type Tx = Transaction<'static, $db>;

            const SYSTEM: &str = "system";

            async fn audit(
                tx: &mut Tx,
                actor: &str,
                action: &str,
                dossier: i64,
                attachment: Option<i64>,
                detail: String,
                now: Millis,
            ) -> RepoResult<()> {
                sqlx::query(
                    "INSERT INTO audit (at, actor, action, unit_id, dossier_id, attachment_id, detail)
                     VALUES ($1, $2, $3, (SELECT unit_id FROM dossiers WHERE id = $4), $4, $5, $6)",
                )
                .bind(now)
                .bind(actor)
                .bind(action)
                .bind(dossier)
                .bind(attachment)
                .bind(detail)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            /// The dossier's state and claim, locked for the rest of the transaction.
            async fn lock(
                tx: &mut Tx,
                id: i64,
            ) -> RepoResult<Option<(DossierState, Option<(i64, Millis)>)>> {
                let row: Option<(String, Option<i64>, Option<i64>)> = sqlx::query_as(concat!(
                    "SELECT status, claimed_by, claim_until FROM dossiers WHERE id = $1",
                    $lock
                ))
                .bind(id)
                .fetch_optional(&mut **tx)
                .await?;
                let Some((status, by, until)) = row else {
                    return Ok(None);
                };
                let state = DossierState::parse(&status)
                    .ok_or_else(|| RepoError::Db(format!("dossier {id}: state {status:?}")))?;
                Ok(Some((state, by.zip(until))))
            }

            /// Moves the dossier from `from` (read under lock) by `event`, with an audit row.
            // Each argument is a column of the move or of its audit row.
            #[allow(clippy::too_many_arguments)]
            async fn move_state(
                tx: &mut Tx,
                id: i64,
                from: DossierState,
                event: Event,
                claim: Option<(i64, Millis)>,
                actor: &str,
                reason: Option<&str>,
                now: Millis,
            ) -> RepoResult<Result<DossierState, NotAllowed>> {
                let to = match next(from, event) {
                    Ok(to) => to,
                    Err(e) => return Ok(Err(e)),
                };
                let moved = sqlx::query(
                    "UPDATE dossiers SET status = $1, state_since = $2, claimed_by = $3,
                         claim_until = $4
                     WHERE id = $5 AND status = $6",
                )
                .bind(to.as_str())
                .bind(now)
                .bind(claim.map(|c| c.0))
                .bind(claim.map(|c| c.1))
                .bind(id)
                .bind(from.as_str())
                .execute(&mut **tx)
                .await?
                .rows_affected();
                if moved != 1 {
                    return Err(RepoError::Conflict(format!("dossier {id} moved meanwhile")));
                }
                audit(tx, actor, "dossier.state", id, None, state_detail(from, to, reason), now)
                    .await?;
                // Counted before the commit: a move rolled back later still counts (rare).
                metrics::counter!(
                    "motcua_dossier_transitions_total",
                    "from" => from.as_str(),
                    "to" => to.as_str()
                )
                .increment(1);
                Ok(Ok(to))
            }

            /// Files were committed into the dossier: it is processing again (a claim ends).
            /// A decided dossier keeps its state; the files stay attached and audited.
            pub(in crate::repo) async fn files_added(
                tx: &mut Tx,
                dossier: DossierId,
                actor: &str,
                now: Millis,
            ) -> RepoResult<()> {
                if let Some((from, _)) = lock(tx, dossier.0).await?
                    && from != DossierState::Processing
                {
                    let _ = move_state(tx, dossier.0, from, Event::FilesAdded, None, actor, None, now)
                        .await?;
                }
                Ok(())
            }

            /// An attachment finished: when none is left queued or processing, the dossier
            /// waits for review.
            pub(in crate::repo) async fn settle(
                tx: &mut Tx,
                dossier: DossierId,
                actor: &str,
                now: Millis,
            ) -> RepoResult<()> {
                let busy: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM attachments
                     WHERE dossier_id = $1 AND status IN ('queued', 'processing')",
                )
                .bind(dossier.0)
                .fetch_one(&mut **tx)
                .await?;
                if busy == 0
                    && let Some((DossierState::Processing, _)) = lock(tx, dossier.0).await?
                {
                    let _ = move_state(
                        tx,
                        dossier.0,
                        DossierState::Processing,
                        Event::ProcessingSettled,
                        None,
                        actor,
                        None,
                        now,
                    )
                    .await?;
                }
                Ok(())
            }

            async fn expire(tx: &mut Tx, unit: Option<i64>, now: Millis) -> RepoResult<u64> {
                let ids: Vec<i64> = sqlx::query_scalar(concat!(
                    "SELECT id FROM dossiers WHERE status = 'in_review' AND claim_until < $1
                     AND ($2 IS NULL OR unit_id = $2)",
                    $skip
                ))
                .bind(now)
                .bind(unit)
                .fetch_all(&mut **tx)
                .await?;
                for &id in &ids {
                    let r = move_state(
                        tx,
                        id,
                        DossierState::InReview,
                        Event::Release,
                        None,
                        SYSTEM,
                        Some("claim expired"),
                        now,
                    )
                    .await?;
                    r.map_err(|e| RepoError::Db(e.to_string()))?;
                }
                Ok(ids.len() as u64)
            }

            async fn claim_info(
                tx: &mut Tx,
                clerk: i64,
                until: Millis,
            ) -> RepoResult<ClaimInfo> {
                let username: String =
                    sqlx::query_scalar("SELECT username FROM clerks WHERE id = $1")
                        .bind(clerk)
                        .fetch_one(&mut **tx)
                        .await?;
                Ok(ClaimInfo {
                    clerk: ClerkId(clerk),
                    username,
                    until,
                })
            }

            /// The clerk's live claim on the dossier, or who holds it instead.
            async fn held(
                tx: &mut Tx,
                d: &Dossier,
                clerk: ClerkRef,
                now: Millis,
            ) -> RepoResult<Result<(), Refusal>> {
                if d.unit_id != clerk.unit {
                    return Ok(Err(Refusal::NotFound));
                }
                let Some((state, claim)) = lock(tx, d.id.0).await? else {
                    return Ok(Err(Refusal::NotFound));
                };
                match claim {
                    Some((by, until)) if state == DossierState::InReview && until >= now => {
                        if by == clerk.id.0 {
                            Ok(Ok(()))
                        } else {
                            Ok(Err(Refusal::NotClaimed(Some(claim_info(tx, by, until).await?))))
                        }
                    }
                    _ => Ok(Err(Refusal::NotClaimed(None))),
                }
            }

            async fn field(tx: &mut Tx, d: i64, id: i64) -> RepoResult<Option<FieldRecord>> {
                let row: Option<FieldRow> = sqlx::query_as(&format!(
                    "SELECT {FIELD_COLS} FROM fields WHERE id = $1 AND dossier_id = $2"
                ))
                .bind(id)
                .bind(d)
                .fetch_optional(&mut **tx)
                .await?;
                row.map(FieldRecord::try_from).transpose()
            }

            #[async_trait]
            impl ReviewRepo for $repo {
                async fn queue(
                    &self,
                    unit: UnitId,
                    filter: &QueueFilter,
                    now: Millis,
                ) -> RepoResult<Vec<QueueEntry>> {
                    let mut tx = self.$begin().await?;
                    expire(&mut tx, Some(unit.0), now).await?;
                    let states: Vec<&str> = match filter.state {
                        Some(s) => vec![s.as_str()],
                        None => WORK_STATES.iter().map(|s| s.as_str()).collect(),
                    };
                    let rows: Vec<(i64, String, String, String, i64, i64, Option<i64>, Option<i64>, Option<String>, i64)> =
                        sqlx::query_as(
                            "SELECT d.id, d.code, d.procedure, d.status, d.created_at, d.state_since,
                                d.claimed_by, d.claim_until, c.username,
                                (SELECT COUNT(*) FROM attachments a WHERE a.dossier_id = d.id)
                             FROM dossiers d LEFT JOIN clerks c ON c.id = d.claimed_by
                             WHERE d.unit_id = $1 AND d.status IN ($2, $3)
                               AND ($4 IS NULL OR d.procedure = $4)
                             ORDER BY d.created_at, d.id LIMIT $5",
                        )
                        .bind(unit.0)
                        .bind(states[0])
                        .bind(states.get(1).copied().unwrap_or(states[0]))
                        .bind(filter.procedure.as_deref())
                        .bind(if filter.limit > 0 { filter.limit } else { 500 })
                        .fetch_all(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    rows.into_iter()
                        .map(|(id, code, procedure, status, created_at, since, by, until, name, n)| {
                            let state = DossierState::parse(&status).ok_or_else(|| {
                                RepoError::Db(format!("dossier {id}: state {status:?}"))
                            })?;
                            let claim = match (state, by, until, name) {
                                (DossierState::InReview, Some(by), Some(until), Some(username)) => {
                                    Some(ClaimInfo {
                                        clerk: ClerkId(by),
                                        username,
                                        until,
                                    })
                                }
                                _ => None,
                            };
                            Ok(QueueEntry {
                                dossier: DossierSummary {
                                    id: DossierId(id),
                                    code,
                                    procedure,
                                    state,
                                    created_at,
                                    state_since: since,
                                },
                                claim,
                                attachments: n,
                            })
                        })
                        .collect()
                }

                async fn state_counts(
                    &self,
                    unit: Option<UnitId>,
                ) -> RepoResult<Vec<(DossierState, i64)>> {
                    let mut tx = self.$begin().await?;
                    let rows: Vec<(String, i64)> = sqlx::query_as(
                        "SELECT status, COUNT(*) FROM dossiers WHERE ($1 IS NULL OR unit_id = $1)
                         GROUP BY status",
                    )
                    .bind(unit.map(|u| u.0))
                    .fetch_all(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(rows
                        .into_iter()
                        .filter_map(|(s, n)| DossierState::parse(&s).map(|s| (s, n)))
                        .collect())
                }

                async fn claim_of(
                    &self,
                    dossier: DossierId,
                    now: Millis,
                ) -> RepoResult<Option<ClaimInfo>> {
                    let mut tx = self.$begin().await?;
                    let info = match lock(&mut tx, dossier.0).await? {
                        Some((DossierState::InReview, Some((by, until)))) if until >= now => {
                            Some(claim_info(&mut tx, by, until).await?)
                        }
                        _ => None,
                    };
                    tx.commit().await?;
                    Ok(info)
                }

                async fn claim_next(
                    &self,
                    clerk: ClerkRef,
                    now: Millis,
                    until: Millis,
                ) -> RepoResult<Option<Dossier>> {
                    let mut tx = self.$begin().await?;
                    expire(&mut tx, Some(clerk.unit.0), now).await?;
                    let id: Option<i64> = sqlx::query_scalar(concat!(
                        "SELECT id FROM dossiers WHERE unit_id = $1 AND status = 'needs_review'
                         ORDER BY created_at, id LIMIT 1",
                        $skip
                    ))
                    .bind(clerk.unit.0)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some(id) = id else {
                        tx.commit().await?;
                        return Ok(None);
                    };
                    let actor = format!("clerk:{}", clerk.id.0);
                    move_state(
                        &mut tx,
                        id,
                        DossierState::NeedsReview,
                        Event::Claim,
                        Some((clerk.id.0, until)),
                        &actor,
                        None,
                        now,
                    )
                    .await?
                    .map_err(|e| RepoError::Db(e.to_string()))?;
                    let row: DossierRow =
                        sqlx::query_as(&format!("SELECT {DOSSIER_COLS} WHERE d.id = $1"))
                            .bind(id)
                            .fetch_one(&mut *tx)
                            .await?;
                    tx.commit().await?;
                    Ok(Some(row.into()))
                }

                async fn claim_dossier(
                    &self,
                    d: &Dossier,
                    clerk: ClerkRef,
                    now: Millis,
                    until: Millis,
                ) -> RepoResult<ClaimOutcome> {
                    let mut tx = self.$begin().await?;
                    let Some((state, claim)) = lock(&mut tx, d.id.0).await? else {
                        return Err(RepoError::NotFound("dossier".into()));
                    };
                    let actor = format!("clerk:{}", clerk.id.0);
                    let from = match (state, claim) {
                        (DossierState::InReview, Some((by, _))) if by == clerk.id.0 => {
                            sqlx::query("UPDATE dossiers SET claim_until = $1 WHERE id = $2")
                                .bind(until)
                                .bind(d.id.0)
                                .execute(&mut *tx)
                                .await?;
                            tx.commit().await?;
                            return Ok(ClaimOutcome::Claimed(until));
                        }
                        (DossierState::InReview, Some((by, held))) if held >= now => {
                            let info = claim_info(&mut tx, by, held).await?;
                            tx.commit().await?;
                            return Ok(ClaimOutcome::HeldBy(info));
                        }
                        (DossierState::InReview, _) => {
                            expire(&mut tx, Some(d.unit_id.0), now).await?;
                            DossierState::NeedsReview
                        }
                        (s, _) => s,
                    };
                    let r = move_state(
                        &mut tx,
                        d.id.0,
                        from,
                        Event::Claim,
                        Some((clerk.id.0, until)),
                        &actor,
                        None,
                        now,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(match r {
                        Ok(_) => ClaimOutcome::Claimed(until),
                        Err(e) => ClaimOutcome::NotAllowed(e),
                    })
                }

                async fn decide(
                    &self,
                    d: &Dossier,
                    clerk: ClerkRef,
                    event: Event,
                    reason: Option<&str>,
                    now: Millis,
                ) -> RepoResult<Refused<DossierState>> {
                    let mut tx = self.$begin().await?;
                    if let Err(r) = held(&mut tx, d, clerk, now).await? {
                        return Ok(Err(r));
                    }
                    let actor = format!("clerk:{}", clerk.id.0);
                    let r = move_state(
                        &mut tx,
                        d.id.0,
                        DossierState::InReview,
                        event,
                        None,
                        &actor,
                        reason,
                        now,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(r.map_err(Refusal::NotAllowed))
                }

                async fn edit_field(
                    &self,
                    d: &Dossier,
                    id: i64,
                    version: i64,
                    change: FieldChange<'_>,
                    clerk: ClerkRef,
                    now: Millis,
                ) -> RepoResult<Refused<FieldRecord>> {
                    let mut tx = self.$begin().await?;
                    if let Err(r) = held(&mut tx, d, clerk, now).await? {
                        return Ok(Err(r));
                    }
                    let Some(current) = field(&mut tx, d.id.0, id).await? else {
                        return Ok(Err(Refusal::NotFound));
                    };
                    if current.version != version {
                        return Ok(Err(Refusal::Stale(Box::new(current))));
                    }
                    let (action, value) = match change {
                        FieldChange::Confirm => ("field.confirm", current.field.value.clone()),
                        FieldChange::Correct(v) => ("field.correct", Some(v.to_string())),
                    };
                    let corrected = matches!(change, FieldChange::Correct(_));
                    // A clerk who types a value vouches for it: corrected means confirmed too.
                    sqlx::query(
                        "UPDATE fields SET value = $1, version = version + 1, confirmed_by = $2,
                             confirmed_at = $3, updated_at = $3,
                             source = CASE WHEN $4 = 1 THEN 'clerk' ELSE source END,
                             validation = CASE WHEN $4 = 1 THEN 'unchecked' ELSE validation END,
                             notes = CASE WHEN $4 = 1 THEN '[\"corrected by a clerk\"]' ELSE notes END,
                             repair = CASE WHEN $4 = 1 THEN NULL ELSE repair END
                         WHERE id = $5",
                    )
                    .bind(&value)
                    .bind(clerk.id.0)
                    .bind(now)
                    .bind(i64::from(corrected))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    let detail = serde_json::json!({
                        "field": id,
                        "name": current.field.name,
                        "from": current.field.value,
                        "to": value,
                    });
                    audit(
                        &mut tx,
                        &format!("clerk:{}", clerk.id.0),
                        action,
                        d.id.0,
                        Some(current.attachment.0),
                        detail.to_string(),
                        now,
                    )
                    .await?;
                    let updated = field(&mut tx, d.id.0, id)
                        .await?
                        .ok_or_else(|| RepoError::NotFound("field".into()))?;
                    tx.commit().await?;
                    Ok(Ok(updated))
                }

                async fn flag_views(&self, dossier: DossierId) -> RepoResult<Vec<FlagView>> {
                    let mut tx = self.$begin().await?;
                    type Row = (String, String, String, String, Option<i64>, Option<String>, Option<i64>);
                    let rows: Vec<Row> =
                        sqlx::query_as(
                            "SELECT f.code, f.check_name, f.message, f.fields, x.clerk_id, x.note, x.at
                             FROM review_flags f LEFT JOIN flag_dismissals x
                               ON x.dossier_id = f.dossier_id AND x.code = f.code
                              AND x.check_name = f.check_name AND x.message = f.message
                             WHERE f.dossier_id = $1 ORDER BY f.id",
                        )
                        .bind(dossier.0)
                        .fetch_all(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(rows
                        .into_iter()
                        .map(|(code, check, message, fields, by, note, at)| FlagView {
                            flag: crate::repo::rows::flag(code, check, message, &fields),
                            dismissed: match (by, note, at) {
                                (Some(by), Some(note), Some(at)) => Some(Dismissal {
                                    clerk: ClerkId(by),
                                    note,
                                    at,
                                }),
                                _ => None,
                            },
                        })
                        .collect())
                }

                async fn dismiss_flag(
                    &self,
                    d: &Dossier,
                    flag: &ReviewFlag,
                    note: &str,
                    clerk: ClerkRef,
                    now: Millis,
                ) -> RepoResult<Refused<()>> {
                    let mut tx = self.$begin().await?;
                    if let Err(r) = held(&mut tx, d, clerk, now).await? {
                        return Ok(Err(r));
                    }
                    let n = sqlx::query(
                        "INSERT INTO flag_dismissals
                             (dossier_id, code, check_name, message, clerk_id, note, at)
                         SELECT $1, $2, $3, $4, $5, $6, $7
                         WHERE EXISTS (SELECT 1 FROM review_flags WHERE dossier_id = $1
                             AND code = $2 AND check_name = $3 AND message = $4)
                         ON CONFLICT (dossier_id, code, check_name, message)
                         DO UPDATE SET clerk_id = $5, note = $6, at = $7",
                    )
                    .bind(d.id.0)
                    .bind(&flag.code)
                    .bind(&flag.check)
                    .bind(&flag.message)
                    .bind(clerk.id.0)
                    .bind(note)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if n == 0 {
                        return Ok(Err(Refusal::NotFound));
                    }
                    let detail = serde_json::json!({
                        "code": flag.code, "check": flag.check, "message": flag.message, "note": note,
                    });
                    audit(
                        &mut tx,
                        &format!("clerk:{}", clerk.id.0),
                        "flag.dismiss",
                        d.id.0,
                        None,
                        detail.to_string(),
                        now,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(Ok(()))
                }

                async fn history(&self, dossier: DossierId) -> RepoResult<Vec<HistoryEntry>> {
                    let mut tx = self.$begin().await?;
                    let rows: Vec<(i64, String, String, Option<i64>, Option<String>)> =
                        sqlx::query_as(
                            "SELECT at, actor, action, attachment_id, detail FROM audit
                             WHERE dossier_id = $1 ORDER BY at, id",
                        )
                        .bind(dossier.0)
                        .fetch_all(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(rows
                        .into_iter()
                        .map(|(at, actor, action, attachment, detail)| HistoryEntry {
                            at,
                            actor,
                            action,
                            attachment: attachment.map(crate::domain::AttachmentId),
                            // Older rows carry plain text details.
                            detail: detail.map(|d| {
                                serde_json::from_str(&d)
                                    .unwrap_or(serde_json::Value::String(d))
                            }),
                        })
                        .collect())
                }

                async fn expire_claims(&self, now: Millis) -> RepoResult<u64> {
                    let mut tx = self.$begin().await?;
                    let n = expire(&mut tx, None, now).await?;
                    tx.commit().await?;
                    Ok(n)
                }
            }
        }
    };
}

review_backend!(
    sqlite_review,
    crate::repo::SqliteRepo,
    sqlx::Sqlite,
    write_tx,
    "",
    ""
);
review_backend!(
    pg_review,
    crate::repo::PgRepo,
    sqlx::Postgres,
    tx,
    " FOR UPDATE",
    " FOR UPDATE SKIP LOCKED"
);

pub(super) use pg_review::{files_added as pg_files_added, settle as pg_settle};
pub(super) use sqlite_review::{files_added as sqlite_files_added, settle as sqlite_settle};
