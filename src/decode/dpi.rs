//! Resolution stated by image headers. Phones and many tools write placeholders (72 dpi, 1:1 aspect),
//! so a stated value is kept only if it implies a plausible paper size.

/// JFIF APP0 density (horizontal, vertical), when its unit is dots per inch or per centimetre.
pub fn jfif(data: &[u8]) -> Option<(f32, f32)> {
    // SOI, then APP0 "JFIF\0" version(2) units(1) x(2) y(2)
    let app0 = data.get(2..20)?;
    if app0[0..2] != [0xFF, 0xE0] || &app0[4..9] != b"JFIF\0" {
        return None;
    }
    let units = app0[11];
    let x = f32::from(u16::from_be_bytes([app0[12], app0[13]]));
    let y = f32::from(u16::from_be_bytes([app0[14], app0[15]]));
    match units {
        1 => Some((x, y)),
        2 => Some((x * 2.54, y * 2.54)),
        _ => None,
    }
}

/// EXIF (APP1 TIFF block) XResolution/YResolution, when ResolutionUnit is inch (the default) or
/// centimetre.
pub fn exif(blob: &[u8]) -> Option<(f32, f32)> {
    use exif::{In, Tag, Value};
    let blob = blob.strip_prefix(b"Exif\0\0").unwrap_or(blob);
    let exif = exif::Reader::new().read_raw(blob.to_vec()).ok()?;
    let rational = |tag| match &exif.get_field(tag, In::PRIMARY)?.value {
        Value::Rational(v) if v.first()?.denom != 0 => Some(v[0].to_f64() as f32),
        _ => None,
    };
    let x = rational(Tag::XResolution)?;
    let y = rational(Tag::YResolution).unwrap_or(x);
    let unit = exif
        .get_field(Tag::ResolutionUnit, In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .unwrap_or(2);
    match unit {
        2 => Some((x, y)),
        3 => Some((x * 2.54, y * 2.54)),
        _ => None,
    }
}

/// PNG pHYs chunk (horizontal, vertical), when its unit is the metre.
pub fn png(data: &[u8]) -> Option<(f32, f32)> {
    let mut pos = 8;
    while pos + 12 <= data.len() {
        let len = u32::from_be_bytes(data[pos..pos + 4].try_into().ok()?) as usize;
        match &data[pos + 4..pos + 8] {
            b"pHYs" if len == 9 => {
                let b = data.get(pos + 8..pos + 17)?;
                let x = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
                let y = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
                return (b[8] == 1).then_some((x as f32 * 0.0254, y as f32 * 0.0254));
            }
            b"IDAT" | b"IEND" => return None,
            _ => pos += 12 + len,
        }
    }
    None
}

/// A stated resolution pair → (dpi, ydpi): the horizontal value when plausible, and the vertical
/// one only when it is plausible too and differs from it.
pub fn pair(xy: Option<(f32, f32)>, width: u32, height: u32) -> (Option<f32>, Option<f32>) {
    let Some((x, y)) = xy.filter(|&(x, _)| plausible(x, width, height)) else {
        return (None, None);
    };
    let y = (y > 0.0 && plausible(y, width, height)).then_some(y);
    (Some(x), y.and_then(|y| distinct(x, y)))
}

/// `y` when it differs from `x` by more than rounding (2 %): the pixels are not square.
pub fn distinct(x: f32, y: f32) -> Option<f32> {
    ((y / x - 1.0).abs() > 0.02).then_some(y)
}

/// Between 70 and 2400 dpi, and the page no larger than A2 (about 23.4 in).
pub fn plausible(dpi: f32, width: u32, height: u32) -> bool {
    (70.0..=2400.0).contains(&dpi) && (width.max(height) as f32 / dpi) <= 24.0
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn reads_jfif_density() {
        let mut j = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 16];
        j.extend_from_slice(b"JFIF\0\x01\x01\x01\x01\x2C\x01\x2C\0\0");
        assert_eq!(jfif(&j), Some((300.0, 300.0)));
        j[13] = 0; // aspect ratio only
        assert_eq!(jfif(&j), None);
    }

    /// A big-endian EXIF TIFF block: XResolution, YResolution (RATIONAL), ResolutionUnit.
    pub(crate) fn exif_block(x: u32, y: u32, unit: u16) -> Vec<u8> {
        let mut b = b"MM\0*\0\0\0\x08\0\x03".to_vec();
        for (tag, ty, value) in [(0x011Au16, 5u16, 50u32), (0x011B, 5, 58), (0x0128, 3, 0)] {
            b.extend_from_slice(&tag.to_be_bytes());
            b.extend_from_slice(&ty.to_be_bytes());
            b.extend_from_slice(&1u32.to_be_bytes());
            if ty == 3 {
                b.extend_from_slice(&unit.to_be_bytes());
                b.extend_from_slice(&[0, 0]);
            } else {
                b.extend_from_slice(&value.to_be_bytes());
            }
        }
        b.extend_from_slice(&[0; 4]);
        for v in [x, 1, y, 1] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        b
    }

    #[test]
    fn reads_exif_resolution() {
        assert_eq!(exif(&exif_block(200, 100, 2)), Some((200.0, 100.0)));
        let cm = exif(&exif_block(100, 100, 3)).unwrap();
        assert!((cm.0 - 254.0).abs() < 0.01);
        assert_eq!(exif(&exif_block(300, 300, 1)), None);
        assert_eq!(exif(b"not exif"), None);
    }

    #[test]
    fn non_square_pixels_keep_both_resolutions() {
        // Standard fax: 1728 × 1100 px at 200 × 100 dpi is an A4 page.
        assert_eq!(
            pair(Some((200.0, 100.0)), 1728, 1100),
            (Some(200.0), Some(100.0))
        );
        assert_eq!(pair(Some((300.0, 300.0)), 2480, 3508), (Some(300.0), None));
        assert_eq!(pair(Some((300.0, 299.0)), 2480, 3508), (Some(300.0), None));
        assert_eq!(pair(Some((72.0, 36.0)), 4000, 3000), (None, None));
        assert_eq!(pair(Some((300.0, 0.0)), 2480, 3508), (Some(300.0), None));
    }

    #[test]
    fn placeholder_dpi_is_not_plausible() {
        assert!(plausible(300.0, 2480, 3508));
        assert!(!plausible(72.0, 4000, 3000));
        assert!(!plausible(1.0, 10, 10));
    }
}
