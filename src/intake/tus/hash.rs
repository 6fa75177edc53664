//! SHA-256 of an upload that arrives over many requests, possibly across restarts: the running
//! state (eight words, the length, the bytes short of a block) is small and saved with the
//! upload's progress, so the finished file's hash needs no second read of its bytes.
//! Built on `sha2::compress256`, the same block function `Sha256` runs.

use serde::{Deserialize, Serialize};
use sha2::digest::generic_array::GenericArray;

const H0: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumableSha256 {
    state: [u32; 8],
    /// Bytes hashed so far (whole blocks and `pending`).
    len: u64,
    /// Fewer than 64 bytes waiting for a block, hex in the saved form.
    #[serde(with = "hex_bytes")]
    pending: Vec<u8>,
}

impl Default for ResumableSha256 {
    fn default() -> Self {
        Self {
            state: H0,
            len: 0,
            pending: Vec::new(),
        }
    }
}

impl ResumableSha256 {
    pub fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u64;
        if !self.pending.is_empty() {
            let take = (64 - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.pending.len() < 64 {
                return;
            }
            let block = GenericArray::clone_from_slice(&self.pending);
            sha2::compress256(&mut self.state, &[block]);
            self.pending.clear();
        }
        let whole = data.len() / 64 * 64;
        let blocks: Vec<_> = data[..whole]
            .chunks_exact(64)
            .map(GenericArray::clone_from_slice)
            .collect();
        sha2::compress256(&mut self.state, &blocks);
        self.pending.extend_from_slice(&data[whole..]);
    }

    /// Hex digest of what was hashed so far (the state itself is not consumed).
    pub fn hex(&self) -> String {
        let mut tail = self.pending.clone();
        tail.push(0x80);
        while tail.len() % 64 != 56 {
            tail.push(0);
        }
        tail.extend_from_slice(&(self.len * 8).to_be_bytes());
        let mut state = self.state;
        let blocks: Vec<_> = tail
            .chunks_exact(64)
            .map(GenericArray::clone_from_slice)
            .collect();
        sha2::compress256(&mut state, &blocks);
        state.iter().map(|w| format!("{w:08x}")).collect()
    }
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(b))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        let b = hex::decode(s).map_err(serde::de::Error::custom)?;
        if b.len() >= 64 {
            return Err(serde::de::Error::custom("pending bytes of a full block"));
        }
        Ok(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn matches_sha256_over_any_split_and_a_save_in_between() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        for cut in [0, 1, 55, 56, 63, 64, 65, 128, 4_097, 9_999, 10_000] {
            for second in [0usize, 1, 64, 300] {
                let (a, rest) = data.split_at(cut);
                let (b, c) = rest.split_at(second.min(rest.len()));
                let mut h = ResumableSha256::default();
                h.update(a);
                // Saved and read back as the repository keeps it, between requests.
                let saved = serde_json::to_string(&h).unwrap();
                let mut h: ResumableSha256 = serde_json::from_str(&saved).unwrap();
                h.update(b);
                h.update(c);
                assert_eq!(h.len, data.len() as u64);
                assert_eq!(
                    h.hex(),
                    hex::encode(Sha256::digest(&data)),
                    "cut {cut}+{second}"
                );
            }
        }
        assert_eq!(
            ResumableSha256::default().hex(),
            hex::encode(Sha256::digest(b""))
        );
    }

    #[test]
    fn a_damaged_saved_state_is_refused() {
        let bad = r#"{"state":[0,0,0,0,0,0,0,0],"len":70,"pending":"zz"}"#;
        assert!(serde_json::from_str::<ResumableSha256>(bad).is_err());
        let full = format!(
            r#"{{"state":[0,0,0,0,0,0,0,0],"len":64,"pending":"{}"}}"#,
            "00".repeat(64)
        );
        assert!(serde_json::from_str::<ResumableSha256>(&full).is_err());
    }
}
