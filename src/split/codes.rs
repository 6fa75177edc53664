//! The QR codes and Code 39 barcodes on a page, read with `rxing`, the Rust port of ZXing:
//! maintained, pure Rust (no C library to build), and it reads both symbologies, several codes
//! on one page, and codes at any rotation. `rqrr` reads QR codes only, and paperless-ngx's
//! separator sheets are Code 39 `PATCHT`. Only what the decoder read with its error correction
//! is returned: a code too damaged to read is absent, never guessed.

use std::collections::HashSet;

use image::GrayImage;
use rxing::{BarcodeFormat, DecodeHints, Exceptions};

/// The barcode symbologies a stack's sheets use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Symbology {
    Qr,
    Code39,
}

/// One code read on a page.
#[derive(Debug, Clone, PartialEq)]
pub struct Code {
    pub symbology: Symbology,
    pub text: String,
    /// Where the decoder found it (finder patterns or bar ends), in page pixels.
    pub points: Vec<(f32, f32)>,
}

#[derive(Debug, thiserror::Error)]
#[error("barcode reader failed: {0}")]
pub struct CodeError(String);

/// Every QR code and Code 39 barcode on `page`. An empty list when there is none.
pub fn read(page: &GrayImage) -> Result<Vec<Code>, CodeError> {
    let (w, h) = page.dimensions();
    if w == 0 || h == 0 {
        return Ok(Vec::new());
    }
    let mut hints = DecodeHints {
        PossibleFormats: Some(HashSet::from([
            BarcodeFormat::QR_CODE,
            BarcodeFormat::CODE_39,
        ])),
        TryHarder: Some(true),
        ..Default::default()
    };
    let found = match rxing::helpers::detect_multiple_in_luma_with_hints(
        page.as_raw().clone(),
        w,
        h,
        &mut hints,
    ) {
        Ok(found) => found,
        Err(Exceptions::NotFoundException(_)) => return Ok(Vec::new()),
        Err(e) => return Err(CodeError(e.to_string())),
    };
    let mut codes: Vec<Code> = found
        .into_iter()
        .filter_map(|r| {
            let symbology = match r.getBarcodeFormat() {
                BarcodeFormat::QR_CODE => Symbology::Qr,
                BarcodeFormat::CODE_39 => Symbology::Code39,
                _ => return None,
            };
            Some(Code {
                symbology,
                text: r.getText().to_string(),
                points: r.getPoints().iter().map(|p| (p.x, p.y)).collect(),
            })
        })
        .collect();
    // Top to bottom, as a reader would meet them.
    codes.sort_by(|a, b| {
        let y = |c: &Code| c.points.iter().map(|p| p.1).fold(f32::MAX, f32::min);
        y(a).total_cmp(&y(b))
    });
    Ok(codes)
}

/// Whether a QR code is on `page` at all: its three finder patterns and their geometry are
/// found, whether or not its content can be read. With [`read`] finding nothing, the page has a
/// code too damaged to read, which is reported and never guessed.
pub fn qr_present(page: &GrayImage) -> bool {
    let (w, h) = page.dimensions();
    if w == 0 || h == 0 {
        return false;
    }
    let Ok(source) = rxing::Luma8LuminanceSource::new(page.as_raw().clone(), w, h) else {
        return false;
    };
    let bitmap = rxing::BinaryBitmap::new(rxing::common::HybridBinarizer::new(source));
    let hints = DecodeHints {
        TryHarder: Some(true),
        ..Default::default()
    };
    rxing::qrcode::detector::Detector::new(bitmap.get_black_matrix())
        .detect_with_hints(&hints)
        .is_ok()
}

#[cfg(test)]
#[path = "codes_tests.rs"]
mod tests;
