//! `[tus]`: resumable uploads (`/api/v1/uploads`, see `intake::tus`). The largest upload is
//! `limits.max_file_bytes` (announced as `Tus-Max-Size`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TusConfig {
    /// An unfinished upload with no request for this long is removed by the sweep (its
    /// `Upload-Expires`); each request moves the time on.
    pub expiry_secs: u64,
    /// A finished upload's `HEAD` tells its attachment for this long.
    pub finished_keep_secs: u64,
    /// Unfinished uploads one station (or citizen) may have at once.
    pub max_open_per_owner: u32,
    /// A request that resumes an upload still held by an earlier one (a dead connection)
    /// stops that one and waits this long for it to let go; then it answers 423.
    pub takeover_wait_ms: u64,
    /// How often `serve` looks for expired uploads (0: only `motcua admin sweep`).
    pub sweep_interval_secs: u64,
}

impl Default for TusConfig {
    fn default() -> Self {
        Self {
            expiry_secs: 24 * 3600,
            finished_keep_secs: 7 * 24 * 3600,
            max_open_per_owner: 20,
            takeover_wait_ms: 5_000,
            sweep_interval_secs: 600,
        }
    }
}

impl TusConfig {
    pub(super) fn problems(&self, errs: &mut Vec<String>) {
        if self.expiry_secs == 0 {
            errs.push("tus.expiry_secs must be > 0".to_string());
        }
        if self.max_open_per_owner == 0 {
            errs.push("tus.max_open_per_owner must be > 0".to_string());
        }
    }
}
