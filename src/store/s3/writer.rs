//! Streamed upload of an original to S3. Its key is known only once every byte is hashed, so:
//! - up to one part (`part_size_bytes`) is buffered; a file that fits goes in one PUT straight to
//!   its final key (the hash is complete before a byte is sent);
//! - a larger file is a multipart upload to `tmp/<uuid>`, one part whenever the buffer fills,
//!   then copied server-side to its final key and the temp object deleted.
//!
//! Every PUT and part carries its SHA-256 (`x-amz-checksum-sha256`): the store refuses bytes
//! damaged on the way. A writer dropped before `finish` aborts its multipart upload (or deletes
//! its temp object) in a spawned task; what a crash leaves under `tmp/` is removed by the
//! start-up sweep or a bucket lifecycle rule.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_s3::types::CompletedPart;
use base64::Engine;
use sha2::{Digest, Sha256};

use super::Target;
use crate::store::{BlobKey, BlobWriter, StoreError, StoredBlob};

/// CopyObject copies at most this much; config validation keeps originals below it.
const MAX_COPY_BYTES: u64 = crate::config::S3_MAX_COPY_BYTES;

pub(super) fn sha256_b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

/// What a writer that is dropped leaves to remove.
enum Leftover {
    Nothing,
    Multipart { key: String, upload_id: String },
    Object { key: String },
}

/// Removes the leftover in a spawned task when dropped (client gone, limit hit, error).
struct Cleanup {
    t: Arc<Target>,
    left: Leftover,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let left = std::mem::replace(&mut self.left, Leftover::Nothing);
        if matches!(left, Leftover::Nothing) {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("no runtime to remove an unfinished S3 upload; the tmp/ sweep will");
            return;
        };
        let t = self.t.clone();
        rt.spawn(async move {
            let result = match &left {
                Leftover::Multipart { key, upload_id } => t.abort(key, upload_id).await,
                Leftover::Object { key } => t.delete_key(key).await,
                Leftover::Nothing => Ok(()),
            };
            if let Err(e) = result {
                tracing::warn!("unfinished S3 upload not removed (the tmp/ sweep will): {e}");
            }
        });
    }
}

struct Upload {
    id: String,
    parts: Vec<CompletedPart>,
}

pub(super) struct S3Writer {
    t: Arc<Target>,
    part_size: usize,
    buf: Vec<u8>,
    hasher: Sha256,
    bytes: u64,
    /// Full object key of the multipart upload (prefix included).
    tmp_key: String,
    upload: Option<Upload>,
    guard: Cleanup,
}

impl S3Writer {
    pub(super) fn new(t: Arc<Target>, part_size: usize) -> Self {
        let tmp_key = t.key(&format!("tmp/{}", uuid::Uuid::new_v4().simple()));
        Self {
            guard: Cleanup {
                t: t.clone(),
                left: Leftover::Nothing,
            },
            t,
            part_size,
            buf: Vec::new(),
            hasher: Sha256::new(),
            bytes: 0,
            tmp_key,
            upload: None,
        }
    }

    /// Sends `part` as the next part, starting the multipart upload first if needed.
    async fn send_part(&mut self, part: Vec<u8>) -> Result<(), StoreError> {
        if self.upload.is_none() {
            let id = self.t.create_multipart(&self.tmp_key).await?;
            self.guard.left = Leftover::Multipart {
                key: self.tmp_key.clone(),
                upload_id: id.clone(),
            };
            self.upload = Some(Upload {
                id,
                parts: Vec::new(),
            });
        }
        let up = self.upload.as_mut().expect("started above");
        let number = up.parts.len() as i32 + 1;
        let done = self
            .t
            .upload_part(&self.tmp_key, &up.id, number, part)
            .await?;
        up.parts.push(done);
        Ok(())
    }

    /// Sends what is buffered as the last part and completes the upload into the temp object.
    async fn complete(&mut self) -> Result<(), StoreError> {
        if !self.buf.is_empty() {
            let last = std::mem::take(&mut self.buf);
            self.send_part(last).await?;
        }
        let up = self.upload.take().expect("multipart started");
        self.t
            .complete_multipart(&self.tmp_key, &up.id, up.parts)
            .await?;
        self.guard.left = Leftover::Object {
            key: self.tmp_key.clone(),
        };
        Ok(())
    }
}

#[async_trait]
impl BlobWriter for S3Writer {
    async fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError> {
        self.hasher.update(chunk);
        self.bytes += chunk.len() as u64;
        self.buf.extend_from_slice(chunk);
        // Strictly more than a part: a file of exactly one part still goes in one PUT.
        while self.buf.len() > self.part_size {
            let rest = self.buf.split_off(self.part_size);
            let part = std::mem::replace(&mut self.buf, rest);
            self.send_part(part).await?;
        }
        Ok(())
    }

    fn bytes_written(&self) -> u64 {
        self.bytes
    }

    fn sha256(&self) -> String {
        hex::encode(self.hasher.clone().finalize())
    }

    async fn finish(mut self: Box<Self>) -> Result<StoredBlob, StoreError> {
        let sha256 = hex::encode(std::mem::take(&mut self.hasher).finalize());
        let key = BlobKey::original(&sha256)?;
        let dest = self.t.key(key.as_str());
        let bytes = self.bytes;
        let stored = |created| StoredBlob {
            key: key.clone(),
            sha256: sha256.clone(),
            bytes,
            created,
        };
        if self.upload.is_none() {
            // One part: straight to the final key, nothing temporary.
            if self.t.exists_key(&dest).await? {
                return Ok(stored(false));
            }
            let body = std::mem::take(&mut self.buf);
            self.t.put_key(&dest, body).await?;
            return Ok(stored(true));
        }
        if self.bytes > MAX_COPY_BYTES {
            return Err(StoreError::Backend(format!(
                "an original of {} bytes exceeds what S3 CopyObject copies ({MAX_COPY_BYTES})",
                self.bytes
            )));
        }
        self.complete().await?;
        let created = if self.t.exists_key(&dest).await? {
            false
        } else {
            self.t.copy_key(&self.tmp_key, &dest).await?;
            true
        };
        match self.t.delete_key(&self.tmp_key).await {
            Ok(()) => self.guard.left = Leftover::Nothing,
            // The blob is durable; the guard tries once more when dropped, the sweep after it.
            Err(e) => tracing::warn!("temp object not deleted: {e}"),
        }
        Ok(stored(created))
    }
}
