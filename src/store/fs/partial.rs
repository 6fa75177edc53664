//! Partial uploads on the filesystem: one append-only file `<root>/partial/<id>`, synced at
//! the end of every request; published into `originals/` by a rename.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

use super::sync_dir;
use crate::store::{BlobKey, PartialId, PartialWriter, StoreError, StoredBlob};

/// The state recorded for a filesystem partial: its length is the recorded offset.
const STATE: &str = "fs";

pub(super) fn path(root: &Path, id: &PartialId) -> PathBuf {
    root.join("partial").join(id.as_str())
}

pub(super) async fn resume(
    root: &Path,
    id: &PartialId,
    offset: u64,
) -> Result<Box<dyn PartialWriter>, StoreError> {
    let dir = root.join("partial");
    tokio::fs::create_dir_all(&dir).await?;
    let p = path(root, id);
    let fresh = !tokio::fs::try_exists(&p).await?;
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&p)
        .await?;
    let len = file.metadata().await?.len();
    if len < offset {
        return Err(StoreError::Backend(format!(
            "partial upload {id} holds {len} bytes, {offset} were recorded"
        )));
    }
    if len > offset {
        // Bytes of a request that never got recorded (crash, refused checksum).
        file.set_len(offset).await?;
    }
    file.seek(std::io::SeekFrom::Start(offset)).await?;
    Ok(Box::new(FsPartial {
        file,
        offset,
        dir: fresh.then_some(dir),
    }))
}

struct FsPartial {
    file: tokio::fs::File,
    /// Where the upload started, for `discard`.
    offset: u64,
    /// The folder to sync once: the file is new.
    dir: Option<PathBuf>,
}

#[async_trait]
impl PartialWriter for FsPartial {
    async fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError> {
        Ok(self.file.write_all(chunk).await?)
    }

    async fn commit(mut self: Box<Self>) -> Result<String, StoreError> {
        self.file.flush().await?;
        self.file.sync_all().await?;
        if let Some(dir) = &self.dir {
            sync_dir(dir).await?;
        }
        Ok(STATE.to_string())
    }

    async fn discard(mut self: Box<Self>) -> Result<(), StoreError> {
        self.file.set_len(self.offset).await?;
        Ok(())
    }
}

pub(super) async fn finish(
    root: &Path,
    id: &PartialId,
    bytes: u64,
    sha256: &str,
) -> Result<StoredBlob, StoreError> {
    let key = BlobKey::original(sha256)?;
    let dest = root.join(key.as_str());
    let p = path(root, id);
    let stored = |created| StoredBlob {
        key: key.clone(),
        sha256: sha256.to_string(),
        bytes,
        created,
    };
    if tokio::fs::try_exists(&dest).await? {
        // The same content is there (another upload, or this one published before a crash).
        return Ok(stored(false));
    }
    let file = tokio::fs::OpenOptions::new().write(true).open(&p).await?;
    if file.metadata().await?.len() != bytes {
        file.set_len(bytes).await?;
    }
    file.sync_all().await?;
    drop(file);
    let parent = dest.parent().expect("keys have a folder");
    tokio::fs::create_dir_all(parent).await?;
    match tokio::fs::hard_link(&p, &dest).await {
        // Another upload of the same bytes published it meanwhile.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(stored(false)),
        r => r?,
    }
    sync_dir(parent).await?;
    Ok(stored(true))
}

pub(super) async fn delete(root: &Path, id: &PartialId) -> Result<(), StoreError> {
    match tokio::fs::remove_file(path(root, id)).await {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}
