//! The tus 1.0.0 headers: what requests carry and what every response says.

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use base64::Engine;
use sha1::Digest as _;

use crate::intake::AppError;

pub const VERSION: &str = "1.0.0";
pub const EXTENSIONS: &str = "creation,creation-with-upload,termination,checksum,expiration";
pub const CHECKSUM_ALGORITHMS: &str = "sha1,sha256";
pub const OFFSET_CONTENT_TYPE: &str = "application/offset+octet-stream";

pub static TUS_RESUMABLE: HeaderName = HeaderName::from_static("tus-resumable");
pub static TUS_VERSION: HeaderName = HeaderName::from_static("tus-version");
pub static TUS_EXTENSION: HeaderName = HeaderName::from_static("tus-extension");
pub static TUS_MAX_SIZE: HeaderName = HeaderName::from_static("tus-max-size");
pub static TUS_CHECKSUM_ALGORITHM: HeaderName = HeaderName::from_static("tus-checksum-algorithm");
pub static UPLOAD_OFFSET: HeaderName = HeaderName::from_static("upload-offset");
pub static UPLOAD_LENGTH: HeaderName = HeaderName::from_static("upload-length");
pub static UPLOAD_METADATA: HeaderName = HeaderName::from_static("upload-metadata");
pub static UPLOAD_EXPIRES: HeaderName = HeaderName::from_static("upload-expires");
pub static UPLOAD_CHECKSUM: HeaderName = HeaderName::from_static("upload-checksum");
pub static UPLOAD_DEFER_LENGTH: HeaderName = HeaderName::from_static("upload-defer-length");
/// What a finished upload became (final `PATCH`, `HEAD`): our own headers.
pub static ATTACHMENT_ID: HeaderName = HeaderName::from_static("motcua-attachment-id");
pub static ATTACHMENT_SHA256: HeaderName = HeaderName::from_static("motcua-attachment-sha256");
pub static DOSSIER: HeaderName = HeaderName::from_static("motcua-dossier");

/// Every request but `OPTIONS` names the protocol version it speaks (412 otherwise).
pub fn check_version(h: &HeaderMap) -> Result<(), AppError> {
    match h.get(&TUS_RESUMABLE).and_then(|v| v.to_str().ok()) {
        Some(VERSION) => Ok(()),
        other => Err(AppError::TusVersion(other.unwrap_or("").to_string())),
    }
}

/// A header that must be a non-negative integer, if present.
pub fn number(h: &HeaderMap, name: &HeaderName) -> Result<Option<u64>, AppError> {
    let Some(v) = h.get(name) else {
        return Ok(None);
    };
    v.to_str()
        .ok()
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse().ok())
        .map(Some)
        .ok_or_else(|| AppError::BadRequest(format!("{name} must be a non-negative integer")))
}

/// `Upload-Metadata`: comma-separated `key base64value` pairs (the value may be absent).
pub fn metadata(h: &HeaderMap) -> Result<Vec<(String, Option<String>)>, AppError> {
    let Some(raw) = h.get(&UPLOAD_METADATA) else {
        return Ok(Vec::new());
    };
    let bad = |why: &str| AppError::BadRequest(format!("Upload-Metadata: {why}"));
    let raw = raw.to_str().map_err(|_| bad("not ASCII"))?;
    let mut out = Vec::new();
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut it = pair.split(' ');
        let key = it.next().unwrap_or_default();
        if key.is_empty() || out.iter().any(|(k, _)| k == key) {
            return Err(bad("an empty or repeated key"));
        }
        let value = match it.next() {
            None => None,
            Some(b64) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|_| bad("a value that is not base64"))?;
                Some(String::from_utf8(bytes).map_err(|_| bad("a value that is not UTF-8"))?)
            }
        };
        if it.next().is_some() {
            return Err(bad("a pair with more than one space"));
        }
        out.push((key.to_string(), value));
    }
    Ok(out)
}

/// The checksum a `PATCH` body must have (`Upload-Checksum: <algorithm> <base64 digest>`).
pub enum Checksum {
    Sha1(sha1::Sha1, Vec<u8>),
    Sha256(sha2::Sha256, Vec<u8>),
}

impl Checksum {
    pub fn parse(h: &HeaderMap) -> Result<Option<Self>, AppError> {
        let Some(raw) = h.get(&UPLOAD_CHECKSUM) else {
            return Ok(None);
        };
        let bad = || AppError::BadRequest("Upload-Checksum: `<algorithm> <base64>`".into());
        let (algo, b64) = raw
            .to_str()
            .ok()
            .and_then(|s| s.split_once(' '))
            .ok_or_else(bad)?;
        let want = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|_| bad())?;
        match algo {
            "sha1" if want.len() == 20 => Ok(Some(Checksum::Sha1(sha1::Sha1::new(), want))),
            "sha256" if want.len() == 32 => Ok(Some(Checksum::Sha256(sha2::Sha256::new(), want))),
            "sha1" | "sha256" => Err(bad()),
            other => Err(AppError::BadRequest(format!(
                "checksum algorithm {other:?} is not supported ({CHECKSUM_ALGORITHMS})"
            ))),
        }
    }

    pub fn update(&mut self, chunk: &[u8]) {
        match self {
            Checksum::Sha1(h, _) => h.update(chunk),
            Checksum::Sha256(h, _) => h.update(chunk),
        }
    }

    pub fn matches(self) -> bool {
        match self {
            Checksum::Sha1(h, want) => h.finalize().as_slice() == want.as_slice(),
            Checksum::Sha256(h, want) => h.finalize().as_slice() == want.as_slice(),
        }
    }
}

/// RFC 9110 date of a Unix time in milliseconds (`Upload-Expires`).
pub fn http_date(ms: i64) -> HeaderValue {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    HeaderValue::from_str(&httpdate::fmt_http_date(t)).expect("ASCII date")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert((*k).clone(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn metadata_pairs_decode_and_bad_ones_are_refused() {
        let h = headers(&[(
            &UPLOAD_METADATA,
            "dossier SE4tMDAx,filename dOG7nS5wZGY=,flag",
        )]);
        let m = metadata(&h).unwrap();
        assert_eq!(m[0], ("dossier".into(), Some("HN-001".into())));
        assert_eq!(m[1], ("filename".into(), Some("tờ.pdf".into())));
        assert_eq!(m[2], ("flag".into(), None));
        for bad in ["a !!!", "a YQ== b", "a YQ==,a YQ==", "a  YQ==", "a /w=="] {
            assert!(
                metadata(&headers(&[(&UPLOAD_METADATA, bad)])).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn checksums_check_the_body() {
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let sum1 = b64(&sha1::Sha1::digest(b"abc"));
        let mut c = Checksum::parse(&headers(&[(&UPLOAD_CHECKSUM, &format!("sha1 {sum1}"))]))
            .unwrap()
            .unwrap();
        c.update(b"ab");
        c.update(b"c");
        assert!(c.matches());
        let sum256 = b64(&sha2::Sha256::digest(b"abc"));
        let h = headers(&[(&UPLOAD_CHECKSUM, &format!("sha256 {sum256}"))]);
        let mut c = Checksum::parse(&h).unwrap().unwrap();
        c.update(b"abd");
        assert!(!c.matches());
        for bad in ["md5 AAAA", "sha1", "sha1 !!", &format!("sha256 {sum1}")] {
            let h = headers(&[(&UPLOAD_CHECKSUM, bad)]);
            assert!(Checksum::parse(&h).is_err(), "{bad}");
        }
    }

    #[test]
    fn numbers_and_dates() {
        assert_eq!(
            number(&headers(&[(&UPLOAD_OFFSET, "42")]), &UPLOAD_OFFSET).unwrap(),
            Some(42)
        );
        assert!(number(&headers(&[(&UPLOAD_OFFSET, "-1")]), &UPLOAD_OFFSET).is_err());
        assert!(number(&headers(&[(&UPLOAD_OFFSET, "")]), &UPLOAD_OFFSET).is_err());
        assert_eq!(number(&HeaderMap::new(), &UPLOAD_OFFSET).unwrap(), None);
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            http_date(1_796_601_600_000),
            "Mon, 07 Dec 2026 00:00:00 GMT"
        );
        assert_eq!(
            http_date(951_782_400_000 + 3_661_000),
            "Tue, 29 Feb 2000 01:01:01 GMT"
        );
        assert!(check_version(&headers(&[(&TUS_RESUMABLE, "1.0.0")])).is_ok());
        assert!(check_version(&headers(&[(&TUS_RESUMABLE, "0.2.2")])).is_err());
        assert!(check_version(&HeaderMap::new()).is_err());
    }
}
