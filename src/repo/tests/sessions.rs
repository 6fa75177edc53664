//! Clerk sessions and failed logins on every backend: a session is found by its token hash only,
//! touched, ended (audited), swept when idle or too old; failures are counted per username in a
//! window and cleared.

use super::{Backend, on_every_backend};
use crate::domain::{ClerkRole, Millis};
use crate::repo::{ClerkRef, Repo};

on_every_backend!(
    a_session_is_found_by_its_hash_touched_and_ended,
    expired_sessions_and_old_failures_are_swept,
    failed_logins_are_counted_per_username_and_cleared,
);

const T0: Millis = 1_700_000_000_000;
const MIN: Millis = 60_000;

async fn clerk(repo: &dyn Repo, unit: &str, name: &str) -> ClerkRef {
    let u = match repo.unit_by_code(unit).await.unwrap() {
        Some(u) => u,
        None => repo.create_unit(unit, unit, "").await.unwrap(),
    };
    let c = repo
        .create_clerk(u.id, name, ClerkRole::Clerk, "x")
        .await
        .unwrap();
    ClerkRef {
        id: c.id,
        unit: c.unit_id,
    }
}

async fn a_session_is_found_by_its_hash_touched_and_ended(b: Backend) {
    let repo = b.fresh().await;
    let an = clerk(&*repo, "XA-01", "an").await;
    let binh = clerk(&*repo, "XA-02", "binh").await;
    repo.create_session("h-an", an.id, "csrf-an", T0)
        .await
        .unwrap();
    repo.create_session("h-binh", binh.id, "csrf-binh", T0 + 1)
        .await
        .unwrap();
    // The same hash twice is a conflict, never a second clerk on one cookie.
    assert!(repo.create_session("h-an", binh.id, "x", T0).await.is_err());

    let s = repo.session("h-an").await.unwrap().unwrap();
    assert_eq!(s.clerk, an);
    assert_eq!(s.username, "an");
    assert_eq!(s.csrf, "csrf-an");
    assert_eq!((s.created_at, s.last_seen), (T0, T0));
    assert_eq!(repo.session("h-binh").await.unwrap().unwrap().clerk, binh);
    assert!(repo.session("nope").await.unwrap().is_none());

    assert!(repo.touch_session("h-an", T0 + 5 * MIN).await.unwrap());
    // An older time never moves last_seen back.
    assert!(repo.touch_session("h-an", T0 + MIN).await.unwrap());
    let s = repo.session("h-an").await.unwrap().unwrap();
    assert_eq!((s.created_at, s.last_seen), (T0, T0 + 5 * MIN));
    assert!(!repo.touch_session("nope", T0).await.unwrap());

    assert!(
        repo.delete_session("h-an", "logout", T0 + 6 * MIN)
            .await
            .unwrap()
    );
    assert!(
        !repo
            .delete_session("h-an", "logout", T0 + 6 * MIN)
            .await
            .unwrap()
    );
    assert!(repo.session("h-an").await.unwrap().is_none());
    assert!(repo.session("h-binh").await.unwrap().is_some());
    assert_eq!(
        repo.count(&format!(
            "SELECT COUNT(*) FROM audit WHERE action = 'session.login' AND actor = 'clerk:{}'",
            an.id.0
        ))
        .await,
        1
    );
    assert_eq!(
        repo.count(&format!(
            "SELECT COUNT(*) FROM audit WHERE action = 'session.end' AND actor = 'clerk:{}' \
             AND unit_id = {}",
            an.id.0, an.unit.0
        ))
        .await,
        1
    );
}

async fn expired_sessions_and_old_failures_are_swept(b: Backend) {
    let repo = b.fresh().await;
    let an = clerk(&*repo, "XA-01", "an").await;
    repo.create_session("old", an.id, "c1", T0).await.unwrap();
    repo.create_session("idle", an.id, "c2", T0 + 60 * MIN)
        .await
        .unwrap();
    repo.create_session("live", an.id, "c3", T0 + 60 * MIN)
        .await
        .unwrap();
    repo.touch_session("old", T0 + 100 * MIN).await.unwrap();
    repo.touch_session("live", T0 + 100 * MIN).await.unwrap();
    repo.record_failed_login("an", T0).await.unwrap();
    repo.record_failed_login("an", T0 + 100 * MIN)
        .await
        .unwrap();
    // Idle since before T0+90min, or opened before T0+30min.
    let n = repo
        .delete_expired_sessions(T0 + 90 * MIN, T0 + 30 * MIN, T0 + 50 * MIN)
        .await
        .unwrap();
    assert_eq!(n, 2);
    assert!(repo.session("old").await.unwrap().is_none());
    assert!(repo.session("idle").await.unwrap().is_none());
    assert!(repo.session("live").await.unwrap().is_some());
    assert_eq!(
        repo.failed_logins_since("an", 0).await.unwrap(),
        vec![T0 + 100 * MIN]
    );
}

async fn failed_logins_are_counted_per_username_and_cleared(b: Backend) {
    let repo = b.fresh().await;
    for t in [T0, T0 + 2 * MIN, T0 + MIN] {
        repo.record_failed_login("an", t).await.unwrap();
    }
    // Unknown usernames are counted too: the lockout must not tell which exist.
    repo.record_failed_login("ghost", T0).await.unwrap();
    assert_eq!(
        repo.failed_logins_since("an", T0).await.unwrap(),
        vec![T0, T0 + MIN, T0 + 2 * MIN]
    );
    assert_eq!(
        repo.failed_logins_since("an", T0 + MIN).await.unwrap(),
        vec![T0 + MIN, T0 + 2 * MIN]
    );
    assert_eq!(
        repo.failed_logins_since("ghost", 0).await.unwrap(),
        vec![T0]
    );
    repo.clear_failed_logins("an").await.unwrap();
    assert!(repo.failed_logins_since("an", 0).await.unwrap().is_empty());
    assert_eq!(repo.failed_logins_since("ghost", 0).await.unwrap().len(), 1);

    let an = clerk(&*repo, "XA-01", "an").await;
    repo.audit_login("login.locked", "an", T0).await.unwrap();
    repo.audit_login("login.locked", "ghost", T0).await.unwrap();
    assert_eq!(
        repo.count(&format!(
            "SELECT COUNT(*) FROM audit WHERE action = 'login.locked' AND unit_id = {}",
            an.unit.0
        ))
        .await,
        1
    );
    assert_eq!(
        repo.count("SELECT COUNT(*) FROM audit WHERE action = 'login.locked' AND unit_id IS NULL")
            .await,
        1
    );
}
