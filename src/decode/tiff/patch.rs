//! Byte-level fixes to a copy of a TIFF so that the `tiff` crate can decode layouts it refuses.
//!
//! The crate (0.11, the newest) decompresses every codec we need, but refuses palette images at
//! the colour-type step and ignores FillOrder. Rather than re-implement strip and tile
//! decompression, predictors and tiling by hand, a copy of the file is patched so that the
//! crate reads the raw samples: palette indices come out as gray values that
//! [`super::samples`] maps through the ColorMap, and FillOrder=2 strips are bit-reversed first
//! (as libtiff does before decompression).

use std::io::{Read, Seek};

use tiff::decoder::Decoder;
use tiff::tags::Tag;

/// PhotometricInterpretation value that makes the crate return samples untouched.
const BLACK_IS_ZERO: u32 = 1;

/// Rewrites the PhotometricInterpretation entry of the IFD at `ifd` to BlackIsZero. `None` when
/// the directory cannot be walked (the crate then reports its own error).
pub(super) fn photometric_to_gray(data: &mut [u8], ifd: u64) -> Option<()> {
    let (at, le, value_at) = find_entry(data, ifd, 262)?;
    let width = match read(data, at + 2, 2, le)? {
        3 => 2,     // SHORT
        4 | 9 => 4, // LONG, SLONG
        _ => return None,
    };
    write(data, at + value_at, width, BLACK_IS_ZERO.into(), le)
}

/// Renames the entry `from` of the IFD at `ifd` to `to`.
fn retag(data: &mut [u8], ifd: u64, from: u16, to: u16) -> Option<()> {
    let (at, le, _) = find_entry(data, ifd, from)?;
    write(data, at, 2, to.into(), le)
}

/// A copy of `data` in which every directory that has TileWidth and StripOffsets but no
/// TileOffsets lists its tiles under the tile tags (old writers did this and libtiff accepts it;
/// the crate refuses the file when it opens it). `None` when no directory needs it.
pub(super) fn tiles_under_strip_tags(data: &[u8]) -> Option<Vec<u8>> {
    let le = data.first()? == &b'I';
    let big = read(data, 2, 2, le)? == 43;
    let mut next = if big {
        read(data, 8, 8, le)?
    } else {
        read(data, 4, 4, le)?
    };
    let mut copy: Option<Vec<u8>> = None;
    let mut seen = std::collections::HashSet::new();
    while next != 0 && seen.insert(next) && seen.len() <= 10_000 {
        let ifd = next;
        let has = |tag| find_entry(data, ifd, tag).is_some();
        if has(322) && has(273) && !has(324) {
            let c = copy.get_or_insert_with(|| data.to_vec());
            retag(c, ifd, 273, 324)?;
            retag(c, ifd, 279, 325)?;
        }
        let at = usize::try_from(ifd).ok()?;
        let (count, first, entry, width) = if big {
            (read(data, at, 8, le)?, at + 8, 20, 8)
        } else {
            (read(data, at, 2, le)?, at + 2, 12, 4)
        };
        let end = usize::try_from(count)
            .ok()?
            .checked_mul(entry)?
            .checked_add(first)?;
        next = read(data, end, width, le).unwrap_or(0);
    }
    copy
}

/// (entry offset, little-endian, offset of the value field within an entry).
fn find_entry(data: &[u8], ifd: u64, tag: u16) -> Option<(usize, bool, usize)> {
    let le = data.first()? == &b'I';
    let big = read(data, 2, 2, le)? == 43;
    let ifd = usize::try_from(ifd).ok()?;
    let (count, first, entry, value_at) = if big {
        (read(data, ifd, 8, le)?, ifd + 8, 20, 12)
    } else {
        (read(data, ifd, 2, le)?, ifd + 2, 12, 8)
    };
    (0..usize::try_from(count).ok()?)
        .map(|i| first.checked_add(i.checked_mul(entry)?))
        .find(|at| at.and_then(|at| read(data, at, 2, le)) == Some(u64::from(tag)))?
        .map(|at| (at, le, value_at))
}

fn read(data: &[u8], at: usize, n: usize, le: bool) -> Option<u64> {
    let b = data.get(at..at.checked_add(n)?)?;
    let fold = |v: u64, &x: &u8| v << 8 | u64::from(x);
    Some(if le {
        b.iter().rev().fold(0, fold)
    } else {
        b.iter().fold(0, fold)
    })
}

fn write(data: &mut [u8], at: usize, n: usize, value: u64, le: bool) -> Option<()> {
    let slot = data.get_mut(at..at.checked_add(n)?)?;
    for (k, b) in slot.iter_mut().enumerate() {
        let shift = if le { k } else { n - 1 - k };
        *b = (value >> (8 * shift)) as u8;
    }
    Some(())
}

/// Reverses the bit order of every byte of the current image's strips or tiles (FillOrder=2).
pub(super) fn reverse_chunks<R: Read + Seek>(dec: &mut Decoder<R>, data: &mut [u8]) -> Option<()> {
    let (offsets, counts) = chunk_ranges(dec)?;
    for (&off, &len) in offsets.iter().zip(&counts) {
        let start = usize::try_from(off).ok()?;
        let end = start
            .checked_add(usize::try_from(len).ok()?)?
            .min(data.len());
        if let Some(chunk) = data.get_mut(start..end) {
            chunk.iter_mut().for_each(|b| *b = b.reverse_bits());
        }
    }
    Some(())
}

/// (offsets, byte counts) of the current image's strips, or tiles when it is tiled.
pub(super) fn chunk_ranges<R: Read + Seek>(dec: &mut Decoder<R>) -> Option<(Vec<u64>, Vec<u64>)> {
    let tiled = dec.find_tag(Tag::TileOffsets).ok()?.is_some();
    let (o, c) = if tiled {
        (Tag::TileOffsets, Tag::TileByteCounts)
    } else {
        (Tag::StripOffsets, Tag::StripByteCounts)
    };
    let offsets = dec.get_tag_u64_vec(o).ok()?;
    let counts = dec.get_tag_u64_vec(c).ok()?;
    (offsets.len() == counts.len()).then_some((offsets, counts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_a_short_photometric_entry_in_either_byte_order() {
        // Header, then an IFD at 8 with one entry: Photometric SHORT 1 value 3 (palette).
        let mut le = b"II*\0\x08\0\0\0\x01\0\x06\x01\x03\0\x01\0\0\0\x03\0\0\0\0\0\0\0".to_vec();
        photometric_to_gray(&mut le, 8).unwrap();
        assert_eq!(&le[18..20], &[1, 0]);
        let mut be = b"MM\0*\0\0\0\x08\0\x01\x01\x06\0\x03\0\0\0\x01\0\x03\0\0\0\0\0\0".to_vec();
        photometric_to_gray(&mut be, 8).unwrap();
        assert_eq!(&be[18..20], &[0, 1]);
        // No such entry, or a directory past the end: nothing to patch.
        let mut other = le.clone();
        other[10] = 0x07;
        assert!(photometric_to_gray(&mut other, 8).is_none());
        assert!(photometric_to_gray(&mut le, 4000).is_none());
    }
}
