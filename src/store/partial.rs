//! Resumable uploads (tus) in the blob store: the bytes received so far live in the store, not
//! in memory, and survive a restart. The repository records each upload's offset and the
//! store's `state` (an opaque string) after every request; the store trusts that record over
//! whatever it finds, so a crash between the two never advances an upload past durable bytes.

use async_trait::async_trait;

use super::StoreError;

/// The bytes of one request being appended to a partial upload.
#[async_trait]
pub trait PartialWriter: Send {
    async fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError>;
    /// Makes every byte written durable and returns the state to record with the new offset.
    async fn commit(self: Box<Self>) -> Result<String, StoreError>;
    /// Drops what this writer added (a checksum mismatch): the recorded state stays valid.
    async fn discard(self: Box<Self>) -> Result<(), StoreError>;
}

/// A partial upload's id: 32 lowercase hex digits, made here, so it is safe in a path or key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PartialId(String);

impl PartialId {
    pub fn random() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }

    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 32
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then(|| Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PartialId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_hex() {
        let id = PartialId::random();
        assert_eq!(PartialId::parse(id.as_str()), Some(id));
        for bad in [
            "",
            "../../etc/passwd",
            &"A".repeat(32),
            &"0".repeat(31),
            &"0".repeat(33),
        ] {
            assert!(PartialId::parse(bad).is_none(), "{bad:?}");
        }
    }
}
