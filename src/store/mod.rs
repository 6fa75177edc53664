//! Blob store for originals and derived files (searchable PDFs). Keys are derived from SHA-256
//! hashes and validated, so no client-supplied name ever reaches a path or an object key.
//! `fs` is the embedded default; `s3` an S3-compatible object store behind the same trait.

mod fs;
mod partial;
mod s3;

use std::pin::Pin;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use futures::{Stream, StreamExt};

pub use self::fs::FsStore;
pub use self::partial::{PartialId, PartialWriter};
pub use self::s3::S3Store;

/// A stream of a blob's bytes.
pub type BlobStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// A blob found by [`BlobStore::list`].
#[derive(Debug, Clone)]
pub struct ListedBlob {
    pub key: BlobKey,
    pub modified: Option<SystemTime>,
}

/// The blobs under a prefix, produced as the store pages through them.
pub type ListStream = Pin<Box<dyn Stream<Item = Result<ListedBlob, StoreError>> + Send>>;

/// A [`ListStream`] fed by a producer task through `rx` (the task stops when it is dropped).
fn list_stream(rx: tokio::sync::mpsc::Receiver<Result<ListedBlob, StoreError>>) -> ListStream {
    Box::pin(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("blob store I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("blob {0} not found")]
    NotFound(String),
    #[error("invalid blob key {0:?}")]
    InvalidKey(String),
    /// The store cannot be reached or is overloaded right now (connection refused, timeout,
    /// 5xx): worth trying again later.
    #[error("blob store unavailable: {0}")]
    Unavailable(String),
    /// The store refused the request (credentials, missing bucket, bad configuration).
    #[error("blob store error: {0}")]
    Backend(String),
}

impl StoreError {
    /// May pass by itself: the caller should try again later, not give up.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Unavailable(_) => true,
            StoreError::Io(e) => io_may_pass(e),
            _ => false,
        }
    }
}

/// Resource trouble of the machine rather than of the file: out of descriptors (EMFILE, ENFILE),
/// space or quota (ENOSPC, EDQUOT), memory (ENOMEM), a busy or timed-out device. Retried without
/// using up the file's attempts.
pub fn io_may_pass(e: &std::io::Error) -> bool {
    use std::io::ErrorKind as K;
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOSPC | libc::EDQUOT | libc::ENOMEM)
            | Some(libc::EAGAIN | libc::EBUSY | libc::EIO)
    ) || matches!(
        e.kind(),
        K::TimedOut | K::Interrupted | K::OutOfMemory | K::StorageFull | K::QuotaExceeded
    )
}

/// A validated key: lowercase ASCII segments of `[a-z0-9._-]`, no empty, `.` or `..` segment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlobKey(String);

impl BlobKey {
    /// Where an original with this SHA-256 (hex) lives: one blob per content.
    pub fn original(sha256_hex: &str) -> Result<Self, StoreError> {
        check_hash(sha256_hex)?;
        Self::parse(&format!(
            "originals/{}/{sha256_hex}",
            &sha256_hex[..2.min(sha256_hex.len())]
        ))
    }

    /// A file derived from an original by a given pipeline version: a retried job writes the
    /// same key again instead of adding a copy.
    pub fn derived(sha256_hex: &str, version: &str, ext: &str) -> Result<Self, StoreError> {
        check_hash(sha256_hex)?;
        Self::parse(&format!(
            "derived/{}/{sha256_hex}/{version}.{ext}",
            &sha256_hex[..2]
        ))
    }

    /// Validates a key read back from the database.
    pub fn parse(key: &str) -> Result<Self, StoreError> {
        let ok = !key.is_empty()
            && key.len() <= 512
            && key.split('/').all(|seg| {
                !seg.is_empty()
                    && seg != "."
                    && seg != ".."
                    && seg.bytes().all(|b| {
                        b.is_ascii_lowercase()
                            || b.is_ascii_digit()
                            || matches!(b, b'.' | b'-' | b'_')
                    })
            });
        if ok {
            Ok(BlobKey(key.to_string()))
        } else {
            Err(StoreError::InvalidKey(key.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for BlobKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn check_hash(h: &str) -> Result<(), StoreError> {
    if h.len() == 64
        && h.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(())
    } else {
        Err(StoreError::InvalidKey(h.to_string()))
    }
}

/// An original made durable by [`BlobWriter::finish`].
#[derive(Debug, Clone)]
pub struct StoredBlob {
    pub key: BlobKey,
    pub sha256: String,
    pub bytes: u64,
    /// False when a blob with the same content was already there.
    pub created: bool,
}

/// An original being written: bytes are hashed as they arrive. Dropping it without `finish`
/// (client gone, limit hit, error) removes whatever was written.
#[async_trait]
pub trait BlobWriter: Send {
    async fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError>;
    fn bytes_written(&self) -> u64;
    /// Hex SHA-256 of the bytes written so far: the key `finish` will publish under, known
    /// before it does (an upload claims the key first).
    fn sha256(&self) -> String;
    /// Makes the blob durable under [`BlobKey::original`] of its hash.
    async fn finish(self: Box<Self>) -> Result<StoredBlob, StoreError>;
}

#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Starts a streamed put of an original whose key is known only once it is all hashed.
    async fn writer(&self) -> Result<Box<dyn BlobWriter>, StoreError>;
    /// Writes a derived blob under `key`, atomically replacing any previous version.
    async fn put_bytes(&self, key: &BlobKey, bytes: Bytes) -> Result<(), StoreError>;
    async fn get(&self, key: &BlobKey) -> Result<BlobStream, StoreError>;
    async fn exists(&self, key: &BlobKey) -> Result<bool, StoreError>;
    async fn delete(&self, key: &BlobKey) -> Result<(), StoreError>;
    /// For readiness checks: can a blob be written right now?
    async fn check_writable(&self) -> Result<(), StoreError>;
    /// Every blob whose key starts with `prefix` (e.g. `originals/`), in no set order.
    fn list(&self, prefix: &str) -> ListStream;
    /// Removes temp files of writers that died (older than the store's configured age);
    /// returns how many.
    async fn sweep_leftovers(&self) -> Result<usize, StoreError>;

    /// Continues the resumable upload `id` at `offset` from its recorded `state` (empty: a new
    /// upload). The recorded offset and state are the truth: bytes a crash left past them are
    /// dropped.
    async fn resume_partial(
        &self,
        id: &PartialId,
        offset: u64,
        state: &str,
    ) -> Result<Box<dyn PartialWriter>, StoreError>;
    /// Once `new` is recorded: removes what only `old` needed.
    async fn settle_partial(&self, id: &PartialId, old: &str, new: &str) -> Result<(), StoreError>;
    /// Publishes the complete upload (`bytes` long, hashing to `sha256`) as the original of
    /// that hash. The partial stays until [`BlobStore::delete_partial`], after the rows that
    /// reference the original are committed; done again after a crash, it finds the original.
    async fn finish_partial(
        &self,
        id: &PartialId,
        state: &str,
        bytes: u64,
        sha256: &str,
    ) -> Result<StoredBlob, StoreError>;
    /// Removes a partial upload (terminated or expired).
    async fn delete_partial(&self, id: &PartialId, state: &str) -> Result<(), StoreError>;

    /// Streams `body` into the store, hashing while writing.
    async fn put_stream(&self, mut body: BlobStream) -> Result<StoredBlob, StoreError> {
        let mut w = self.writer().await?;
        while let Some(chunk) = body.next().await {
            w.write(&chunk?).await?;
        }
        w.finish().await
    }

    async fn get_bytes(&self, key: &BlobKey) -> Result<Vec<u8>, StoreError> {
        let mut s = self.get(key).await?;
        let mut out = Vec::new();
        while let Some(chunk) = s.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_from_hashes_and_reject_traversal() {
        let h = "ab".repeat(32);
        assert_eq!(
            BlobKey::original(&h).unwrap().as_str(),
            format!("originals/ab/{h}")
        );
        assert_eq!(
            BlobKey::derived(&h, "v0.1.0", "pdf").unwrap().as_str(),
            format!("derived/ab/{h}/v0.1.0.pdf")
        );
        for bad in [
            "../etc/passwd",
            "/etc/passwd",
            "a//b",
            "a/./b",
            "a/../b",
            "a\\b",
            "A/b",
            "a/b c",
            "",
            "a/b\0",
        ] {
            assert!(BlobKey::parse(bad).is_err(), "{bad:?} must be rejected");
        }
        assert!(BlobKey::original("../../x").is_err());
        assert!(BlobKey::original(&"AB".repeat(32)).is_err());
        assert!(BlobKey::derived(&h, "../x", "pdf").is_err());
    }
}
