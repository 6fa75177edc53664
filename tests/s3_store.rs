//! The S3 blob store against a real S3 server (SeaweedFS from `scripts/s3.sh`), each test in a
//! bucket of its own. Skipped, loudly, unless `MOTCUA_TEST_S3_ENDPOINT` is set.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::pseudo_random as data;
use common::s3::{client, endpoint_or_skip, fresh_bucket, keys_under, pending_uploads, sdk_config};
use motcua::config::S3StoreConfig;
use motcua::store::{BlobKey, BlobStore, S3Store, StoreError};
use sha2::{Digest, Sha256};

const MIB: usize = 1024 * 1024;

fn config(endpoint: &str, bucket: &str) -> S3StoreConfig {
    S3StoreConfig {
        bucket: bucket.into(),
        endpoint: Some(endpoint.into()),
        part_size_bytes: 5 * MIB as u64,
        create_bucket: true,
        ..Default::default()
    }
}

async fn store(endpoint: &str, bucket: &str) -> S3Store {
    S3Store::with_sdk_config(&sdk_config(), &config(endpoint, bucket))
        .await
        .expect("open the S3 store")
}

/// Polls `f` until it returns true (cleanup of a dropped writer runs in a spawned task).
async fn eventually(what: &str, mut f: impl AsyncFnMut() -> bool) {
    let t = Instant::now();
    while !f().await {
        assert!(t.elapsed() < Duration::from_secs(10), "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn put_get_exists_delete_and_invalid_keys() {
    let Some(ep) = endpoint_or_skip("put_get_exists_delete_and_invalid_keys") else {
        return;
    };
    let bucket = fresh_bucket();
    let s = store(&ep, &bucket).await;
    let key = BlobKey::derived(&"0f".repeat(32), "v1", "pdf").unwrap();
    assert!(!s.exists(&key).await.unwrap());
    assert!(matches!(s.get(&key).await, Err(StoreError::NotFound(k)) if k == key.as_str()));
    s.put_bytes(&key, Bytes::from_static(b"first"))
        .await
        .unwrap();
    s.put_bytes(&key, Bytes::from_static(b"second"))
        .await
        .unwrap();
    assert!(s.exists(&key).await.unwrap());
    assert_eq!(s.get_bytes(&key).await.unwrap(), b"second");
    let c = client(&ep);
    assert_eq!(
        keys_under(&c, &bucket, "").await,
        [key.as_str()],
        "the object key is the blob key"
    );
    s.delete(&key).await.unwrap();
    assert!(!s.exists(&key).await.unwrap());
    s.delete(&key).await.unwrap();
    s.check_writable().await.unwrap();
    assert_eq!(keys_under(&c, &bucket, "").await, Vec::<String>::new());
    // Keys never come from clients; anything that is not a plain key is refused before S3.
    for bad in ["../x", "a//b", "A/b", "/etc/passwd"] {
        assert!(matches!(
            BlobKey::parse(bad),
            Err(StoreError::InvalidKey(_))
        ));
    }
}

#[tokio::test]
async fn a_prefix_is_put_in_front_of_every_key() {
    let Some(ep) = endpoint_or_skip("a_prefix_is_put_in_front_of_every_key") else {
        return;
    };
    let bucket = fresh_bucket();
    let cfg = S3StoreConfig {
        prefix: "motcua/prod".into(),
        ..config(&ep, &bucket)
    };
    let s = S3Store::with_sdk_config(&sdk_config(), &cfg).await.unwrap();
    let b = s
        .put_stream(Box::pin(futures::stream::iter([Ok(Bytes::from_static(
            b"scan",
        ))])))
        .await
        .unwrap();
    assert_eq!(
        keys_under(&client(&ep), &bucket, "").await,
        [format!("motcua/prod/{}", b.key)]
    );
    assert_eq!(s.get_bytes(&b.key).await.unwrap(), b"scan");
}

#[tokio::test]
async fn a_large_original_is_streamed_in_parts_hashed_and_deduplicated() {
    let Some(ep) =
        endpoint_or_skip("a_large_original_is_streamed_in_parts_hashed_and_deduplicated")
    else {
        return;
    };
    let bucket = fresh_bucket();
    let s = store(&ep, &bucket).await;
    let c = client(&ep);
    let bytes = data(12 * MIB + 12_345, 1);
    let sha = hex::encode(Sha256::digest(&bytes));

    let mut w = s.writer().await.unwrap();
    for chunk in bytes.chunks(64 * 1024) {
        w.write(chunk).await.unwrap();
    }
    assert_eq!(w.bytes_written(), bytes.len() as u64);
    // Two full parts are on the server already, as a multipart upload under tmp/.
    assert_eq!(pending_uploads(&c, &bucket, "tmp/").await.len(), 1);
    let b = w.finish().await.unwrap();
    assert_eq!(b.sha256, sha);
    assert_eq!(b.key, BlobKey::original(&sha).unwrap());
    assert_eq!(b.bytes, bytes.len() as u64);
    assert!(b.created);
    let back = s.get_bytes(&b.key).await.unwrap();
    assert!(back == bytes, "the blob comes back byte for byte");
    assert_eq!(keys_under(&c, &bucket, "").await, [b.key.to_string()]);
    assert!(pending_uploads(&c, &bucket, "").await.is_empty());

    // Same content again, in other chunks: the blob is kept, nothing else is left.
    let again = s
        .put_stream(Box::pin(futures::stream::iter(
            bytes
                .chunks(1_000_003)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect::<Vec<_>>(),
        )))
        .await
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.key, b.key);
    assert_eq!(keys_under(&c, &bucket, "").await, [b.key.to_string()]);
    assert!(pending_uploads(&c, &bucket, "").await.is_empty());

    // A small file goes in one PUT, straight to its key; the same bytes again are not created.
    let small = data(100_000, 2);
    let one = |b: &[u8]| Box::pin(futures::stream::iter([Ok(Bytes::copy_from_slice(b))]));
    let a = s.put_stream(one(&small)).await.unwrap();
    assert!(a.created);
    assert_eq!(a.sha256, hex::encode(Sha256::digest(&small)));
    assert!(!s.put_stream(one(&small)).await.unwrap().created);
    assert_eq!(s.get_bytes(&a.key).await.unwrap(), small);
    // Exactly one part: still a single PUT.
    let part = data(5 * MIB, 3);
    let p = s.put_stream(one(&part)).await.unwrap();
    assert_eq!(s.get_bytes(&p.key).await.unwrap(), part);
    assert!(keys_under(&c, &bucket, "tmp/").await.is_empty());
    assert!(pending_uploads(&c, &bucket, "").await.is_empty());
}

#[tokio::test]
async fn a_dropped_writer_leaves_no_temp_object_nor_pending_upload() {
    let Some(ep) = endpoint_or_skip("a_dropped_writer_leaves_no_temp_object_nor_pending_upload")
    else {
        return;
    };
    let bucket = fresh_bucket();
    let s = store(&ep, &bucket).await;
    let c = client(&ep);
    let bytes = data(11 * MIB, 4);
    let mut w = s.writer().await.unwrap();
    w.write(&bytes).await.unwrap();
    assert_eq!(pending_uploads(&c, &bucket, "tmp/").await.len(), 1);
    drop(w);
    eventually("the multipart upload is aborted", async || {
        pending_uploads(&c, &bucket, "").await.is_empty()
    })
    .await;
    assert!(keys_under(&c, &bucket, "").await.is_empty());

    // A small one never reached the server.
    let mut w = s.writer().await.unwrap();
    w.write(b"half of a scan").await.unwrap();
    drop(w);
    assert!(keys_under(&c, &bucket, "").await.is_empty());
}

#[tokio::test]
async fn the_sweep_removes_what_a_crash_left_under_tmp() {
    let Some(ep) = endpoint_or_skip("the_sweep_removes_what_a_crash_left_under_tmp") else {
        return;
    };
    let bucket = fresh_bucket();
    let s = store(&ep, &bucket).await;
    let c = client(&ep);
    // What a process killed mid-upload leaves: a temp object and an unfinished upload.
    c.put_object()
        .bucket(&bucket)
        .key("tmp/deadbeef")
        .body(Bytes::from_static(b"x").into())
        .send()
        .await
        .unwrap();
    c.create_multipart_upload()
        .bucket(&bucket)
        .key("tmp/cafebabe")
        .send()
        .await
        .unwrap();
    let kept = BlobKey::derived(&"ab".repeat(32), "v1", "pdf").unwrap();
    s.put_bytes(&kept, Bytes::from_static(b"pdf"))
        .await
        .unwrap();
    // Recent leftovers may belong to uploads in progress: kept.
    assert_eq!(
        s.sweep_tmp(Duration::from_secs(3600)).await.unwrap(),
        (0, 0)
    );
    assert_eq!(s.sweep_tmp(Duration::ZERO).await.unwrap(), (1, 1));
    assert_eq!(keys_under(&c, &bucket, "").await, [kept.to_string()]);
    assert!(pending_uploads(&c, &bucket, "").await.is_empty());
}

#[tokio::test]
async fn an_unreachable_store_is_unavailable_not_an_internal_error() {
    let Some(_) = endpoint_or_skip("an_unreachable_store_is_unavailable_not_an_internal_error")
    else {
        return;
    };
    // Nothing listens on a port that was just free.
    let port = common::free_port();
    let cfg = S3StoreConfig {
        max_attempts: 2,
        initial_backoff_ms: 10,
        max_backoff_ms: 10,
        connect_timeout_ms: 500,
        create_bucket: false,
        ..config(&format!("http://127.0.0.1:{port}"), "motcua-nowhere")
    };
    let s = S3Store::with_sdk_config(&sdk_config(), &cfg).await.unwrap();
    let key = BlobKey::derived(&"0f".repeat(32), "v1", "pdf").unwrap();
    let t = Instant::now();
    let unavailable = |r: Result<(), StoreError>| matches!(r, Err(StoreError::Unavailable(_)));
    assert!(unavailable(s.exists(&key).await.map(|_| ())));
    assert!(unavailable(s.get(&key).await.map(|_| ())));
    assert!(unavailable(
        s.put_bytes(&key, Bytes::from_static(b"x")).await
    ));
    assert!(unavailable(s.check_writable().await));
    let mut w = s.writer().await.unwrap();
    w.write(b"a scan").await.unwrap();
    assert!(unavailable(w.finish().await.map(|_| ())));
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());

    // With `create_bucket`, start-up fails with the same typed error.
    let e = S3Store::with_sdk_config(
        &sdk_config(),
        &S3StoreConfig {
            create_bucket: true,
            ..cfg
        },
    )
    .await
    .err()
    .expect("no store to create a bucket in");
    assert!(e.is_unavailable(), "{e}");
}
