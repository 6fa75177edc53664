//! Byte-level fixes to a copy of a TIFF so that the `tiff` crate can decode layouts it refuses.
//!
//! The crate (0.11, the newest) decompresses every codec we need, but refuses palette images at
//! the colour-type step and directories without PhotometricInterpretation, and ignores
//! FillOrder. Rather than re-implement strip and tile decompression, predictors and tiling by
//! hand, a copy of the file is patched so that the crate reads the raw samples: palette indices
//! come out as gray values that [`super::samples`] maps through the ColorMap, FillOrder=2 strips
//! are bit-reversed first (as libtiff does before decompression), and a missing
//! PhotometricInterpretation is added as libtiff guesses it.

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
    let mut copy: Option<Vec<u8>> = None;
    for (_, ifd) in directories(data)? {
        let has = |tag| find_entry(data, ifd, tag).is_some();
        if has(322) && has(273) && !has(324) {
            let c = copy.get_or_insert_with(|| data.to_vec());
            retag(c, ifd, 273, 324)?;
            retag(c, ifd, 279, 325)?;
        }
    }
    copy
}

/// A copy of `data` in which every directory without PhotometricInterpretation gets the one
/// libtiff assumes (`TIFFRGBAImageBegin`; GDAL does the same): one colour channel is gray, black
/// at zero (white at zero for CCITT fax data), three are RGB. Pillow takes white at zero instead. The crate refuses such a page as an unknown
/// interpretation and then cannot go on to the pages after it; data layers and masks that
/// instruments add after the image often have no PhotometricInterpretation. The directory is
/// rewritten at the end of the copy with the entry added and the pointer to it moved there
/// (entries keep their values and offsets). `None` when no directory needs it.
pub(super) fn missing_photometric(data: &[u8]) -> Option<Vec<u8>> {
    let le = data.first()? == &b'I';
    let big = read(data, 2, 2, le)? == 43;
    let (count_len, entry_len, ptr_len) = if big { (8, 20, 8) } else { (2, 12, 4) };
    let count_field = if big { 8 } else { 4 };
    let mut copy: Option<Vec<u8>> = None;
    // Where the next-directory pointer of a rewritten directory moved to.
    let mut moved = std::collections::HashMap::new();
    for (pointer_at, ifd) in directories(data)? {
        if find_entry(data, ifd, 262).is_some() {
            continue;
        }
        // The first value of a SHORT or LONG entry.
        let value = |tag| {
            let (at, _, v) = find_entry(data, ifd, tag)?;
            let width = match read(data, at + 2, 2, le)? {
                3 => 2,
                4 => 4,
                _ => return None,
            };
            read(data, at + v, width, le)
        };
        let samples = value(277).unwrap_or(1);
        let extra = match find_entry(data, ifd, 338) {
            Some((at, _, _)) => read(data, at + 4, count_field, le)?,
            None => 0,
        };
        let photometric: u64 = match (samples.checked_sub(extra), value(259)) {
            (Some(1), Some(2..=4)) => 0,
            (Some(1), _) => 1,
            (Some(3), _) => 2,
            _ => continue,
        };
        let at = usize::try_from(ifd).ok()?;
        let count = usize::try_from(read(data, at, count_len, le)?).ok()?;
        let entries_at = at + count_len;
        let entries =
            data.get(entries_at..entries_at.checked_add(count.checked_mul(entry_len)?)?)?;
        let next = data.get(entries_at + entries.len()..)?.get(..ptr_len)?;
        let c = copy.get_or_insert_with(|| data.to_vec());
        c.resize(c.len().next_multiple_of(2), 0);
        let new_at = c.len() as u64;
        if !big && new_at.checked_add((count as u64 + 1) * 12 + 6)? > u64::from(u32::MAX) {
            return None;
        }
        let mut added = vec![0u8; entry_len];
        write(&mut added, 0, 2, 262, le)?;
        write(&mut added, 2, 2, 3, le)?; // SHORT
        write(&mut added, 4, count_field, 1, le)?;
        write(&mut added, entry_len - ptr_len, 2, photometric, le)?;
        let mut dir = vec![0u8; count_len];
        write(&mut dir, 0, count_len, count as u64 + 1, le)?;
        let mut placed = false;
        for e in entries.chunks_exact(entry_len) {
            if !placed && read(e, 0, 2, le)? > 262 {
                dir.extend_from_slice(&added);
                placed = true;
            }
            dir.extend_from_slice(e);
        }
        if !placed {
            dir.extend_from_slice(&added);
        }
        dir.extend_from_slice(next);
        // Hostile directories that overlap could otherwise grow the copy without end.
        if c.len() + dir.len() > 2 * data.len() + 4096 {
            return None;
        }
        c.extend_from_slice(&dir);
        let pointer_at = moved.get(&pointer_at).copied().unwrap_or(pointer_at);
        write(c, pointer_at, ptr_len, new_at, le)?;
        moved.insert(entries_at + entries.len(), c.len() - ptr_len);
    }
    copy
}

/// (where the pointer to it is, offset) of every directory, in file order; a loop or more than
/// 10 000 directories ends the walk. `None` when the header is not a TIFF's.
fn directories(data: &[u8]) -> Option<Vec<(usize, u64)>> {
    let le = data.first()? == &b'I';
    let big = read(data, 2, 2, le)? == 43;
    let (mut pointer_at, width) = if big { (8, 8) } else { (4, 4) };
    let mut next = read(data, pointer_at, width, le)?;
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    while next != 0 && seen.insert(next) && seen.len() <= 10_000 {
        out.push((pointer_at, next));
        let Ok(at) = usize::try_from(next) else { break };
        let (count, first, entry) = if big {
            (read(data, at, 8, le), at + 8, 20)
        } else {
            (read(data, at, 2, le), at + 2, 12)
        };
        let end = count
            .and_then(|n| usize::try_from(n).ok())
            .and_then(|n| n.checked_mul(entry)?.checked_add(first));
        let Some(end) = end else { break };
        pointer_at = end;
        next = read(data, end, width, le).unwrap_or(0);
    }
    Some(out)
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
    // Only entries inside the file: a BigTIFF's 8-byte count can claim 2^64 of them (the
    // decoder fuzzer's hang).
    let fits = data.len().saturating_sub(first) / entry;
    (0..usize::try_from(count).ok()?.min(fits))
        .map(|i| first + i * entry)
        .find(|&at| read(data, at, 2, le) == Some(u64::from(tag)))
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
    /// A BigTIFF directory whose entry count says 2^64 - 1: looking a tag up ends at the end
    /// of the file (it used to loop for ever).
    #[test]
    fn an_entry_count_past_the_end_of_the_file_ends_the_lookup() {
        let mut data = b"II\x2b\x00\x08\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00".to_vec();
        data.extend_from_slice(&u64::MAX.to_le_bytes());
        data.extend_from_slice(&[0u8; 40]);
        assert_eq!(super::find_entry(&data, 16, 262), None);
    }

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
