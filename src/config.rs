//! Configuration: defaults, overridden by a TOML file, overridden by `MOTCUA__SECTION__KEY=value`
//! environment variables (values parsed as TOML scalars, e.g. `MOTCUA__QUEUE__WORKERS=4`,
//! `MOTCUA__SERVER__LISTEN=0.0.0.0:8080`). Every limit lives here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod station;
mod tus;
pub use station::StationConfig;
pub use tus::TusConfig;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub limits: Limits,
    pub ocr: OcrConfig,
    pub normalize: NormalizeConfig,
    pub render: RenderConfig,
    pub server: ServerConfig,
    pub queue: QueueConfig,
    pub db: DbConfig,
    pub store: StoreConfig,
    pub orphans: OrphansConfig,
    pub extract: ExtractConfig,
    pub review: ReviewConfig,
    pub tus: TusConfig,
    pub station: StationConfig,
}

/// The clerks' review workflow.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ReviewConfig {
    /// A claim lasts this long unless renewed (the review screen renews it while open); an
    /// abandoned dossier goes back to the queue after it.
    pub claim_secs: u64,
    /// A web review session with no request for this long ends (the clerk logs in again).
    pub session_idle_secs: u64,
    /// A web review session ends this long after login, however active.
    pub session_max_secs: u64,
    /// Marks the session cookie `Secure` (sent over HTTPS only). Off by default because the
    /// embedded default serves plain HTTP on the commune's LAN, where a `Secure` cookie would
    /// never come back; turn it on whenever the UI is reached through HTTPS (a TLS proxy).
    pub cookie_secure: bool,
    /// This many failed logins for one username within `lockout_secs` refuse further attempts
    /// (even with the right password) until the oldest of them is that old.
    pub max_failed_logins: u32,
    pub lockout_secs: u64,
}

impl ReviewConfig {
    /// When a claim taken or renewed at `now` (ms) runs out.
    pub fn claim_until(&self, now: i64) -> i64 {
        now + self.claim_secs as i64 * 1000
    }
}

impl Default for ReviewConfig {
    fn default() -> Self {
        Self {
            claim_secs: 15 * 60,
            session_idle_secs: 30 * 60,
            session_max_secs: 12 * 3600,
            cookie_secure: false,
            max_failed_logins: 5,
            lockout_secs: 15 * 60,
        }
    }
}

/// Where document models and procedure pipelines are read from at start-up.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ExtractConfig {
    /// `*.toml` document models; relative paths from the working directory.
    pub models_dir: PathBuf,
    /// `*.toml` procedure pipelines.
    pub pipelines_dir: PathBuf,
    /// The Vietnamese syllables (a hunspell `.dic`, Debian's `hunspell-vi`) by which two
    /// readings of an address or other free text are merged word by word; `""`: free text is
    /// read by Tesseract alone.
    pub lexicon: PathBuf,
    /// The official list of administrative units (`scripts/places.sh`) by which misread unit
    /// names in addresses are corrected; `""`: no correction.
    pub places: PathBuf,
}

/// Where Debian's `hunspell-vi` puts its dictionary.
pub const DEFAULT_LEXICON: &str = "/usr/share/hunspell/vi_VN.dic";

/// Where `scripts/places.sh` puts the list of administrative units.
pub const DEFAULT_PLACES: &str = "/usr/local/share/motcua/places.tsv";

impl Default for ExtractConfig {
    fn default() -> Self {
        Self {
            models_dir: "models".into(),
            pipelines_dir: "pipelines".into(),
            lexicon: DEFAULT_LEXICON.into(),
            places: DEFAULT_PLACES.into(),
        }
    }
}

/// Limits applied while decoding untrusted input.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest accepted input file.
    pub max_file_bytes: u64,
    /// Largest accepted page, in pixels (width × height).
    pub max_page_pixels: u64,
    /// Largest accepted width or height of a page.
    pub max_page_side: u32,
    /// Most pages accepted in one file.
    pub max_pages: usize,
    /// Memory one decoder may allocate for one page.
    pub max_decode_alloc_bytes: u64,
    /// Decoded pages of one file held at once (0: two per worker thread).
    pub max_pages_in_memory: usize,
    /// Longest the PDF renderer may spend on one step of one page (its text layer, its
    /// rendering); past it the page fails with `page_timeout` instead of holding the worker
    /// forever (hostile content can make the renderer's parsing run for hours). 0: no budget.
    pub max_render_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_file_bytes: 200 * 1024 * 1024,
            // An A3 page at 600 dpi is about 70 Mpx; leave head-room, refuse decompression bombs.
            max_page_pixels: 100_000_000,
            max_page_side: 30_000,
            max_pages: 1_000,
            max_decode_alloc_bytes: 512 * 1024 * 1024,
            max_pages_in_memory: 0,
            max_render_ms: 120_000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct OcrConfig {
    /// Tesseract language(s), e.g. `vie` or `vie+eng`.
    pub lang: String,
    /// Folder holding `*.traineddata`; `None` uses the library's compiled-in default.
    pub tessdata: Option<PathBuf>,
    /// Tesseract page segmentation mode (3 = fully automatic).
    pub psm: i32,
    /// Let Tesseract retry low-confidence lines as white-on-black text. Dossier pages are dark on
    /// light, and the retry costs up to a third of the OCR time of a form; off by default.
    pub invert_text: bool,
    /// Let Tesseract look for ruled tables. Dossier pages are label/value forms: on the dev corpus
    /// the text is identical without it and OCR takes about 5% less time; off by default.
    pub find_tables: bool,
    /// Further Tesseract variables (`name = "value"`); an unknown name fails engine start-up.
    pub variables: BTreeMap<String, String>,
    /// Characters orientation detection classifies before deciding (more is surer and slower).
    pub orientation_min_characters: u32,
    /// Folder of the second reader for field values (`asternet.onnx`, `vocab.json`, installed
    /// by `scripts/setup.sh`); empty: fields are read by Tesseract alone. A folder that is
    /// missing is reported at start-up and extraction goes on Tesseract-only.
    pub value_reader: PathBuf,
}

impl Default for OcrConfig {
    fn default() -> Self {
        Self {
            lang: "vie".into(),
            tessdata: None,
            psm: 3,
            invert_text: false,
            find_tables: false,
            variables: BTreeMap::new(),
            orientation_min_characters: 25,
            value_reader: PathBuf::from(crate::ocr::value_reader::DEFAULT_DIR),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct NormalizeConfig {
    /// The OCR copy is scaled so that the x-height measured on the page (height of lowercase
    /// letters) lies within `x_height_min..=x_height_max` pixels; a page already within it is
    /// not resampled (resampling costs time and sharpness). Tesseract's LSTM reads best there.
    pub x_height_min: f32,
    pub x_height_max: f32,
    /// The x-height a page outside that band is scaled to.
    pub x_height_target: f32,
    /// Resolution OCR runs at when the page shows too little text to measure its x-height.
    pub ocr_dpi: f32,
    /// Such pages within this band around `ocr_dpi` are not rescaled.
    pub dpi_tolerance: f32,
    /// Resolution assumed for an image that states none and whose size gives no better guess.
    pub fallback_dpi: f32,
    /// The scale taken from the measured x-height stays within this factor of the one the
    /// resolution implies (`ocr_dpi / dpi`) when the file states its resolution: a seal, a
    /// signature or a table rule that throws the measurement off cannot scale text out of
    /// Tesseract's range.
    pub max_scale_vs_dpi: f32,
    /// The same bound for pages whose resolution was guessed (phone photos: the guess assumes
    /// an A4 page, and a photographed card is much smaller).
    pub max_scale_vs_estimated_dpi: f32,
    /// Tallest letter, in inches, counted when measuring the x-height of a page with a stated
    /// resolution (0.25 in is a 36 pt capital); taller ink is seals, signatures and rules.
    pub max_letter_inches: f32,
    /// When a page has text-like ink but the normalized reading finds fewer than this share of
    /// the confident words its ink suggests, the page is also read plainly (as delivered, only
    /// turned upright) and the reading with more confident words is kept; so is a page where it
    /// read nothing at all. 0 turns the check off.
    pub plain_check_below_word_share: f32,
    /// Read again, line by line, bands of text-sized ink that no word of the page's reading
    /// covers (Tesseract's layout analysis drops a whole line on some forms).
    pub reread_lost_lines: bool,
    /// Which pages are read a second time as delivered (only turned upright), keeping the
    /// better reading: `risky` (pages that went through a step whose effect on Tesseract is a
    /// toss-up, see below), `changed` (every page normalization changed), `never` (only the
    /// check above).
    pub compare_plain_reading: PlainComparison,
    /// `risky`: levelling a page skewed by less than this many degrees. Tesseract reads such
    /// lines itself, and resampling can cost the marks over circumflexes.
    pub compare_below_skew_deg: f32,
    /// `risky`: shrinking the text below this share of the page's own resolution (table rules
    /// close in on the letters). Dropping seals and signatures by colour is always risky: pen
    /// ink and coloured text can go with them.
    pub compare_below_scale: f32,
    /// Pages larger than this (megapixels, as delivered) are not compared: a plain reading of a
    /// poster-sized page takes gigabytes. The few-words check still applies to them.
    pub compare_max_megapixels: f32,
    /// A page is blank when fewer than this fraction of the pixels in its central area are ink
    /// (much darker than the paper). Faint bleed-through from the back is not ink.
    pub blank_max_ink: f32,
    /// Measure the skew of scanned and photographed pages and level them (both the OCR copy and
    /// the page image kept for the PDF, which is then re-encoded).
    pub deskew: bool,
    /// Skew is looked for within ±this many degrees; a page skewed more is left as it is.
    pub max_skew_deg: f32,
    /// Pages skewed less than this many degrees are left as they are (and keep their original
    /// encoding): Tesseract reads them as well, and resampling costs time and sharpness.
    pub min_skew_deg: f32,
    /// Paint dotted leaders (`..........` after form labels) out of the OCR copy; Tesseract reads
    /// them as garbage. Diacritics and ellipses stay: only long evenly spaced dot rows go.
    pub remove_leaders: bool,
    /// Detect pages turned 90/180/270° (Tesseract OSD) and turn them upright.
    pub detect_orientation: bool,
    /// Orientation is checked when OCR's mean word confidence is below this (or words run
    /// vertically); upright pages that read well skip the check.
    pub orientation_check_below_confidence: f32,
    /// Below this OSD confidence a page is left as it is.
    pub min_orientation_confidence: f32,
    /// Resolution orientation detection runs at (lower is faster; glyph shapes survive 150 dpi).
    pub orientation_dpi: f32,
    /// Cut off a dark scanner-lid border or the desk around a photographed page (the PDF shows
    /// the page alone) and paint what is left of it in the corners out of the OCR copy.
    pub find_page: bool,
    /// Drop red seals and blue signatures from the OCR copy by their colour; coloured marks
    /// smaller than a few letters (a red title, a form filled in with a blue pen) stay.
    pub drop_colour_marks: bool,
    /// Spread between a pixel's brightest and darkest channel (0–255) that counts as coloured.
    pub colour_chroma: u8,
    /// Flatten uneven lighting (phone photos) on the OCR copy: each pixel divided by its local
    /// paper level.
    pub flatten_light: bool,
    /// Spread of paper brightness across the page (0–255) from which lighting is flattened.
    pub uneven_light: u8,
    /// White out isolated black pixels (fax line noise, dust) of bilevel pages before OCR.
    pub despeckle: bool,
    /// Paint pictures and empty frames (an ID card's portrait, a photo box) out of the OCR copy.
    pub remove_pictures: bool,
    /// Size, in x-heights, from which an ink component may be a picture or frame.
    pub picture_min_letters: f32,
    /// Binarize the OCR copy with Sauvola's adaptive threshold instead of leaving Tesseract its
    /// global one. On the dev corpus the flattened gray copy reads as well, so off by default.
    pub binarize: bool,
    /// Sauvola window, in x-heights.
    pub binarize_window_letters: f32,
    /// Sauvola's k (higher keeps less ink).
    pub binarize_k: f32,
}

impl Default for NormalizeConfig {
    fn default() -> Self {
        Self {
            x_height_min: 16.0,
            x_height_max: 30.0,
            x_height_target: 22.0,
            ocr_dpi: 300.0,
            dpi_tolerance: 0.25,
            fallback_dpi: 300.0,
            max_scale_vs_dpi: 2.0,
            max_scale_vs_estimated_dpi: 4.0,
            max_letter_inches: 0.25,
            plain_check_below_word_share: 0.5,
            reread_lost_lines: true,
            compare_plain_reading: PlainComparison::Risky,
            compare_below_skew_deg: 2.0,
            compare_below_scale: 0.9,
            // An A4 page at 600 dpi is 35 MP.
            compare_max_megapixels: 40.0,
            blank_max_ink: 0.0002,
            deskew: true,
            max_skew_deg: 10.0,
            min_skew_deg: 0.3,
            remove_leaders: true,
            detect_orientation: true,
            orientation_check_below_confidence: 75.0,
            min_orientation_confidence: 2.0,
            orientation_dpi: 150.0,
            find_page: true,
            drop_colour_marks: true,
            colour_chroma: 60,
            flatten_light: true,
            uneven_light: 30,
            despeckle: true,
            remove_pictures: true,
            picture_min_letters: 4.0,
            binarize: false,
            binarize_window_letters: 3.0,
            binarize_k: 0.2,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RenderConfig {
    /// JPEG quality for page images that had to be re-encoded.
    pub jpeg_quality: u8,
}

impl Default for RenderConfig {
    fn default() -> Self {
        Self { jpeg_quality: 80 }
    }
}

/// The intake HTTP API (`motcua serve`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address the API listens on (`127.0.0.1:0` picks a free port and prints it).
    pub listen: String,
    /// Everything the service keeps (database, blobs) lives under this folder by default.
    pub data_dir: PathBuf,
    /// Largest request body; one upload request may carry several files. Each file is also held
    /// to `limits.max_file_bytes`.
    pub max_request_bytes: u64,
    /// Most files in one upload request (a station batch).
    pub max_files_per_request: usize,
    /// Let the portal create dossiers without a station token; each gets a citizen upload token
    /// scoped to that one dossier.
    pub allow_anonymous_dossiers: bool,
    /// On SIGTERM/SIGINT, in-flight jobs get this long to finish before their claims are released.
    pub shutdown_grace_secs: u64,
    /// `Retry-After` of a 503 (database or blob store unreachable): when clients should try again.
    pub retry_after_secs: u64,
    /// Gzip pages, JSON, scripts and styles for clients that accept it (commune links are slow);
    /// images, PDFs and other binary files are sent as they are. Off behind a proxy that
    /// compresses already.
    pub compress: bool,
    /// A request's header must have arrived this long after the connection is ready for it.
    /// Hyper counts the wait for the next request on a kept-alive connection on the same clock,
    /// so this is also how long an idle connection is kept.
    pub header_timeout_secs: u64,
    /// A request body must bring at least this many bytes a second, measured over each
    /// `body_rate_window_secs` (a stalled or trickling upload gets 408 `body_too_slow`; a slow
    /// link that keeps moving is fine). 0 turns the check off.
    pub min_body_bytes_per_sec: u64,
    pub body_rate_window_secs: u64,
    /// A response the client stops reading is dropped after this long without progress.
    pub send_timeout_secs: u64,
    /// Connections served at once (lowered at start to half the open-files limit, so that
    /// blobs, temp files and the database always have descriptors left).
    pub max_connections: usize,
    /// Connections served at once from one client address; 0 = no cap (behind a reverse proxy
    /// every client has the proxy's address).
    pub max_connections_per_client: usize,
    /// Connections beyond the caps still get `/healthz` answered, and everything else a
    /// 503/429 `too_many_connections`, on this many extra slots (the oldest is dropped for a
    /// newer one): probes keep working under a flood.
    pub reserve_connections: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("data"),
            max_request_bytes: 512 * 1024 * 1024,
            max_files_per_request: 100,
            allow_anonymous_dossiers: true,
            shutdown_grace_secs: 30,
            retry_after_secs: 5,
            compress: true,
            header_timeout_secs: 20,
            min_body_bytes_per_sec: 1024,
            body_rate_window_secs: 30,
            send_timeout_secs: 60,
            max_connections: 1024,
            max_connections_per_client: 256,
            reserve_connections: 32,
        }
    }
}

/// The job queue on the database and the in-process workers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct QueueConfig {
    /// Jobs (attachments) processed at once by one process; their pages share `threads`.
    pub workers: usize,
    /// Page threads (one Tesseract engine each) shared by the workers; 0: every core.
    pub threads: usize,
    /// A claim lasts this long unless renewed; a job whose worker died is taken again after it.
    pub lease_secs: u64,
    /// Workers renew their claims this often (must be well under `lease_secs`).
    pub heartbeat_secs: u64,
    /// After this many attempts a job is dead-lettered with its last error.
    pub max_attempts: u32,
    /// Retry delay: `backoff_base_ms × 2^(attempt-1)`, capped at `backoff_max_ms`.
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
    /// Idle workers look for new jobs this often (uploads in the same process, and on
    /// PostgreSQL in any process, wake them at once).
    pub poll_ms: u64,
    /// While the database cannot be reached, a worker's wait between tries doubles from
    /// `poll_ms` up to this.
    pub outage_backoff_max_ms: u64,
    /// A job whose worker was lost (the process died while on it) is run again without using up
    /// an attempt, alone in its process, after this delay, doubled with each loss (up to
    /// `lost_retry_after_secs`).
    pub lost_backoff_secs: u64,
    /// A job that was running when its worker crashed (a fatal signal, recorded by the crash
    /// handler) this many times is set aside (`worker_lost`: a file that crashes the worker)
    /// instead of failing innocent files with it. Kills and power cuts never count.
    pub max_crashes: u32,
    /// A job set aside by lost workers is tried again once, by itself, after this long (or at
    /// once with `motcua admin requeue`); lost once more, it waits for an operator.
    pub lost_retry_after_secs: u64,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            workers: 2,
            threads: 0,
            lease_secs: 60,
            heartbeat_secs: 10,
            max_attempts: 5,
            backoff_base_ms: 2_000,
            backoff_max_ms: 300_000,
            poll_ms: 500,
            outage_backoff_max_ms: 10_000,
            lost_backoff_secs: 30,
            max_crashes: 3,
            lost_retry_after_secs: 3_600,
        }
    }
}

/// When a page gets a second, plain reading (`normalize.compare_plain_reading`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlainComparison {
    Risky,
    Changed,
    Never,
}

/// Database backend: the embedded SQLite (default) or PostgreSQL for several processes and
/// hosts sharing one queue.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "backend", rename_all = "lowercase")]
pub enum DbConfig {
    Sqlite(SqliteConfig),
    Postgres(PostgresConfig),
}

impl Default for DbConfig {
    fn default() -> Self {
        DbConfig::Sqlite(SqliteConfig::default())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SqliteConfig {
    /// Database file; `None`: `<server.data_dir>/motcua.db`.
    pub path: Option<PathBuf>,
    pub max_connections: u32,
    /// How long a statement waits for another writer before failing.
    pub busy_timeout_ms: u64,
}

impl Default for SqliteConfig {
    fn default() -> Self {
        Self {
            path: None,
            max_connections: 8,
            busy_timeout_ms: 10_000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PostgresConfig {
    /// `postgres://user:password@host:port/database`.
    pub url: String,
    /// Connections of this process (API and workers together).
    pub max_connections: u32,
    /// How long a request waits for a connection before it fails as unavailable (503): short,
    /// so that a client is told to come back instead of hanging while the database is down.
    pub acquire_timeout_ms: u64,
    /// Server-side limit of one statement; 0: none.
    pub statement_timeout_ms: u64,
    /// Wake idle workers at once through LISTEN/NOTIFY when any process queues a job.
    pub listen: bool,
    /// The listener reconnects after a lost connection with backoff up to this long.
    pub reconnect_max_ms: u64,
}

impl Default for PostgresConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            max_connections: 16,
            acquire_timeout_ms: 5_000,
            statement_timeout_ms: 30_000,
            listen: true,
            reconnect_max_ms: 30_000,
        }
    }
}

/// Blob store backend: the local filesystem (default) or an S3-compatible object store.
/// `kind` is accepted for `backend` (`MOTCUA__STORE__KIND=s3`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "backend", rename_all = "lowercase")]
pub enum StoreConfig {
    Fs(FsStoreConfig),
    S3(S3StoreConfig),
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig::Fs(FsStoreConfig::default())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct FsStoreConfig {
    /// Root folder; `None`: `<server.data_dir>/blobs`.
    pub root: Option<PathBuf>,
    /// Temp files under `tmp/` older than this are leftovers of a writer that died, removed at
    /// start-up and by the orphan sweep; 0: never.
    pub sweep_tmp_after_secs: u64,
}

impl Default for FsStoreConfig {
    fn default() -> Self {
        Self {
            root: None,
            sweep_tmp_after_secs: 24 * 3600,
        }
    }
}

/// Originals no attachment references (a refused or cut upload whose cleanup did not run, a
/// crash between storing and committing) are removed by a sweep in `motcua serve`, also run by
/// `motcua admin sweep`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct OrphansConfig {
    /// The sweep runs at start-up and then this often; 0: never (only `motcua admin sweep`).
    pub sweep_interval_secs: u64,
    /// Blobs younger than this are never swept, whatever the database says.
    pub grace_secs: u64,
    /// An upload's claim on the originals it stored lasts this long from its last file; an
    /// upload that takes longer is answered 503 and sent again.
    pub claim_ttl_secs: u64,
}

impl Default for OrphansConfig {
    fn default() -> Self {
        Self {
            sweep_interval_secs: 6 * 3600,
            grace_secs: 3600,
            claim_ttl_secs: 24 * 3600,
        }
    }
}

/// An S3-compatible object store (AWS S3, SeaweedFS, MinIO, Ceph RGW). Credentials come from
/// the standard AWS chain (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, profile, web identity,
/// instance role), never from this file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct S3StoreConfig {
    pub bucket: String,
    /// Custom endpoint of an on-premise store, e.g. `http://10.0.0.5:8333`; `None`: AWS.
    pub endpoint: Option<String>,
    pub region: String,
    /// Path-style URLs (`endpoint/bucket/key`); `None`: on when `endpoint` is set.
    pub force_path_style: Option<bool>,
    /// Prepended to every key (`motcua/` keeps a shared bucket tidy); empty: none.
    pub prefix: String,
    /// Multipart part size of a streamed original; each upload in progress buffers one part.
    /// Files up to this size go in one PUT. S3 requires at least 5 MiB.
    pub part_size_bytes: u64,
    /// Attempts per S3 request (1: no retry); transient errors back off exponentially.
    pub max_attempts: u32,
    pub initial_backoff_ms: u64,
    pub max_backoff_ms: u64,
    pub connect_timeout_ms: u64,
    /// One attempt of one request (a part upload included).
    pub attempt_timeout_ms: u64,
    /// One request with all its retries.
    pub operation_timeout_ms: u64,
    /// Create the bucket at start-up if it is missing (development and tests).
    pub create_bucket: bool,
    /// At start-up, temp objects and unfinished multipart uploads under `tmp/` older than this
    /// are removed (leftovers of a crash); 0: never. A bucket lifecycle rule on `tmp/` does the
    /// same without a restart.
    pub sweep_tmp_after_secs: u64,
}

impl Default for S3StoreConfig {
    fn default() -> Self {
        Self {
            bucket: String::new(),
            endpoint: None,
            region: "us-east-1".into(),
            force_path_style: None,
            prefix: String::new(),
            part_size_bytes: 8 * 1024 * 1024,
            max_attempts: 3,
            initial_backoff_ms: 200,
            max_backoff_ms: 5_000,
            connect_timeout_ms: 3_000,
            attempt_timeout_ms: 60_000,
            operation_timeout_ms: 300_000,
            create_bucket: false,
            sweep_tmp_after_secs: 24 * 3600,
        }
    }
}

/// S3's smallest multipart part (all but the last).
pub const S3_MIN_PART_BYTES: u64 = 5 * 1024 * 1024;
/// Largest object CopyObject copies (originals are copied from their temp key).
pub const S3_MAX_COPY_BYTES: u64 = 5 * 1024 * 1024 * 1024;

impl S3StoreConfig {
    fn problems(&self, max_file_bytes: u64, errs: &mut Vec<String>) {
        let bucket_ok = (3..=63).contains(&self.bucket.len())
            && self
                .bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !bucket_ok {
            errs.push(format!(
                "store.bucket must be an S3 bucket name (3-63 of a-z 0-9 . -), got {:?}",
                self.bucket
            ));
        }
        if self
            .endpoint
            .as_deref()
            .is_some_and(|e| !(e.starts_with("http://") || e.starts_with("https://")))
        {
            errs.push("store.endpoint must be an http:// or https:// URL".to_string());
        }
        if self.region.trim().is_empty() {
            errs.push("store.region must not be empty".to_string());
        }
        let prefix_ok = self.prefix.is_empty()
            || self.prefix.trim_end_matches('/').split('/').all(|seg| {
                !seg.is_empty()
                    && seg != "."
                    && seg != ".."
                    && seg
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
            });
        if !prefix_ok {
            errs.push(format!(
                "store.prefix must be folders of [A-Za-z0-9._-] separated by /, got {:?}",
                self.prefix
            ));
        }
        if !(S3_MIN_PART_BYTES..=S3_MAX_COPY_BYTES).contains(&self.part_size_bytes) {
            errs.push("store.part_size_bytes must be within 5 MiB..=5 GiB".to_string());
        }
        if max_file_bytes > S3_MAX_COPY_BYTES {
            errs.push(
                "limits.max_file_bytes must be <= 5 GiB with the S3 store (originals are copied with CopyObject)"
                    .to_string(),
            );
        }
        if self.max_attempts == 0 || self.initial_backoff_ms > self.max_backoff_ms {
            errs.push(
                "store.max_attempts must be > 0 and store.initial_backoff_ms <= store.max_backoff_ms"
                    .to_string(),
            );
        }
        if self.connect_timeout_ms == 0
            || self.attempt_timeout_ms == 0
            || self.operation_timeout_ms < self.attempt_timeout_ms
        {
            errs.push(
                "store timeouts must be > 0 and store.operation_timeout_ms >= store.attempt_timeout_ms"
                    .to_string(),
            );
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("invalid configuration from the environment: {0}")]
    Env(toml::de::Error),
    #[error("invalid configuration:\n  {}", .0.join("\n  "))]
    Invalid(Vec<String>),
}

/// Prefix of environment overrides: `MOTCUA__SECTION__KEY`.
pub const ENV_PREFIX: &str = "MOTCUA__";

impl Config {
    /// Defaults, overridden by `path` when given, overridden by `MOTCUA__…` variables; validated.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with_env(path, std::env::vars())
    }

    /// As [`Config::load`], with the environment given (tests).
    pub fn load_with_env(
        path: Option<&Path>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut table = match path {
            None => toml::Table::new(),
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.into(),
                    source,
                })?;
                toml::from_str(&text).map_err(|source| ConfigError::Parse {
                    path: p.into(),
                    source,
                })?
            }
        };
        let mut from_env = false;
        for (name, raw) in vars {
            let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let keys: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
            if keys.iter().any(String::is_empty) {
                continue;
            }
            set_path(&mut table, &keys, env_value(&raw));
            from_env = true;
        }
        // `[db]` or `MOTCUA__DB__PATH` alone means the default backend; a `url` alone means
        // PostgreSQL (`MOTCUA__DB__URL=postgres://…` is enough).
        for (section, backend) in [("db", "sqlite"), ("store", "fs")] {
            if let Some(t) = table.get_mut(section).and_then(toml::Value::as_table_mut) {
                if !t.contains_key("backend")
                    && let Some(kind) = t.remove("kind")
                {
                    t.insert("backend".into(), kind);
                }
                let backend = if section == "db" && t.contains_key("url") {
                    "postgres"
                } else {
                    backend
                };

                t.entry("backend")
                    .or_insert_with(|| toml::Value::String(backend.into()));
            }
        }
        let cfg: Config = if from_env {
            toml::Value::Table(table)
                .try_into()
                .map_err(ConfigError::Env)?
        } else {
            toml::Value::Table(table)
                .try_into()
                .map_err(|source| ConfigError::Parse {
                    path: path.map(Into::into).unwrap_or_default(),
                    source,
                })?
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// SQLite file of the embedded default (`None` on PostgreSQL).
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        match &self.db {
            DbConfig::Sqlite(s) => Some(
                s.path
                    .clone()
                    .unwrap_or_else(|| self.server.data_dir.join("motcua.db")),
            ),
            DbConfig::Postgres(_) => None,
        }
    }

    /// Where the database is, for messages: the SQLite file, or the PostgreSQL URL without
    /// its password.
    pub fn db_display(&self) -> String {
        match &self.db {
            DbConfig::Sqlite(_) => self
                .sqlite_path()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            DbConfig::Postgres(p) => redact_url(&p.url),
        }
    }

    /// The configuration as `motcua config` prints it: the database password masked. (S3 keys
    /// never live here: they come from the standard AWS chain.)
    pub fn redacted(&self) -> Config {
        let mut c = self.clone();
        if let DbConfig::Postgres(p) = &mut c.db {
            p.url = redact_url(&p.url);
        }
        c
    }

    /// Root of the filesystem blob store (`None` with another backend).
    pub fn fs_store_root(&self) -> Option<PathBuf> {
        match &self.store {
            StoreConfig::Fs(f) => Some(
                f.root
                    .clone()
                    .unwrap_or_else(|| self.server.data_dir.join("blobs")),
            ),
            StoreConfig::S3(_) => None,
        }
    }

    /// Reports every problem at once, not just the first.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut errs = Vec::new();
        let l = &self.limits;
        if self.review.claim_secs < 30 {
            errs.push("review.claim_secs must be at least 30".to_string());
        }
        let r = &self.review;
        if r.session_idle_secs < 10 {
            errs.push("review.session_idle_secs must be at least 10".to_string());
        }
        if r.session_max_secs < r.session_idle_secs {
            errs.push("review.session_max_secs must be at least review.session_idle_secs".into());
        }
        if r.max_failed_logins == 0 {
            errs.push("review.max_failed_logins must be > 0".to_string());
        }
        if r.lockout_secs < 1 {
            errs.push("review.lockout_secs must be > 0".to_string());
        }
        if l.max_file_bytes == 0 {
            errs.push("limits.max_file_bytes must be > 0".to_string());
        }
        if l.max_page_pixels == 0 || l.max_page_side == 0 {
            errs.push("limits.max_page_pixels and limits.max_page_side must be > 0".to_string());
        }
        if l.max_pages == 0 {
            errs.push("limits.max_pages must be > 0".to_string());
        }
        if self.ocr.lang.trim().is_empty() {
            errs.push("ocr.lang must name a language".to_string());
        }
        if !(0..=13).contains(&self.ocr.psm) {
            errs.push(format!("ocr.psm must be 0..=13, got {}", self.ocr.psm));
        }
        let n = &self.normalize;
        if !(50.0..=1200.0).contains(&n.ocr_dpi) || !(50.0..=1200.0).contains(&n.fallback_dpi) {
            errs.push(
                "normalize.ocr_dpi and normalize.fallback_dpi must be within 50..=1200".to_string(),
            );
        }
        if !(n.x_height_min >= 6.0
            && n.x_height_min <= n.x_height_target
            && n.x_height_target <= n.x_height_max
            && n.x_height_max <= 200.0)
        {
            errs.push(
                "normalize.x_height_min <= x_height_target <= x_height_max must hold within 6..=200"
                    .to_string(),
            );
        }
        if !(n.max_scale_vs_dpi >= 1.0 && n.max_scale_vs_estimated_dpi >= 1.0) {
            errs.push(
                "normalize.max_scale_vs_dpi and max_scale_vs_estimated_dpi must be at least 1"
                    .to_string(),
            );
        }
        if !(0.05..=2.0).contains(&n.max_letter_inches) {
            errs.push("normalize.max_letter_inches must be within 0.05..=2".to_string());
        }
        if !(0.0..=1.0).contains(&n.plain_check_below_word_share) {
            errs.push("normalize.plain_check_below_word_share must be within 0..=1".to_string());
        }
        if !(0.0..=45.0).contains(&n.compare_below_skew_deg) {
            errs.push("normalize.compare_below_skew_deg must be within 0..=45".to_string());
        }
        if !(0.0..=1.0).contains(&n.compare_below_scale) {
            errs.push("normalize.compare_below_scale must be within 0..=1".to_string());
        }
        if n.compare_max_megapixels.is_nan() || n.compare_max_megapixels < 0.0 {
            errs.push("normalize.compare_max_megapixels must be at least 0".to_string());
        }
        if !(0.0..1.0).contains(&n.dpi_tolerance) {
            errs.push("normalize.dpi_tolerance must be within 0..1".to_string());
        }
        if !(0.0..0.05).contains(&n.blank_max_ink) {
            errs.push("normalize.blank_max_ink must be within 0..0.05".to_string());
        }
        if !(0.0..=45.0).contains(&n.max_skew_deg)
            || !(0.0..=n.max_skew_deg).contains(&n.min_skew_deg)
        {
            errs.push(
                "normalize.max_skew_deg must be within 0..=45 and normalize.min_skew_deg within 0..=max_skew_deg"
                    .to_string(),
            );
        }
        if n.colour_chroma < 20 {
            errs.push("normalize.colour_chroma must be >= 20 (paper is not coloured)".to_string());
        }
        if !(2.0..=50.0).contains(&n.picture_min_letters) {
            errs.push("normalize.picture_min_letters must be within 2..=50".to_string());
        }
        if !(1.0..=20.0).contains(&n.binarize_window_letters)
            || !(0.0..=1.0).contains(&n.binarize_k)
        {
            errs.push(
                "normalize.binarize_window_letters must be within 1..=20 and normalize.binarize_k within 0..=1"
                    .to_string(),
            );
        }
        if !(1..=100).contains(&self.render.jpeg_quality) {
            errs.push("render.jpeg_quality must be within 1..=100".to_string());
        }
        let s = &self.server;
        if s.listen.parse::<std::net::SocketAddr>().is_err() {
            errs.push(format!(
                "server.listen must be an address like 127.0.0.1:8080, got {:?}",
                s.listen
            ));
        }
        if s.max_request_bytes == 0 || s.max_files_per_request == 0 {
            errs.push(
                "server.max_request_bytes and server.max_files_per_request must be > 0".to_string(),
            );
        }
        let q = &self.queue;
        if q.lease_secs == 0 || q.heartbeat_secs == 0 || q.heartbeat_secs * 2 > q.lease_secs {
            errs.push(
                "queue.heartbeat_secs must be > 0 and at most half of queue.lease_secs".to_string(),
            );
        }
        if q.max_crashes == 0 {
            errs.push("queue.max_crashes must be > 0".to_string());
        }
        if q.max_attempts == 0 {
            errs.push("queue.max_attempts must be > 0".to_string());
        }
        if q.backoff_base_ms > q.backoff_max_ms {
            errs.push("queue.backoff_base_ms must be <= queue.backoff_max_ms".to_string());
        }
        if q.poll_ms == 0 {
            errs.push("queue.poll_ms must be > 0".to_string());
        }
        if q.outage_backoff_max_ms < q.poll_ms {
            errs.push("queue.outage_backoff_max_ms must be >= queue.poll_ms".to_string());
        }
        if let StoreConfig::S3(s3) = &self.store {
            s3.problems(self.limits.max_file_bytes, &mut errs);
        }
        self.tus.problems(&mut errs);
        if self.orphans.claim_ttl_secs == 0 {
            errs.push("orphans.claim_ttl_secs must be > 0".to_string());
        }
        match &self.db {
            DbConfig::Sqlite(db) => {
                if db.max_connections == 0 {
                    errs.push("db.max_connections must be > 0".to_string());
                }
            }
            DbConfig::Postgres(db) => {
                if !(db.url.starts_with("postgres://") || db.url.starts_with("postgresql://")) {
                    errs.push(
                        "db.url must be a postgres:// URL (or MOTCUA__DB__URL set)".to_string(),
                    );
                } else if let Err(e) = db.url.parse::<sqlx::postgres::PgConnectOptions>() {
                    errs.push(format!("db.url is not a valid PostgreSQL URL: {e}"));
                }
                if db.max_connections < 2 {
                    // The LISTEN connection and a worker's claim must not starve the API.
                    errs.push("db.max_connections must be >= 2 on PostgreSQL".to_string());
                }
                if db.acquire_timeout_ms == 0 {
                    errs.push("db.acquire_timeout_ms must be > 0".to_string());
                }
                if db.reconnect_max_ms < 100 {
                    errs.push("db.reconnect_max_ms must be >= 100".to_string());
                }
            }
        }
        if s.retry_after_secs == 0 {
            errs.push("server.retry_after_secs must be > 0".to_string());
        }
        for (name, v) in [
            ("header_timeout_secs", s.header_timeout_secs),
            ("body_rate_window_secs", s.body_rate_window_secs),
            ("send_timeout_secs", s.send_timeout_secs),
            ("max_connections", s.max_connections as u64),
            ("reserve_connections", s.reserve_connections as u64),
        ] {
            if v == 0 {
                errs.push(format!("server.{name} must be > 0"));
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(errs))
        }
    }
}

/// `scheme://user:password@host/db` → `scheme://user:***@host/db`, for logs and messages.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rfind('@') {
        Some(at) => match authority[..at].split_once(':') {
            Some((user, _)) => format!("{user}:***{}", &authority[at..]),
            None => authority.to_string(),
        },
        None => authority.to_string(),
    };
    // libpq also takes the password as a query parameter.
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_string(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// An environment value as TOML (`4`, `true`, `[1, 2]`), or else a plain string (`0.0.0.0:80`).
fn env_value(raw: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()))
}

fn set_path(table: &mut toml::Table, keys: &[String], value: toml::Value) {
    let (last, parents) = keys.split_last().expect("at least one key");
    let mut t = table;
    for k in parents {
        let entry = t
            .entry(k.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        t = entry.as_table_mut().expect("just made a table");
    }
    t.insert(last.clone(), value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        Config::default().validate().unwrap();
    }

    #[test]
    fn urls_lose_their_password_and_nothing_else() {
        for (url, shown) in [
            (
                "postgres://motcua:s3cr%40t@db:5432/motcua",
                "postgres://motcua:***@db:5432/motcua",
            ),
            (
                "postgres://db/motcua?user=motcua&password=s3cret&sslmode=require",
                "postgres://db/motcua?user=motcua&password=***&sslmode=require",
            ),
            (
                "postgres://u:p@db?PASSWORD=x",
                "postgres://u:***@db?PASSWORD=***",
            ),
            ("postgres://motcua@db/motcua", "postgres://motcua@db/motcua"),
            (
                "postgres://db/x?passwordless=1",
                "postgres://db/x?passwordless=1",
            ),
            ("not a url", "not a url"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    #[test]
    fn validation_reports_every_error() {
        let mut c = Config::default();
        c.limits.max_pages = 0;
        c.ocr.psm = 42;
        c.render.jpeg_quality = 0;
        let ConfigError::Invalid(errs) = c.validate().unwrap_err() else {
            panic!("wrong error")
        };
        assert_eq!(errs.len(), 3, "{errs:?}");
    }

    #[test]
    fn session_settings_are_validated() {
        let r = ReviewConfig::default();
        assert_eq!(
            (r.session_idle_secs, r.session_max_secs, r.cookie_secure),
            (1800, 43_200, false)
        );
        assert_eq!((r.max_failed_logins, r.lockout_secs), (5, 900));
        let mut c = Config::default();
        c.review.session_idle_secs = 9;
        c.review.session_max_secs = 5;
        c.review.max_failed_logins = 0;
        c.review.lockout_secs = 0;
        let ConfigError::Invalid(errs) = c.validate().unwrap_err() else {
            panic!("wrong error")
        };
        assert_eq!(errs.len(), 4, "{errs:?}");
        assert!(errs.iter().all(|e| e.starts_with("review.")), "{errs:?}");
    }

    #[test]
    fn toml_overrides_and_rejects_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "[limits]\nmax_pages = 7\n").unwrap();
        let c = Config::load(Some(&p)).unwrap();
        assert_eq!(c.limits.max_pages, 7);
        assert_eq!(c.ocr.lang, "vie");
        std::fs::write(&p, "[limits]\nmax_pagez = 7\n").unwrap();
        assert!(matches!(
            Config::load(Some(&p)),
            Err(ConfigError::Parse { .. })
        ));
    }

    #[test]
    fn the_plain_reading_comparison_is_configured_and_checked() {
        assert_eq!(
            Config::default().normalize.compare_plain_reading,
            PlainComparison::Risky
        );
        let env = |k: &str, v: &str| [(format!("MOTCUA__NORMALIZE__{k}"), v.to_string())];
        let c = Config::load_with_env(None, env("COMPARE_PLAIN_READING", "\"never\"")).unwrap();
        assert_eq!(c.normalize.compare_plain_reading, PlainComparison::Never);
        for (k, v) in [
            ("COMPARE_PLAIN_READING", "\"sometimes\""),
            ("COMPARE_BELOW_SCALE", "1.5"),
            ("COMPARE_BELOW_SKEW_DEG", "-1.0"),
            ("COMPARE_MAX_MEGAPIXELS", "-2.0"),
        ] {
            assert!(Config::load_with_env(None, env(k, v)).is_err(), "{k} = {v}");
        }
    }

    #[test]
    fn env_overrides_file_and_is_typed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "[queue]\nworkers = 3\nmax_attempts = 9\n").unwrap();
        let env = [
            ("MOTCUA__QUEUE__WORKERS", "5"),
            ("MOTCUA__SERVER__LISTEN", "0.0.0.0:9000"),
            ("MOTCUA__SERVER__ALLOW_ANONYMOUS_DOSSIERS", "false"),
            ("MOTCUA__DB__PATH", "/tmp/x.db"),
            ("MOTCUA_CONFIG", "ignored"),
            ("OTHER", "ignored"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let c = Config::load_with_env(Some(&p), env).unwrap();
        assert_eq!(c.queue.workers, 5);
        assert_eq!(c.queue.max_attempts, 9, "file value kept");
        assert_eq!(c.server.listen, "0.0.0.0:9000");
        assert!(!c.server.allow_anonymous_dossiers);
        assert_eq!(c.sqlite_path(), Some(PathBuf::from("/tmp/x.db")));
        let bad = [("MOTCUA__QUEUE__WORKERZ".to_string(), "1".to_string())];
        assert!(matches!(
            Config::load_with_env(None, bad),
            Err(ConfigError::Env(_))
        ));
        let bad = [("MOTCUA__QUEUE__LEASE_SECS".to_string(), "2".to_string())];
        assert!(matches!(
            Config::load_with_env(None, bad),
            Err(ConfigError::Invalid(_))
        ));
    }

    #[test]
    fn the_s3_store_comes_from_the_environment_and_is_checked() {
        let env = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        };
        let c = Config::load_with_env(
            None,
            env(&[
                ("MOTCUA__STORE__KIND", "s3"),
                ("MOTCUA__STORE__BUCKET", "motcua"),
                ("MOTCUA__STORE__ENDPOINT", "http://127.0.0.1:8333"),
            ]),
        )
        .unwrap();
        let StoreConfig::S3(s3) = &c.store else {
            panic!("{:?}", c.store)
        };
        assert_eq!(s3.bucket, "motcua");
        assert_eq!(s3.region, "us-east-1");
        assert_eq!(s3.part_size_bytes, 8 * 1024 * 1024);
        assert_eq!(c.fs_store_root(), None);
        let text = toml::to_string_pretty(&c).unwrap();
        assert!(text.contains("backend = \"s3\""), "{text}");
        assert_eq!(toml::from_str::<Config>(&text).unwrap(), c);

        let bad = Config::load_with_env(
            None,
            env(&[
                ("MOTCUA__STORE__BACKEND", "s3"),
                ("MOTCUA__STORE__BUCKET", "Not_A_Bucket"),
                ("MOTCUA__STORE__ENDPOINT", "ftp://x"),
                ("MOTCUA__STORE__PART_SIZE_BYTES", "1048576"),
                ("MOTCUA__STORE__PREFIX", "../up"),
            ]),
        );
        let Err(ConfigError::Invalid(errs)) = bad else {
            panic!("{bad:?}")
        };
        assert_eq!(errs.len(), 4, "{errs:?}");
        // The bucket is required.
        assert!(Config::load_with_env(None, env(&[("MOTCUA__STORE__KIND", "s3")])).is_err());
        // Originals are copied with CopyObject: at most 5 GiB.
        let mut c = c.clone();
        c.limits.max_file_bytes = 6 << 30;
        assert!(c.validate().is_err());
    }

    #[test]
    fn a_db_url_alone_selects_postgres_and_is_validated() {
        let env = [("MOTCUA__DB__URL", "postgres://motcua:secret@db:5432/motcua")]
            .map(|(k, v)| (k.to_string(), v.to_string()));
        let c = Config::load_with_env(None, env).unwrap();
        let DbConfig::Postgres(p) = &c.db else {
            panic!("{:?}", c.db)
        };
        assert_eq!(p.url, "postgres://motcua:secret@db:5432/motcua");
        assert_eq!(p.acquire_timeout_ms, 5_000);
        assert_eq!(c.sqlite_path(), None);
        assert_eq!(c.db_display(), "postgres://motcua:***@db:5432/motcua");
        let text = toml::to_string_pretty(&c).unwrap();
        assert!(text.contains("backend = \"postgres\""), "{text}");

        let bad = [
            ("MOTCUA__DB__BACKEND", "postgres"),
            ("MOTCUA__DB__MAX_CONNECTIONS", "1"),
            ("MOTCUA__DB__ACQUIRE_TIMEOUT_MS", "0"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let Err(ConfigError::Invalid(errs)) = Config::load_with_env(None, bad) else {
            panic!("accepted")
        };
        assert_eq!(errs.len(), 3, "url, connections, timeout: {errs:?}");
        let bad = [
            ("MOTCUA__DB__PATH", "/x.db"),
            ("MOTCUA__DB__URL", "postgres://h/d"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        assert!(matches!(
            Config::load_with_env(None, bad),
            Err(ConfigError::Env(_))
        ));
    }

    #[test]
    fn backends_are_tagged_and_round_trip() {
        let c = Config::default();
        let text = toml::to_string_pretty(&c).unwrap();
        assert!(text.contains("backend = \"sqlite\""), "{text}");
        assert!(text.contains("backend = \"fs\""), "{text}");
        let back: Config = toml::from_str(&text).unwrap();
        assert_eq!(back, c);
        assert!(toml::from_str::<Config>("[db]\nbackend = \"oracle\"\n").is_err());
    }
}
