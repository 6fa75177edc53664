//! `[station]`: the uploader a commune's scanner PC runs (`motcua station`, see
//! `crate::station`). Command-line flags override the first four.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct StationConfig {
    /// Base URL of the intake server, e.g. `https://motcua.hanoi.gov.vn`.
    pub server: String,
    /// File holding the station token (`mcs_…`, from `motcua admin station create`).
    pub token_file: PathBuf,
    /// The hot folder the scanner saves into. A subfolder is one dossier (its name is the
    /// dossier code, or a new dossier of `procedure` is made); a file at the top level becomes
    /// a dossier of its own. Sent files move to `sent/`, refused ones to `failed/`.
    pub watch: PathBuf,
    /// The spool database; `None`: `<server.data_dir>/station.sqlite`. Keep it on a local disk.
    pub spool: Option<PathBuf>,
    /// Procedure of the dossiers the station creates.
    pub procedure: String,
    /// A file is taken once its size and modification time have not changed for this long
    /// (the scanner may still be writing it).
    pub stable_secs: u64,
    /// The folder is scanned this often even without change events (network shares send none).
    pub poll_secs: u64,
    /// Bytes per `PATCH`: what a dropped link can cost at most.
    pub chunk_bytes: u64,
    /// Upload speed cap in bytes per second (0: none), so the commune's link stays usable.
    pub bandwidth_bytes_per_sec: u64,
    /// First retry delay after a failure; doubled each time (with jitter) up to `retry_max_secs`.
    pub retry_base_ms: u64,
    pub retry_max_secs: u64,
    /// A request (one chunk) that takes longer than this is cut and retried.
    pub request_timeout_secs: u64,
}

impl Default for StationConfig {
    fn default() -> Self {
        Self {
            server: String::new(),
            token_file: PathBuf::from("/etc/motcua/station.token"),
            watch: PathBuf::new(),
            spool: None,
            procedure: "dang-ky-khai-sinh".into(),
            stable_secs: 3,
            poll_secs: 10,
            chunk_bytes: 1 << 20,
            bandwidth_bytes_per_sec: 0,
            retry_base_ms: 1_000,
            retry_max_secs: 300,
            request_timeout_secs: 120,
        }
    }
}

impl StationConfig {
    /// What `motcua station` needs on top of the defaults (the server checks nothing of it).
    pub fn problems(&self) -> Vec<String> {
        let mut errs = Vec::new();
        if !(self.server.starts_with("http://") || self.server.starts_with("https://")) {
            errs.push("station.server must be an http:// or https:// URL".to_string());
        }
        if self.watch.as_os_str().is_empty() {
            errs.push("station.watch must name the hot folder".to_string());
        }
        if self.chunk_bytes < 1024 {
            errs.push("station.chunk_bytes must be at least 1024".to_string());
        }
        if self.poll_secs == 0 || self.request_timeout_secs == 0 {
            errs.push("station.poll_secs and station.request_timeout_secs must be > 0".into());
        }
        if self.retry_base_ms == 0 || self.retry_max_secs * 1000 < self.retry_base_ms {
            errs.push(
                "station.retry_base_ms must be > 0 and at most station.retry_max_secs".into(),
            );
        }
        errs
    }
}
