//! Local-filesystem blob store: `<root>/<key>`, written through `<root>/tmp/` and renamed into
//! place after fsync, so a reader (or a crash) never sees a half-written blob.

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tokio_util::io::ReaderStream;

mod partial;

use super::{
    BlobKey, BlobStore, BlobStream, BlobWriter, ListStream, ListedBlob, PartialId, PartialWriter,
    StoreError, StoredBlob,
};

pub struct FsStore {
    root: PathBuf,
    /// Temp files older than this are leftovers of a writer that died.
    tmp_age: Duration,
}

impl FsStore {
    /// Creates the root and its temp folder if needed; temp files older than a day (leftovers
    /// of a crashed process) are removed.
    pub async fn open(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
        Self::open_with(root, Duration::from_secs(24 * 3600)).await
    }

    /// As [`FsStore::open`], temp files older than `tmp_age` being leftovers (zero: never).
    pub async fn open_with(
        root: impl Into<PathBuf>,
        tmp_age: Duration,
    ) -> Result<Self, StoreError> {
        let root = root.into();
        tokio::fs::create_dir_all(root.join("tmp")).await?;
        let store = Self { root, tmp_age };
        store.sweep_leftovers().await?;
        Ok(store)
    }

    fn path(&self, key: &BlobKey) -> PathBuf {
        // `BlobKey` admits only plain relative segments; joining cannot leave the root.
        self.root.join(key.as_str())
    }

    fn temp_path(&self) -> PathBuf {
        self.root
            .join("tmp")
            .join(format!("{}.part", uuid::Uuid::new_v4().simple()))
    }
}

/// Removes the temp file unless disarmed (the blob was renamed into place).
struct TempGuard(Option<PathBuf>);

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

async fn sync_dir(dir: &Path) -> std::io::Result<()> {
    // The rename is durable only once the directory entry is.
    tokio::fs::File::open(dir).await?.sync_all().await
}

/// Renames a synced temp file to `dest`, making parents as needed.
async fn publish(tmp: &Path, dest: &Path) -> std::io::Result<()> {
    let parent = dest.parent().expect("keys have a folder");
    tokio::fs::create_dir_all(parent).await?;
    tokio::fs::rename(tmp, dest).await?;
    sync_dir(parent).await
}

struct FsWriter {
    file: Option<tokio::fs::File>,
    hasher: Sha256,
    bytes: u64,
    guard: TempGuard,
    root: PathBuf,
}

#[async_trait]
impl BlobWriter for FsWriter {
    async fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError> {
        self.hasher.update(chunk);
        self.bytes += chunk.len() as u64;
        let f = self.file.as_mut().expect("open until finish");
        f.write_all(chunk).await?;
        Ok(())
    }

    fn bytes_written(&self) -> u64 {
        self.bytes
    }

    fn sha256(&self) -> String {
        hex::encode(self.hasher.clone().finalize())
    }

    async fn finish(mut self: Box<Self>) -> Result<StoredBlob, StoreError> {
        let mut f = self.file.take().expect("open until finish");
        f.flush().await?;
        f.sync_all().await?;
        drop(f);
        let sha256 = hex::encode(std::mem::take(&mut self.hasher).finalize());
        let key = BlobKey::original(&sha256)?;
        let dest = self.root.join(key.as_str());
        let tmp = self.guard.0.clone().expect("armed until finish");
        // Same content is already durable: keep it, drop ours (the guard removes it).
        let created = if tokio::fs::try_exists(&dest).await? {
            false
        } else {
            publish(&tmp, &dest).await?;
            self.guard.0 = None;
            true
        };
        Ok(StoredBlob {
            key,
            sha256,
            bytes: self.bytes,
            created,
        })
    }
}

#[async_trait]
impl BlobStore for FsStore {
    async fn writer(&self) -> Result<Box<dyn BlobWriter>, StoreError> {
        let tmp = self.temp_path();
        let file = tokio::fs::File::create(&tmp).await?;
        Ok(Box::new(FsWriter {
            file: Some(file),
            hasher: Sha256::new(),
            bytes: 0,
            guard: TempGuard(Some(tmp)),
            root: self.root.clone(),
        }))
    }

    async fn put_bytes(&self, key: &BlobKey, bytes: Bytes) -> Result<(), StoreError> {
        let tmp = self.temp_path();
        let mut guard = TempGuard(Some(tmp.clone()));
        let mut f = tokio::fs::File::create(&tmp).await?;
        f.write_all(&bytes).await?;
        f.flush().await?;
        f.sync_all().await?;
        drop(f);
        publish(&tmp, &self.path(key)).await?;
        guard.0 = None;
        Ok(())
    }

    async fn get(&self, key: &BlobKey) -> Result<BlobStream, StoreError> {
        match tokio::fs::File::open(self.path(key)).await {
            Ok(f) => Ok(Box::pin(ReaderStream::with_capacity(f, 64 * 1024))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(StoreError::NotFound(key.to_string()))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn exists(&self, key: &BlobKey) -> Result<bool, StoreError> {
        Ok(tokio::fs::try_exists(self.path(key)).await?)
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), StoreError> {
        match tokio::fs::remove_file(self.path(key)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    async fn check_writable(&self) -> Result<(), StoreError> {
        let tmp = self.temp_path();
        let _guard = TempGuard(Some(tmp.clone()));
        tokio::fs::write(&tmp, b"ok").await?;
        Ok(())
    }

    fn list(&self, prefix: &str) -> ListStream {
        let (tx, rx) = tokio::sync::mpsc::channel(256);
        let (root, prefix) = (self.root.clone(), prefix.to_string());
        tokio::task::spawn_blocking(move || {
            if let Err(e) = walk(&root, &root.join(&prefix), &tx) {
                let _ = tx.blocking_send(Err(e.into()));
            }
        });
        super::list_stream(rx)
    }

    async fn sweep_leftovers(&self) -> Result<usize, StoreError> {
        if self.tmp_age.is_zero() {
            return Ok(0); // configured off
        }
        let mut removed = 0;
        let mut entries = tokio::fs::read_dir(self.root.join("tmp")).await?;
        while let Some(e) = entries.next_entry().await? {
            // Another process sharing the store may be writing: only old files are leftovers.
            let old = e
                .metadata()
                .await
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > self.tmp_age);
            if old && tokio::fs::remove_file(e.path()).await.is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }

    async fn resume_partial(
        &self,
        id: &PartialId,
        offset: u64,
        _state: &str,
    ) -> Result<Box<dyn PartialWriter>, StoreError> {
        partial::resume(&self.root, id, offset).await
    }

    async fn settle_partial(&self, _: &PartialId, _: &str, _: &str) -> Result<(), StoreError> {
        Ok(()) // one file, nothing to remove
    }

    async fn finish_partial(
        &self,
        id: &PartialId,
        _state: &str,
        bytes: u64,
        sha256: &str,
    ) -> Result<StoredBlob, StoreError> {
        partial::finish(&self.root, id, bytes, sha256).await
    }

    async fn delete_partial(&self, id: &PartialId, _state: &str) -> Result<(), StoreError> {
        partial::delete(&self.root, id).await
    }
}

type ListSender = tokio::sync::mpsc::Sender<Result<ListedBlob, StoreError>>;

/// Sends every file under `dir` whose path below `root` is a valid key; stops early (Ok) when
/// the receiver is gone.
fn walk(root: &Path, dir: &Path, tx: &ListSender) -> std::io::Result<bool> {
    let entries = match std::fs::read_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(true),
        r => r?,
    };
    for e in entries {
        let e = e?;
        let ty = e.file_type()?;
        if ty.is_dir() {
            if !walk(root, &e.path(), tx)? {
                return Ok(false);
            }
            continue;
        }
        let path = e.path();
        let Some(key) = path
            .strip_prefix(root)
            .ok()
            .and_then(|p| p.to_str())
            .and_then(|p| BlobKey::parse(p).ok())
        else {
            continue;
        };
        let modified = e.metadata().ok().and_then(|m| m.modified().ok());
        if tx.blocking_send(Ok(ListedBlob { key, modified })).is_err() {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_files(root: &Path) -> usize {
        std::fs::read_dir(root.join("tmp")).unwrap().count()
    }

    #[tokio::test]
    async fn streamed_put_hashes_and_lands_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsStore::open(dir.path()).await.unwrap();
        let mut w = store.writer().await.unwrap();
        w.write(b"hello ").await.unwrap();
        w.write(b"world").await.unwrap();
        assert_eq!(w.bytes_written(), 11);
        assert_eq!(temp_files(dir.path()), 1, "bytes go to a temp file first");
        let b = w.finish().await.unwrap();
        assert_eq!(b.sha256, hex::encode(Sha256::digest(b"hello world")));
        assert!(b.created);
        assert_eq!(b.key, BlobKey::original(&b.sha256).unwrap());
        assert_eq!(store.get_bytes(&b.key).await.unwrap(), b"hello world");
        assert!(store.exists(&b.key).await.unwrap());
        assert_eq!(temp_files(dir.path()), 0, "temp file renamed into place");

        // Same content again: the blob is kept, nothing is left behind.
        let again = store
            .put_stream(Box::pin(futures::stream::iter([Ok(Bytes::from_static(
                b"hello world",
            ))])))
            .await
            .unwrap();
        assert!(!again.created);
        assert_eq!(again.key, b.key);
        assert_eq!(temp_files(dir.path()), 0);

        store.delete(&b.key).await.unwrap();
        assert!(!store.exists(&b.key).await.unwrap());
        assert!(matches!(
            store.get(&b.key).await,
            Err(StoreError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn an_abandoned_upload_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsStore::open(dir.path()).await.unwrap();
        let mut w = store.writer().await.unwrap();
        w.write(b"half of a scan").await.unwrap();
        drop(w);
        assert_eq!(temp_files(dir.path()), 0);
        assert!(!dir.path().join("originals").exists());
    }

    #[tokio::test]
    async fn derived_blobs_are_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsStore::open(dir.path()).await.unwrap();
        let key = BlobKey::derived(&"0f".repeat(32), "v1", "pdf").unwrap();
        store
            .put_bytes(&key, Bytes::from_static(b"first"))
            .await
            .unwrap();
        store
            .put_bytes(&key, Bytes::from_static(b"second"))
            .await
            .unwrap();
        assert_eq!(store.get_bytes(&key).await.unwrap(), b"second");
        assert_eq!(temp_files(dir.path()), 0);
        assert!(
            dir.path()
                .join("derived/0f")
                .join("0f".repeat(32))
                .join("v1.pdf")
                .is_file()
        );
        store.check_writable().await.unwrap();
        assert_eq!(temp_files(dir.path()), 0);
    }
}
