//! The file name of a multipart part, from its raw `Content-Disposition`: `filename*` (RFC 8187:
//! `UTF-8''%C3%A1.png`) before `filename` (RFC 6266 §4.3), and a name in a legacy code page (a
//! Windows-1258 name from an old scanner PC) shown lossily rather than dropping the file, which is
//! what the multipart parser does with a name that is not UTF-8.

use axum::http::HeaderMap;
use axum::http::header::CONTENT_DISPOSITION;

/// The part's file name, if its header gives one in any form.
pub fn file_name(headers: &HeaderMap) -> Option<String> {
    let raw = headers.get(CONTENT_DISPOSITION)?.as_bytes();
    let params = params(raw);
    let extended = params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(b"filename*"))
        .and_then(|(_, v)| extended_value(v));
    extended.or_else(|| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(b"filename"))
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    })
}

/// `key=value` parameters after the disposition type; quoted values unescaped.
fn params(raw: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    let mut i = raw
        .iter()
        .position(|&b| b == b';')
        .map_or(raw.len(), |p| p + 1);
    while i < raw.len() {
        while i < raw.len() && (raw[i] == b' ' || raw[i] == b'\t' || raw[i] == b';') {
            i += 1;
        }
        let key_start = i;
        while i < raw.len() && raw[i] != b'=' && raw[i] != b';' {
            i += 1;
        }
        let key = raw[key_start..i].trim_ascii().to_vec();
        if i >= raw.len() || raw[i] == b';' {
            continue;
        }
        i += 1; // '='
        let mut value = Vec::new();
        if raw.get(i) == Some(&b'"') {
            i += 1;
            while i < raw.len() && raw[i] != b'"' {
                if raw[i] == b'\\' && i + 1 < raw.len() {
                    i += 1;
                }
                value.push(raw[i]);
                i += 1;
            }
            i += 1; // closing quote
        } else {
            while i < raw.len() && raw[i] != b';' {
                value.push(raw[i]);
                i += 1;
            }
            value = value.trim_ascii().to_vec();
        }
        if !key.is_empty() {
            out.push((key, value));
        }
    }
    out
}

/// `charset'language'percent-encoded` (RFC 8187). UTF-8 and ISO-8859-1 are decoded as such,
/// anything else lossily.
fn extended_value(v: &[u8]) -> Option<String> {
    let mut parts = v.splitn(3, |&b| b == b'\'');
    let (charset, _lang, encoded) = (parts.next()?, parts.next()?, parts.next()?);
    let bytes = percent_decode(encoded);
    if charset.eq_ignore_ascii_case(b"iso-8859-1") {
        return Some(bytes.iter().map(|&b| char::from(b)).collect());
    }
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

fn percent_decode(s: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%'
            && let (Some(h), Some(l)) = (
                s.get(i + 1).copied().and_then(hex),
                s.get(i + 2).copied().and_then(hex),
            )
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(s[i]);
        i += 1;
    }
    out
}

/// A name for a file part that came without one: the field's name and the type's extension.
pub fn by_type(field: Option<&str>, media_type: &str) -> String {
    let ext = match media_type {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/tiff" => "tif",
        "image/webp" => "webp",
        "application/pdf" => "pdf",
        _ => "bin",
    };
    let stem = field.filter(|f| !f.trim().is_empty()).unwrap_or("file");
    format!("{stem}.{ext}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn name(raw: &[u8]) -> Option<String> {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_DISPOSITION, HeaderValue::from_bytes(raw).unwrap());
        file_name(&h)
    }

    #[test]
    fn plain_quoted_and_escaped_names() {
        assert_eq!(
            name(br#"form-data; name="file"; filename="giay khai sinh.pdf""#).as_deref(),
            Some("giay khai sinh.pdf")
        );
        assert_eq!(
            name(br#"form-data; name="f"; filename="a \"b\".png""#).as_deref(),
            Some(r#"a "b".png"#)
        );
        assert_eq!(
            name(b"form-data; name=f; filename=scan.tif").as_deref(),
            Some("scan.tif")
        );
        assert_eq!(name(br#"form-data; name="note""#), None);
    }

    #[test]
    fn the_extended_name_wins_and_is_decoded() {
        assert_eq!(
            name(b"form-data; name=\"file\"; filename*=UTF-8''gi%E1%BA%A5y%20t%E1%BB%9D.pdf")
                .as_deref(),
            Some("giấy tờ.pdf")
        );
        assert_eq!(
            name(b"form-data; name=\"file\"; filename=\"giay.pdf\"; filename*=utf-8'vi'gi%E1%BA%A5y.pdf")
                .as_deref(),
            Some("giấy.pdf")
        );
        assert_eq!(
            name(b"form-data; filename*=ISO-8859-1''caf%E9.png").as_deref(),
            Some("café.png")
        );
    }

    #[test]
    fn a_legacy_code_page_name_is_shown_lossily_not_dropped() {
        // "Tờ khai.png" in Windows-1258: `T`, 0xF4 (ô) + 0xCC (combining grave)…
        let raw = b"form-data; name=\"file\"; filename=\"T\xF4\xCC khai.png\"";
        let n = name(raw).expect("a name");
        assert!(n.starts_with('T') && n.ends_with(" khai.png"), "{n}");
    }

    #[test]
    fn nameless_parts_are_named_by_type() {
        assert_eq!(by_type(Some("scan"), "image/png"), "scan.png");
        assert_eq!(by_type(None, "application/pdf"), "file.pdf");
    }
}
