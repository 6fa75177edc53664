//! CCITT fax strips the `tiff` crate cannot read: Group 3 (1-D and 2-D, with or without fill
//! bits), Modified Huffman (Compression=2) and any CCITT data stored LSB-first (FillOrder=2).
//! The crate decodes Group 4 only, MSB-first, and the `fax` crate decodes Group 3 1-D only, so
//! these go through `hayro-ccitt` (T.4 1-D/2-D and T.6), one strip at a time.

use hayro_ccitt::{DecodeSettings, DecoderContext, EncodingMode};

/// Tags of one CCITT page.
pub(super) struct Fax {
    pub width: u32,
    pub height: u32,
    /// TIFF Compression: 2 (Modified Huffman), 3 (T.4) or 4 (T.6).
    pub compression: u16,
    /// T4Options (Compression=3) or T6Options (Compression=4).
    pub options: u32,
    pub rows_per_strip: u32,
    /// FillOrder=2: bits of each byte run least significant first.
    pub lsb_first: bool,
    /// PhotometricInterpretation=1: a coded black run is a white pixel.
    pub black_is_zero: bool,
}

/// Decodes every strip into 8-bit gray (0 black, 255 white). `strips` yields each strip's bytes
/// (`None`: the strip lies outside the file). `Err` is (unsupported, detail).
pub(super) fn decode<'a>(
    fax: &Fax,
    strips: impl Iterator<Item = Option<&'a [u8]>>,
) -> Result<Vec<u8>, (bool, String)> {
    let uncompressed_mode = match fax.compression {
        3 => fax.options & 2 != 0,
        4 => fax.options & 2 != 0,
        _ => false,
    };
    if uncompressed_mode {
        return Err((true, "CCITT uncompressed mode".into()));
    }
    let encoding = match fax.compression {
        2 => EncodingMode::Group3_1D,
        3 if fax.options & 1 != 0 => EncodingMode::Group3_2D { k: u32::MAX },
        3 => EncodingMode::Group3_1D,
        _ => EncodingMode::Group4,
    };
    let rows_per_strip = fax.rows_per_strip.clamp(1, fax.height);
    let mut out = Gray {
        pixels: Vec::with_capacity(fax.width as usize * fax.height as usize),
        limit: 0,
        white: if fax.black_is_zero { 0 } else { 255 },
    };
    let mut reversed = Vec::new();
    for (i, strip) in strips.enumerate() {
        let top = i as u64 * u64::from(rows_per_strip);
        if top >= u64::from(fax.height) {
            break;
        }
        let rows = rows_per_strip.min(fax.height - top as u32);
        let mut bytes = strip.ok_or((false, format!("strip {i} lies outside the file")))?;
        if fax.lsb_first {
            reversed.clear();
            reversed.extend(bytes.iter().map(|b| b.reverse_bits()));
            bytes = &reversed;
        }
        let mut ctx = DecoderContext::new(DecodeSettings {
            columns: fax.width,
            rows,
            end_of_block: true,
            end_of_line: fax.compression == 3,
            // Modified Huffman rows each start on a byte; T.4 fill bits sit before the EOLs,
            // which the decoder skips by itself.
            rows_are_byte_aligned: fax.compression == 2,
            encoding,
            invert_black: false,
        });
        let start = out.pixels.len();
        out.limit = start + rows as usize * fax.width as usize;
        let result = hayro_ccitt::decode(bytes, &mut out, &mut ctx);
        if out.pixels.len() < out.limit {
            let done = (out.pixels.len() - start) / fax.width as usize;
            let why = result
                .err()
                .map_or("data ends".to_string(), |e| e.to_string());
            return Err((
                false,
                format!("CCITT strip {i} breaks off after {done} of {rows} rows: {why}"),
            ));
        }
    }
    if out.pixels.len() < fax.width as usize * fax.height as usize {
        return Err((false, "fewer CCITT strips than rows".into()));
    }
    Ok(out.pixels)
}

/// Collects decoded pixels, never past the rows the strip announced.
struct Gray {
    pixels: Vec<u8>,
    limit: usize,
    white: u8,
}

impl Gray {
    fn push(&mut self, white: bool, count: usize) {
        let n = count.min(self.limit.saturating_sub(self.pixels.len()));
        let v = if white { self.white } else { 255 - self.white };
        self.pixels.extend(std::iter::repeat_n(v, n));
    }
}

impl hayro_ccitt::Decoder for Gray {
    fn push_pixel(&mut self, white: bool) {
        self.push(white, 1);
    }

    fn push_pixel_chunk(&mut self, white: bool, chunk_count: u32) {
        self.push(white, chunk_count as usize * 8);
    }

    fn next_line(&mut self) {}
}
