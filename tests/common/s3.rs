//! S3 test set-up. Tests that need an S3 store use the one at `MOTCUA_TEST_S3_ENDPOINT`
//! (`scripts/s3.sh start && eval "$(scripts/s3.sh env)"`), each in a bucket of its own, and are
//! skipped, loudly, when it is not set.

use std::path::Path;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use sha2::{Digest, Sha256};

pub const ENDPOINT_VAR: &str = "MOTCUA_TEST_S3_ENDPOINT";

pub fn endpoint() -> Option<String> {
    std::env::var(ENDPOINT_VAR).ok().filter(|e| !e.is_empty())
}

/// The endpoint, or `None` after saying why the test does not run.
pub fn endpoint_or_skip(test: &str) -> Option<String> {
    let e = endpoint();
    if e.is_none() {
        eprintln!(
            "SKIPPED {test}: set {ENDPOINT_VAR} (scripts/s3.sh start && eval \"$(scripts/s3.sh env)\")"
        );
    }
    e
}

/// The keys of the test store: the environment's, else those `scripts/s3.sh` starts it with.
pub fn keys() -> (String, String) {
    let get = |k: &str, default: &str| std::env::var(k).unwrap_or_else(|_| default.to_string());
    (
        get("AWS_ACCESS_KEY_ID", "motcua-dev"),
        get("AWS_SECRET_ACCESS_KEY", "motcua-dev-secret"),
    )
}

pub fn fresh_bucket() -> String {
    format!("motcua-test-{}", uuid::Uuid::new_v4().simple())
}

/// The bucket of a test's data dir: the same for every process the test starts.
pub fn bucket_for(dir: &Path) -> String {
    let h = hex::encode(Sha256::digest(dir.to_string_lossy().as_bytes()));
    format!("motcua-test-{}", &h[..32])
}

/// Environment that puts a `motcua` process's blobs in S3 (bucket of `dir`, created at
/// start-up), when `MOTCUA_TEST_S3_ENDPOINT` is set; empty otherwise (filesystem store).
pub fn store_env(dir: &Path) -> Vec<(String, String)> {
    match endpoint() {
        Some(e) => store_env_at(&e, &bucket_for(dir)),
        None => Vec::new(),
    }
}

pub fn store_env_at(endpoint: &str, bucket: &str) -> Vec<(String, String)> {
    let (key, secret) = keys();
    [
        ("MOTCUA__STORE__KIND", "s3"),
        ("MOTCUA__STORE__ENDPOINT", endpoint),
        ("MOTCUA__STORE__BUCKET", bucket),
        ("MOTCUA__STORE__CREATE_BUCKET", "true"),
        ("AWS_ACCESS_KEY_ID", &key),
        ("AWS_SECRET_ACCESS_KEY", &secret),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .into()
}

pub fn sdk_config() -> aws_config::SdkConfig {
    let (key, secret) = keys();
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(
            Credentials::new(key, secret, None, None, "motcua-tests"),
        ))
        .build()
}

/// A plain client on the test store, to look at buckets behind the store's back.
pub fn client(endpoint: &str) -> Client {
    let conf = aws_sdk_s3::config::Builder::from(&sdk_config())
        .endpoint_url(endpoint)
        .force_path_style(true)
        .build();
    Client::from_conf(conf)
}

/// Every key under `prefix` (empty: the whole bucket; a missing bucket has none).
pub async fn keys_under(c: &Client, bucket: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut pages = c
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        match page {
            Ok(p) => out.extend(
                p.contents()
                    .iter()
                    .filter_map(|o| o.key().map(String::from)),
            ),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_bucket()) => break,
            Err(e) => panic!("listing {bucket}: {e:?}"),
        }
    }
    out
}

/// Keys of multipart uploads not completed nor aborted under `prefix`.
pub async fn pending_uploads(c: &Client, bucket: &str, prefix: &str) -> Vec<String> {
    let r = c
        .list_multipart_uploads()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .unwrap_or_else(|e| panic!("listing uploads of {bucket}: {e:?}"));
    r.uploads()
        .iter()
        .filter_map(|u| u.key().map(String::from))
        .collect()
}

/// Runs an async check from a blocking test.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Keys of the blobs a test's processes stored: the files under `<dir>/blobs` (relative), or
/// the objects of the test's bucket when the tests run on S3.
pub fn stored_blobs(dir: &Path) -> Vec<String> {
    match endpoint() {
        Some(e) => block_on(keys_under(&client(&e), &bucket_for(dir), "")),
        None => {
            let root = dir.join("blobs");
            let mut out = Vec::new();
            let mut todo = vec![root.clone()];
            while let Some(d) = todo.pop() {
                for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                    if e.path().is_dir() {
                        todo.push(e.path());
                    } else if let Ok(rel) = e.path().strip_prefix(&root) {
                        out.push(rel.to_string_lossy().into_owned());
                    }
                }
            }
            out
        }
    }
}

/// Puts `bytes` under `key` in the store of a test's data dir, behind the service's back (what a
/// crash between storing and committing leaves).
pub fn put_blob(dir: &Path, key: &str, bytes: &[u8]) {
    match endpoint() {
        Some(e) => block_on(async {
            client(&e)
                .put_object()
                .bucket(bucket_for(dir))
                .key(key)
                .body(bytes.to_vec().into())
                .send()
                .await
                .expect("put a blob");
        }),
        None => {
            let path = dir.join("blobs").join(key);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        }
    }
}
