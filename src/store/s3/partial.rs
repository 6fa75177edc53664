//! Partial uploads on S3: a multipart upload to `partial/<id>/data` whose parts are all
//! `part_size` bytes (S3 wants ≥ 5 MiB but the last), and what requests leave short of a part
//! as `seg-<n>` objects, one per request, each holding only that request's new bytes. A
//! segment is written once and read once (when a part fills up), so small requests cost no
//! more than large ones, and at most one part is held in memory. The recorded state names the
//! parts and segments that count; what a request wrote but did not get recorded is written over
//! or removed ([`settle`], [`delete`]). Finishing completes the multipart upload and copies it
//! to the original's key server-side.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_s3::types::CompletedPart;
use serde::{Deserialize, Serialize};

use super::{Target, error};
use crate::store::{BlobKey, PartialId, PartialWriter, StoreError, StoredBlob};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct State {
    /// The multipart upload, once a first full part was sent.
    upload: Option<String>,
    parts: Vec<Part>,
    /// Bytes after the parts, in order.
    segments: Vec<Segment>,
    /// Generation of the next segment (never reused once recorded).
    next: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Part {
    n: i32,
    etag: Option<String>,
    sha256: String,
    size: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Segment {
    generation: u32,
    len: u64,
}

impl State {
    fn parse(s: &str) -> Result<Self, StoreError> {
        if s.is_empty() {
            return Ok(Self::default());
        }
        serde_json::from_str(s)
            .map_err(|e| StoreError::Backend(format!("unreadable partial upload state: {e}")))
    }

    fn segments_len(&self) -> u64 {
        self.segments.iter().map(|s| s.len).sum()
    }

    fn len(&self) -> u64 {
        self.parts.iter().map(|p| p.size).sum::<u64>() + self.segments_len()
    }
}

fn data_key(t: &Target, id: &PartialId) -> String {
    t.key(&format!("partial/{id}/data"))
}

fn segment_key(t: &Target, id: &PartialId, generation: u32) -> String {
    t.key(&format!("partial/{id}/seg-{generation}"))
}

/// The bytes of `segments`, in order, each checked against its recorded length.
async fn read_segments(
    t: &Target,
    id: &PartialId,
    segments: &[Segment],
) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::with_capacity(segments.iter().map(|s| s.len as usize).sum());
    for s in segments {
        let b = get_all(t, &segment_key(t, id, s.generation)).await?;
        if b.len() as u64 != s.len {
            return Err(StoreError::Backend(format!(
                "partial upload {id}: segment {} holds {} bytes, {} recorded",
                s.generation,
                b.len(),
                s.len
            )));
        }
        out.extend_from_slice(&b);
    }
    Ok(out)
}

async fn get_all(t: &Target, key: &str) -> Result<Vec<u8>, StoreError> {
    let out = t
        .client
        .get_object()
        .bucket(&t.bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| error::map("GetObject", key, e))?;
    let bytes = out
        .body
        .collect()
        .await
        .map_err(|e| error::body("GetObject", key, e))?;
    Ok(bytes.into_bytes().to_vec())
}

pub(super) async fn resume(
    t: Arc<Target>,
    part_size: usize,
    id: &PartialId,
    offset: u64,
    state: &str,
) -> Result<Box<dyn PartialWriter>, StoreError> {
    let state = State::parse(state)?;
    if state.len() != offset {
        return Err(StoreError::Backend(format!(
            "partial upload {id} holds {} bytes, {offset} were recorded",
            state.len()
        )));
    }
    Ok(Box::new(S3Partial {
        t,
        id: id.clone(),
        part_size,
        buf: Vec::new(),
        started_upload: false,
        state,
    }))
}

/// Sends `body` as part `n` of upload `up` to `key`; the record of it that the state keeps.
async fn upload_part(
    t: &Target,
    key: &str,
    up: &str,
    n: i32,
    body: Vec<u8>,
) -> Result<Part, StoreError> {
    let size = body.len() as u64;
    let done = t.upload_part(key, up, n, body).await?;
    Ok(Part {
        n,
        etag: done.e_tag().map(str::to_owned),
        sha256: done.checksum_sha256().unwrap_or_default().to_string(),
        size,
    })
}

struct S3Partial {
    t: Arc<Target>,
    id: PartialId,
    part_size: usize,
    /// This request's bytes after the recorded segments: with them, less than a part.
    buf: Vec<u8>,
    /// This request started the multipart upload (discarded: aborted).
    started_upload: bool,
    state: State,
}

impl S3Partial {
    async fn send_part(&mut self, body: Vec<u8>) -> Result<(), StoreError> {
        let key = data_key(&self.t, &self.id);
        if self.state.upload.is_none() {
            self.state.upload = Some(self.t.create_multipart(&key).await?);
            self.started_upload = true;
        }
        let up = self.state.upload.clone().expect("started above");
        let n = self.state.parts.len() as i32 + 1;
        let part = upload_part(&self.t, &key, &up, n, body).await?;
        self.state.parts.push(part);
        Ok(())
    }
}

#[async_trait]
impl PartialWriter for S3Partial {
    async fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError> {
        let mut chunk = chunk;
        while !chunk.is_empty() {
            let pending = self.state.segments_len() as usize + self.buf.len();
            let take = (self.part_size - pending).min(chunk.len());
            self.buf.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
            if pending + take == self.part_size {
                // A full part: the recorded segments (read now, once) and this request's bytes.
                let mut part = read_segments(&self.t, &self.id, &self.state.segments).await?;
                part.append(&mut self.buf);
                self.state.segments.clear();
                self.send_part(part).await?;
            }
        }
        Ok(())
    }

    async fn commit(mut self: Box<Self>) -> Result<String, StoreError> {
        if !self.buf.is_empty() {
            let generation = self.state.next;
            let len = self.buf.len() as u64;
            let body = std::mem::take(&mut self.buf);
            self.t
                .put_key(&segment_key(&self.t, &self.id, generation), body)
                .await?;
            self.state.segments.push(Segment { generation, len });
            self.state.next += 1;
        }
        Ok(serde_json::to_string(&self.state).expect("state serializes"))
    }

    async fn discard(self: Box<Self>) -> Result<(), StoreError> {
        // Parts sent under a recorded upload are sent again (same numbers) by the next request.
        if self.started_upload
            && let Some(up) = &self.state.upload
        {
            self.t.abort(&data_key(&self.t, &self.id), up).await?;
        }
        Ok(())
    }
}

pub(super) async fn settle(
    t: &Target,
    id: &PartialId,
    old: &str,
    new: &str,
) -> Result<(), StoreError> {
    let (old, new) = (State::parse(old)?, State::parse(new)?);
    for s in old.segments.iter().filter(|s| !new.segments.contains(s)) {
        t.delete_key(&segment_key(t, id, s.generation)).await?;
    }
    Ok(())
}

pub(super) async fn finish(
    t: &Target,
    id: &PartialId,
    state: &str,
    bytes: u64,
    sha256: &str,
) -> Result<StoredBlob, StoreError> {
    let st = State::parse(state)?;
    let key = BlobKey::original(sha256)?;
    let dest = t.key(key.as_str());
    let stored = |created| StoredBlob {
        key: key.clone(),
        sha256: sha256.to_string(),
        bytes,
        created,
    };
    if t.exists_key(&dest).await? {
        return Ok(stored(false));
    }
    if st.len() != bytes {
        return Err(StoreError::Backend(format!(
            "partial upload {id} holds {} bytes, {bytes} expected",
            st.len()
        )));
    }
    let source = match &st.upload {
        None if st.segments.len() == 1 => segment_key(t, id, st.segments[0].generation),
        None => {
            // Less than a part in several requests: one PUT of them all.
            let body = read_segments(t, id, &st.segments).await?;
            t.put_key(&dest, body).await?;
            return Ok(stored(true));
        }
        // Completed already (a crash before the attachment was committed).
        Some(_) if t.exists_key(&data_key(t, id)).await? => data_key(t, id),
        Some(up) => {
            let data = data_key(t, id);
            let mut parts = st.parts.clone();
            if !st.segments.is_empty() {
                // The last part may be short.
                let body = read_segments(t, id, &st.segments).await?;
                let n = parts.len() as i32 + 1;
                parts.push(upload_part(t, &data, up, n, body).await?);
            }
            let completed = parts
                .iter()
                .map(|p| {
                    CompletedPart::builder()
                        .part_number(p.n)
                        .set_e_tag(p.etag.clone())
                        .checksum_sha256(&p.sha256)
                        .build()
                })
                .collect();
            t.complete_multipart(&data, up, completed).await?;
            data
        }
    };
    t.copy_key(&source, &dest).await?;
    Ok(stored(true))
}

pub(super) async fn delete(t: &Target, id: &PartialId, state: &str) -> Result<(), StoreError> {
    let st = State::parse(state)?;
    if let Some(up) = &st.upload {
        t.abort(&data_key(t, id), up).await?;
    }
    t.delete_key(&data_key(t, id)).await?;
    // The recorded segments and the one a request may have written without getting recorded.
    for g in st.segments.iter().map(|s| s.generation).chain([st.next]) {
        t.delete_key(&segment_key(t, id, g)).await?;
    }
    Ok(())
}
