//! Partial (resumable) uploads in both blob stores: bytes appended over several requests,
//! across new writers (as after a restart), a refused request that leaves no trace, a crash
//! between storing and recording, publishing as an original, and removal. On the filesystem
//! always; on S3 (SeaweedFS) when `MOTCUA_TEST_S3_ENDPOINT` is set, with 5 MiB parts.

mod common;

use std::path::Path;

use common::s3::{client, endpoint_or_skip, fresh_bucket, keys_under, pending_uploads, sdk_config};
use motcua::config::S3StoreConfig;
use motcua::store::{BlobKey, BlobStore, FsStore, PartialId, S3Store};
use sha2::{Digest, Sha256};

const MIB: usize = 1024 * 1024;

/// Writes `bytes` at `offset` onto `state` in 64 KiB pieces and commits.
async fn request(
    s: &dyn BlobStore,
    id: &PartialId,
    offset: usize,
    state: &str,
    bytes: &[u8],
) -> String {
    let mut w = s.resume_partial(id, offset as u64, state).await.unwrap();
    for c in bytes.chunks(64 * 1024) {
        w.write(c).await.unwrap();
    }
    w.commit().await.unwrap()
}

/// The scenario; `leftovers` lists what the store still holds of partial uploads.
async fn scenario(
    s: &dyn BlobStore,
    leftovers: &dyn Fn() -> futures::future::BoxFuture<'static, Vec<String>>,
) {
    let all = common::pseudo_random(12 * MIB + 12_345, 7);
    let id = PartialId::random();
    let a = 3 * MIB;
    let b = a + 4 * MIB; // crosses a 5 MiB part
    let s1 = request(s, &id, 0, "", &all[..a]).await;
    let s2 = request(s, &id, a, &s1, &all[a..b]).await;
    s.settle_partial(&id, &s1, &s2).await.unwrap();

    // A request refused (checksum): discarded, the recorded state is still good.
    let mut w = s.resume_partial(&id, b as u64, &s2).await.unwrap();
    w.write(&vec![0xEE; 2 * MIB]).await.unwrap();
    w.discard().await.unwrap();
    // A crash after storing, before recording: a new request from the record drops those bytes.
    let lost = request(s, &id, b, &s2, &vec![0xAB; 3 * MIB]).await;
    let _ = lost;
    let beyond = (2 * all.len()) as u64;
    assert!(
        s.resume_partial(&id, beyond, &s2).await.is_err(),
        "more than the store holds"
    );

    let s3 = request(s, &id, b, &s2, &all[b..]).await;
    s.settle_partial(&id, &s2, &s3).await.unwrap();
    let sha = hex::encode(Sha256::digest(&all));
    let blob = s
        .finish_partial(&id, &s3, all.len() as u64, &sha)
        .await
        .unwrap();
    assert!(blob.created);
    assert_eq!(blob.key, BlobKey::original(&sha).unwrap());
    assert_eq!(
        s.get_bytes(&blob.key).await.unwrap(),
        all,
        "exactly the recorded bytes"
    );
    // Finished again (a crash before the attachment row): the original is found.
    let again = s
        .finish_partial(&id, &s3, all.len() as u64, &sha)
        .await
        .unwrap();
    assert!(!again.created);
    s.delete_partial(&id, &s3).await.unwrap();
    assert_eq!(leftovers().await, Vec::<String>::new());
    assert_eq!(
        s.get_bytes(&blob.key).await.unwrap(),
        all,
        "the original outlives its partial"
    );

    // A small upload (no full part) is published too, and a terminated one leaves nothing.
    let small = &all[..100_000];
    let id = PartialId::random();
    let st = request(s, &id, 0, "", &small[..40_000]).await;
    let st2 = request(s, &id, 40_000, &st, &small[40_000..]).await;
    s.settle_partial(&id, &st, &st2).await.unwrap();
    let sha = hex::encode(Sha256::digest(small));
    let blob = s
        .finish_partial(&id, &st2, small.len() as u64, &sha)
        .await
        .unwrap();
    assert_eq!(s.get_bytes(&blob.key).await.unwrap(), small);
    s.delete_partial(&id, &st2).await.unwrap();
    let id = PartialId::random();
    let st = request(s, &id, 0, "", &all[..6 * MIB]).await;
    s.delete_partial(&id, &st).await.unwrap();
    assert_eq!(leftovers().await, Vec::<String>::new());
}

fn files_under(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn partial_uploads_on_the_filesystem() {
    let dir = tempfile::tempdir().unwrap();
    let s = FsStore::open(dir.path()).await.unwrap();
    let root = dir.path().join("partial");
    scenario(&s, &move || {
        let root = root.clone();
        Box::pin(async move { files_under(&root) })
    })
    .await;
}

#[tokio::test]
async fn partial_uploads_on_s3() {
    let Some(ep) = endpoint_or_skip("partial_uploads_on_s3") else {
        return;
    };
    let bucket = fresh_bucket();
    let cfg = S3StoreConfig {
        bucket: bucket.clone(),
        endpoint: Some(ep.clone()),
        part_size_bytes: 5 * MIB as u64,
        create_bucket: true,
        ..Default::default()
    };
    let s = S3Store::with_sdk_config(&sdk_config(), &cfg).await.unwrap();
    scenario(&s, &move || {
        let (ep, bucket) = (ep.clone(), bucket.clone());
        Box::pin(async move {
            let c = client(&ep);
            let mut left = keys_under(&c, &bucket, "partial/").await;
            left.extend(pending_uploads(&c, &bucket, "partial/").await);
            left
        })
    })
    .await;
}
