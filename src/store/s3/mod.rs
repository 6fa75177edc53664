//! S3-compatible blob store (AWS S3, SeaweedFS, MinIO, Ceph RGW) on aws-sdk-s3. Keys are the
//! validated [`BlobKey`]s under an optional prefix; originals are streamed (see [`writer`]).
//! Retries with exponential backoff and timeouts come from the SDK, configured by `[store]`.
//! Credentials come from the standard AWS chain, never from our config file.
//!
//! Crash leftovers live under `<prefix>tmp/`: [`S3Store::sweep_tmp`] removes old ones at
//! start-up; in production also add a bucket lifecycle rule on `tmp/` (expire objects and abort
//! incomplete multipart uploads after a day).

mod error;
mod multipart;
mod partial;
mod writer;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{Region, RequestChecksumCalculation};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use bytes::Bytes;
use futures::StreamExt;

use super::{
    BlobKey, BlobStore, BlobStream, BlobWriter, ListStream, ListedBlob, PartialId, PartialWriter,
    StoreError, StoredBlob,
};
use crate::config::S3StoreConfig;

/// Client, bucket and key prefix, shared by the store and its writers.
struct Target {
    client: Client,
    bucket: String,
    /// Empty or ending in `/`.
    prefix: String,
}

impl Target {
    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    async fn exists_key(&self, key: &str) -> Result<bool, StoreError> {
        let r = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await;
        match r.map_err(|e| error::map("HeadObject", key, e)) {
            Ok(_) => Ok(true),
            Err(StoreError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// One PUT, atomic: the object appears whole or not at all.
    async fn put_key(&self, key: &str, body: impl Into<Bytes>) -> Result<(), StoreError> {
        let body: Bytes = body.into();
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .checksum_sha256(writer::sha256_b64(&body))
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| error::map("PutObject", key, e))?;
        Ok(())
    }

    async fn copy_key(&self, from: &str, to: &str) -> Result<(), StoreError> {
        self.client
            .copy_object()
            .bucket(&self.bucket)
            .key(to)
            .copy_source(format!("{}/{from}", self.bucket))
            .send()
            .await
            .map_err(|e| error::map("CopyObject", to, e))?;
        Ok(())
    }

    async fn delete_key(&self, key: &str) -> Result<(), StoreError> {
        let r = self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await;
        match r.map_err(|e| error::map("DeleteObject", key, e)) {
            Ok(_) | Err(StoreError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn abort(&self, key: &str, upload_id: &str) -> Result<(), StoreError> {
        let r = self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .send()
            .await;
        match r.map_err(|e| error::map("AbortMultipartUpload", key, e)) {
            Ok(_) | Err(StoreError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

pub struct S3Store {
    t: Arc<Target>,
    part_size: usize,
    /// `sweep_tmp_after_secs`; `None`: never.
    tmp_age: Option<Duration>,
}

impl S3Store {
    /// Credentials and the rest of the environment from the standard AWS chain.
    pub async fn open(cfg: &S3StoreConfig) -> Result<Self, StoreError> {
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(cfg.region.clone()))
            .load()
            .await;
        Self::with_sdk_config(&sdk, cfg).await
    }

    /// As [`S3Store::open`] on a given SDK config (tests pass static credentials).
    pub async fn with_sdk_config(sdk: &SdkConfig, cfg: &S3StoreConfig) -> Result<Self, StoreError> {
        let ms = Duration::from_millis;
        let mut b = aws_sdk_s3::config::Builder::from(sdk)
            .region(Region::new(cfg.region.clone()))
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(cfg.max_attempts)
                    .with_initial_backoff(ms(cfg.initial_backoff_ms))
                    .with_max_backoff(ms(cfg.max_backoff_ms)),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(ms(cfg.connect_timeout_ms))
                    .operation_attempt_timeout(ms(cfg.attempt_timeout_ms))
                    .operation_timeout(ms(cfg.operation_timeout_ms))
                    .build(),
            )
            // We send our own SHA-256 with every upload; no second (CRC32) checksum.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .force_path_style(cfg.force_path_style.unwrap_or(cfg.endpoint.is_some()));
        if let Some(e) = &cfg.endpoint {
            b = b.endpoint_url(e);
        }
        let mut prefix = cfg.prefix.trim_end_matches('/').to_string();
        if !prefix.is_empty() {
            prefix.push('/');
        }
        let store = Self {
            t: Arc::new(Target {
                client: Client::from_conf(b.build()),
                bucket: cfg.bucket.clone(),
                prefix,
            }),
            part_size: usize::try_from(cfg.part_size_bytes).unwrap_or(usize::MAX),
            tmp_age: (cfg.sweep_tmp_after_secs > 0)
                .then(|| Duration::from_secs(cfg.sweep_tmp_after_secs)),
        };
        if cfg.create_bucket {
            store.ensure_bucket(&cfg.region).await?;
        }
        if cfg.sweep_tmp_after_secs > 0 {
            // In the background: a store that is down at start-up must not stop the process
            // (readiness reports it), and a large sweep must not delay it.
            let t = store.t.clone();
            let age = Duration::from_secs(cfg.sweep_tmp_after_secs);
            tokio::spawn(async move {
                match sweep(&t, age).await {
                    Ok((0, 0)) => {}
                    Ok((o, u)) => {
                        tracing::info!(objects = o, uploads = u, "removed leftovers under tmp/")
                    }
                    Err(e) => tracing::warn!("tmp/ sweep failed: {e}"),
                }
            });
        }
        Ok(store)
    }

    /// Creates the bucket if it does not exist.
    async fn ensure_bucket(&self, region: &str) -> Result<(), StoreError> {
        let t = &self.t;
        let head = t.client.head_bucket().bucket(&t.bucket).send().await;
        match head.map_err(|e| error::map("HeadBucket", &t.bucket, e)) {
            Ok(_) => return Ok(()),
            Err(StoreError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        let mut create = t.client.create_bucket().bucket(&t.bucket);
        if region != "us-east-1" {
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region))
                    .build(),
            );
        }
        match create.send().await {
            Ok(_) => {
                tracing::info!(bucket = %t.bucket, "bucket created");
                Ok(())
            }
            Err(e)
                if matches!(
                    aws_sdk_s3::error::ProvideErrorMetadata::code(&e),
                    Some("BucketAlreadyOwnedByYou" | "BucketAlreadyExists")
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(error::map("CreateBucket", &t.bucket, e)),
        }
    }

    /// Removes temp objects and aborts multipart uploads under `tmp/` older than `age`:
    /// leftovers of processes that died mid-upload. Returns (objects, uploads) removed.
    pub async fn sweep_tmp(&self, age: Duration) -> Result<(usize, usize), StoreError> {
        sweep(&self.t, age).await
    }
}

/// Every object under `prefix` whose key (below the store's prefix) is a valid blob key.
fn list(t: Arc<Target>, prefix: &str) -> ListStream {
    let (tx, rx) = tokio::sync::mpsc::channel(1024);
    let prefix = t.key(prefix);
    tokio::spawn(async move {
        let mut pages = t
            .client
            .list_objects_v2()
            .bucket(&t.bucket)
            .prefix(&prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = match page.map_err(|e| error::map("ListObjectsV2", &prefix, e)) {
                Ok(p) => p,
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            };
            for o in page.contents() {
                // Objects of others under a shared prefix are not ours to list.
                let Some(key) = o
                    .key()
                    .and_then(|k| k.strip_prefix(&t.prefix))
                    .and_then(|k| BlobKey::parse(k).ok())
                else {
                    continue;
                };
                let modified = o
                    .last_modified()
                    .and_then(|d| SystemTime::try_from(*d).ok());
                if tx.send(Ok(ListedBlob { key, modified })).await.is_err() {
                    return;
                }
            }
        }
    });
    super::list_stream(rx)
}

async fn sweep(t: &Arc<Target>, age: Duration) -> Result<(usize, usize), StoreError> {
    let prefix = t.key("tmp/");
    let cutoff = SystemTime::now() - age;
    let old = |d: Option<&aws_sdk_s3::primitives::DateTime>| {
        d.and_then(|d| SystemTime::try_from(*d).ok())
            .is_some_and(|d| d <= cutoff)
    };
    let mut objects = 0;
    let mut listed = list(t.clone(), "tmp/");
    while let Some(b) = listed.next().await {
        let b = b?;
        if b.modified.is_some_and(|m| m <= cutoff) {
            t.delete_key(&t.key(b.key.as_str())).await?;
            objects += 1;
        }
    }
    let mut uploads = 0;
    let (mut key_marker, mut id_marker) = (None::<String>, None::<String>);
    loop {
        let page = t
            .client
            .list_multipart_uploads()
            .bucket(&t.bucket)
            .prefix(&prefix)
            .set_key_marker(key_marker.take())
            .set_upload_id_marker(id_marker.take())
            .send()
            .await
            .map_err(|e| error::map("ListMultipartUploads", &prefix, e))?;
        for u in page.uploads() {
            if let (Some(k), Some(id)) = (u.key(), u.upload_id())
                && old(u.initiated())
            {
                t.abort(k, id).await?;
                uploads += 1;
            }
        }
        if page.is_truncated() != Some(true) {
            break;
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        id_marker = page.next_upload_id_marker().map(str::to_owned);
        if key_marker.is_none() {
            break;
        }
    }
    Ok((objects, uploads))
}

#[async_trait]
impl BlobStore for S3Store {
    async fn writer(&self) -> Result<Box<dyn BlobWriter>, StoreError> {
        Ok(Box::new(writer::S3Writer::new(
            self.t.clone(),
            self.part_size,
        )))
    }

    async fn put_bytes(&self, key: &BlobKey, bytes: Bytes) -> Result<(), StoreError> {
        self.t.put_key(&self.t.key(key.as_str()), bytes).await
    }

    async fn get(&self, key: &BlobKey) -> Result<BlobStream, StoreError> {
        let k = self.t.key(key.as_str());
        let out = self
            .t
            .client
            .get_object()
            .bucket(&self.t.bucket)
            .key(&k)
            .send()
            .await
            .map_err(|e| match error::map("GetObject", &k, e) {
                StoreError::NotFound(_) => StoreError::NotFound(key.to_string()),
                e => e,
            })?;
        let stream = futures::stream::try_unfold(out.body, move |mut body| {
            let k = k.clone();
            async move {
                match body.try_next().await {
                    Ok(Some(chunk)) => Ok(Some((chunk, body))),
                    Ok(None) => Ok(None),
                    Err(e) => Err(std::io::Error::other(error::body("GetObject", &k, e))),
                }
            }
        });
        Ok(Box::pin(stream))
    }

    async fn exists(&self, key: &BlobKey) -> Result<bool, StoreError> {
        self.t.exists_key(&self.t.key(key.as_str())).await
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), StoreError> {
        self.t.delete_key(&self.t.key(key.as_str())).await
    }

    async fn check_writable(&self) -> Result<(), StoreError> {
        let probe = self
            .t
            .key(&format!("tmp/probe-{}", uuid::Uuid::new_v4().simple()));
        self.t.put_key(&probe, Bytes::from_static(b"ok")).await?;
        self.t.delete_key(&probe).await
    }

    fn list(&self, prefix: &str) -> ListStream {
        list(self.t.clone(), prefix)
    }

    async fn sweep_leftovers(&self) -> Result<usize, StoreError> {
        match self.tmp_age {
            Some(age) => sweep(&self.t, age).await.map(|(o, u)| o + u),
            None => Ok(0),
        }
    }

    async fn resume_partial(
        &self,
        id: &PartialId,
        offset: u64,
        state: &str,
    ) -> Result<Box<dyn PartialWriter>, StoreError> {
        partial::resume(self.t.clone(), self.part_size, id, offset, state).await
    }

    async fn settle_partial(&self, id: &PartialId, old: &str, new: &str) -> Result<(), StoreError> {
        partial::settle(&self.t, id, old, new).await
    }

    async fn finish_partial(
        &self,
        id: &PartialId,
        state: &str,
        bytes: u64,
        sha256: &str,
    ) -> Result<StoredBlob, StoreError> {
        partial::finish(&self.t, id, state, bytes, sha256).await
    }

    async fn delete_partial(&self, id: &PartialId, state: &str) -> Result<(), StoreError> {
        partial::delete(&self.t, id, state).await
    }
}
