//! The sweep and the upload claims on a real store and database: SQLite on a file (several
//! connections, as `serve` has them) and PostgreSQL when `MOTCUA_TEST_PG_URL` names a server.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::domain::{Actor, AttachmentId, Dossier, NewAttachment};
use crate::repo::tests::queue::dossier;
use crate::repo::tests::{Backend, TestRepo};
use crate::repo::{NewJob, SqliteRepo};
use crate::store::{FsStore, StoredBlob};

/// A database of each backend and a fresh store for it.
struct Rig {
    repo: Arc<dyn Repo>,
    store: Arc<dyn BlobStore>,
    _pg: Option<TestRepo>,
    _dir: tempfile::TempDir,
}

async fn rig(backend: &str) -> Option<Rig> {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn BlobStore> =
        Arc::new(FsStore::open(dir.path().join("blobs")).await.unwrap());
    let (repo, pg): (Arc<dyn Repo>, _) = if backend == "sqlite" {
        let cfg = crate::config::SqliteConfig::default();
        let r = SqliteRepo::open(&dir.path().join("db.sqlite"), &cfg).await;
        (Arc::new(r.unwrap()), None)
    } else {
        let t = Backend::postgres(backend)?.fresh().await;
        (t.shared(), Some(t))
    };
    Some(Rig {
        repo,
        store,
        _pg: pg,
        _dir: dir,
    })
}

async fn put(store: &dyn BlobStore, bytes: &[u8]) -> StoredBlob {
    let mut w = store.writer().await.unwrap();
    w.write(bytes).await.unwrap();
    w.finish().await.unwrap()
}

fn job(a: AttachmentId) -> NewJob {
    NewJob {
        kind: "process_attachment",
        payload: format!("{{\"attachment_id\":{a}}}"),
    }
}

fn attachment(b: &StoredBlob) -> NewAttachment {
    NewAttachment {
        filename: Some("scan.png".into()),
        original_key: b.key.to_string(),
        sha256: b.sha256.clone(),
        bytes: b.bytes,
        media_type: "image/png".into(),
    }
}

/// What the upload handler does for one file: claim, publish, commit with the claim.
async fn upload(r: &Rig, d: &Dossier, bytes: &[u8]) -> Result<(), RepoError> {
    let mut claims = UploadClaims::new(r.repo.clone(), r.store.clone(), Duration::from_secs(60));
    let mut w = r.store.writer().await.unwrap();
    w.write(bytes).await.unwrap();
    claims
        .claim(&BlobKey::original(&w.sha256()).unwrap())
        .await?;
    let b = w.finish().await.unwrap();
    r.repo
        .add_attachments(d, &[attachment(&b)], Some(claims.id()), &job, &Actor::Admin)
        .await?;
    claims.settle();
    Ok(())
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name("sqlite").await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(module_path!()).await
            }
        }
    )*};
}

on_both!(
    the_sweep_takes_only_old_originals_no_row_or_live_claim_holds,
    a_claim_waits_while_the_sweep_holds_its_key,
    rows_commit_only_while_their_claims_live,
    an_upload_deduplicating_onto_a_blob_being_swept_never_loses_it,
    a_dropped_upload_removes_only_what_no_one_else_holds,
);

async fn the_sweep_takes_only_old_originals_no_row_or_live_claim_holds(backend: &str) {
    let Some(r) = rig(backend).await else { return };
    let d = dossier(&*r.repo, "XA").await;
    let referenced = put(&*r.store, b"referenced").await;
    r.repo
        .add_attachments(&d, &[attachment(&referenced)], None, &job, &Actor::Admin)
        .await
        .unwrap();
    let claimed = put(&*r.store, b"claimed by an upload in progress").await;
    r.repo
        .claim_blob("live", claimed.key.as_str(), now_millis() + 60_000)
        .await
        .unwrap();
    let expired = put(&*r.store, b"claimed by an upload that died").await;
    r.repo
        .claim_blob("dead", expired.key.as_str(), now_millis() - 1)
        .await
        .unwrap();
    let orphan = put(&*r.store, b"left by a crash").await;

    // Everything is younger than an hour: nothing is even considered.
    let first = sweep(&*r.repo, &*r.store, Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(
        (first.considered, first.removed, first.expired_claims),
        (0, 0, 1)
    );
    assert!(r.store.exists(&orphan.key).await.unwrap());

    let second = sweep(&*r.repo, &*r.store, Duration::ZERO).await.unwrap();
    assert_eq!((second.considered, second.removed), (4, 2), "{second:?}");
    for (b, kept) in [
        (&referenced, true),
        (&claimed, true),
        (&expired, false),
        (&orphan, false),
    ] {
        assert_eq!(r.store.exists(&b.key).await.unwrap(), kept, "{}", b.key);
    }
}

async fn a_claim_waits_while_the_sweep_holds_its_key(backend: &str) {
    let Some(r) = rig(backend).await else { return };
    let b = put(&*r.store, b"an orphan being removed").await;
    let lock = r
        .repo
        .lock_orphan(b.key.as_str(), now_millis())
        .await
        .unwrap();
    let lock = lock.expect("nothing holds it");
    let (repo, key) = (r.repo.clone(), b.key.to_string());
    let claim =
        tokio::spawn(async move { repo.claim_blob("u", &key, now_millis() + 60_000).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !claim.is_finished(),
        "a claim must wait for the sweep's hold"
    );
    r.store.delete(&b.key).await.unwrap();
    lock.release().await.unwrap();
    claim.await.unwrap().unwrap();
    // Claimed now: the sweep leaves it (the upload publishes the bytes again).
    assert!(
        r.repo
            .lock_orphan(b.key.as_str(), now_millis())
            .await
            .unwrap()
            .is_none()
    );
}

async fn rows_commit_only_while_their_claims_live(backend: &str) {
    let Some(r) = rig(backend).await else { return };
    let d = dossier(&*r.repo, "XA").await;
    let b = put(&*r.store, b"slow upload").await;
    r.repo
        .claim_blob("slow", b.key.as_str(), now_millis() - 1)
        .await
        .unwrap();
    let err = r
        .repo
        .add_attachments(&d, &[attachment(&b)], Some("slow"), &job, &Actor::Admin)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RepoError::Unavailable(m) if m == crate::repo::CLAIM_LOST),
        "{err}"
    );
    assert!(r.repo.attachment_views(d.id).await.unwrap().is_empty());
    // Never claimed at all: the same.
    assert!(
        r.repo
            .add_attachments(&d, &[attachment(&b)], Some("other"), &job, &Actor::Admin)
            .await
            .is_err()
    );
    upload(&r, &d, b"slow upload").await.unwrap();
    assert_eq!(r.repo.attachment_views(d.id).await.unwrap().len(), 1);
    // The commit dropped the claim with the rows; the expired one of "slow" remains, until the
    // sweep drops it.
    assert_eq!(
        r.repo
            .drop_expired_claims(now_millis() + 120_000)
            .await
            .unwrap(),
        1
    );
}

async fn an_upload_deduplicating_onto_a_blob_being_swept_never_loses_it(backend: &str) {
    let Some(r) = rig(backend).await else { return };
    let d = dossier(&*r.repo, "XA").await;
    let r = Arc::new(r);
    for round in 0..60u32 {
        // An orphan (a crash left it), and at once an upload of the same bytes and a sweep.
        let bytes = format!("page of round {round}").into_bytes();
        let orphan = put(&*r.store, &bytes).await;
        let (r1, d1, b1) = (r.clone(), d.clone(), bytes.clone());
        let up = tokio::spawn(async move { upload(&r1, &d1, &b1).await });
        if round % 2 == 0 {
            tokio::task::yield_now().await;
        }
        sweep(&*r.repo, &*r.store, Duration::ZERO).await.unwrap();
        up.await.unwrap().unwrap();
        assert!(
            r.store.exists(&orphan.key).await.unwrap(),
            "round {round}: the committed attachment lost its original"
        );
    }
    assert_eq!(r.repo.attachment_views(d.id).await.unwrap().len(), 60);
}

async fn a_dropped_upload_removes_only_what_no_one_else_holds(backend: &str) {
    let Some(r) = rig(backend).await else { return };
    let d = dossier(&*r.repo, "XA").await;
    let kept = put(&*r.store, b"accepted before").await;
    r.repo
        .add_attachments(&d, &[attachment(&kept)], None, &job, &Actor::Admin)
        .await
        .unwrap();
    let shared = put(&*r.store, b"also being uploaded by another client").await;
    r.repo
        .claim_blob("other", shared.key.as_str(), now_millis() + 60_000)
        .await
        .unwrap();
    let mine = put(&*r.store, b"only in the refused request").await;
    let mut claims = UploadClaims::new(r.repo.clone(), r.store.clone(), Duration::from_secs(60));
    for b in [&kept, &shared, &mine] {
        claims.claim(&b.key).await.unwrap();
    }
    drop(claims);
    let t = std::time::Instant::now();
    while r.store.exists(&mine.key).await.unwrap() {
        assert!(t.elapsed() < Duration::from_secs(10), "not removed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(r.store.exists(&kept.key).await.unwrap());
    assert!(r.store.exists(&shared.key).await.unwrap());
}
