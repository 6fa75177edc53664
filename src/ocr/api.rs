//! Minimal safe wrapper over Tesseract's C API (`tesseract-sys`): one owned handle, image in,
//! words with boxes, confidences and line baselines out, and orientation detection.

use std::ffi::{CStr, CString, c_char, c_int};
use std::ptr;

use tesseract_sys::*;

use super::OcrResult;
use crate::domain::{BBox, Line, Word};
use crate::text::nfc;

pub(super) struct Api(*mut TessBaseAPI);

// SAFETY: a TessBaseAPI may move between threads; it is only ever used by one at a time (&mut).
unsafe impl Send for Api {}

impl Drop for Api {
    fn drop(&mut self) {
        // SAFETY: the handle came from TessBaseAPICreate and is dropped once.
        unsafe {
            TessBaseAPIEnd(self.0);
            TessBaseAPIDelete(self.0);
        }
    }
}

/// A page's orientation as Tesseract's OSD sees it.
#[derive(Debug, Clone, Copy)]
pub struct Orientation {
    /// Clockwise degrees the page is turned from upright: 0, 90, 180 or 270.
    pub degrees: u16,
    pub confidence: f32,
}

impl Api {
    pub fn new(datapath: Option<&CStr>, lang: &CStr, oem: TessOcrEngineMode) -> Option<Api> {
        // SAFETY: plain constructor; Init2 copies the strings.
        unsafe {
            let h = TessBaseAPICreate();
            if h.is_null() {
                return None;
            }
            let api = Api(h);
            let dp = datapath.map_or(ptr::null(), CStr::as_ptr);
            (TessBaseAPIInit2(h, dp, lang.as_ptr(), oem) == 0).then_some(api)
        }
    }

    pub fn set_variable(&mut self, name: &str, value: &str) -> bool {
        let (Ok(n), Ok(v)) = (CString::new(name), CString::new(value)) else {
            return false;
        };
        // SAFETY: valid handle and NUL-terminated strings.
        unsafe { TessBaseAPISetVariable(self.0, n.as_ptr(), v.as_ptr()) == 1 }
    }

    pub fn set_page_seg_mode(&mut self, mode: TessPageSegMode) {
        // SAFETY: valid handle.
        unsafe { TessBaseAPISetPageSegMode(self.0, mode) }
    }

    /// `pixels`: `height` rows of `width` pixels of `channels` bytes (1 gray, 3 RGB), tightly
    /// packed. Tesseract copies the pixels.
    pub fn set_image(
        &mut self,
        pixels: &[u8],
        width: u32,
        height: u32,
        channels: u32,
        dpi: u32,
    ) -> bool {
        let (Ok(w), Ok(h), Ok(row)) = (
            c_int::try_from(width),
            c_int::try_from(height),
            c_int::try_from(u64::from(width) * u64::from(channels)),
        ) else {
            return false;
        };
        let needed = width as usize * height as usize * channels as usize;
        if width == 0 || height == 0 || !matches!(channels, 1 | 3) || pixels.len() < needed {
            return false;
        }
        // SAFETY: the buffer holds height rows of width pixels of `channels` bytes, checked above.
        unsafe {
            TessBaseAPISetImage(self.0, pixels.as_ptr(), w, h, channels as c_int, row);
            TessBaseAPISetSourceResolution(self.0, dpi as c_int);
        }
        true
    }

    pub fn detect_orientation(&mut self) -> Option<Orientation> {
        let (mut deg, mut conf, mut script, mut sconf) =
            (0 as c_int, 0f32, ptr::null::<c_char>(), 0f32);
        // SAFETY: out-pointers to locals; the script name is owned by Tesseract and not kept.
        let ok = unsafe {
            TessBaseAPIDetectOrientationScript(self.0, &mut deg, &mut conf, &mut script, &mut sconf)
        };
        let degrees = match deg {
            0 | 90 | 180 | 270 => deg as u16,
            _ => return None,
        };
        (ok == 1).then_some(Orientation {
            degrees,
            confidence: conf,
        })
    }

    /// Recognises the current image and walks the result in reading order.
    pub fn recognize(&mut self) -> Option<OcrResult> {
        // SAFETY: valid handle; the iterator is deleted before return and every returned string freed.
        unsafe {
            if TessBaseAPIRecognize(self.0, ptr::null_mut()) != 0 {
                return None;
            }
            let mut out = OcrResult::default();
            let ri = TessBaseAPIGetIterator(self.0);
            if ri.is_null() {
                return Some(out); // nothing found on the page
            }
            let pi = TessResultIteratorGetPageIterator(ri);
            let mut paragraph = 0u32;
            loop {
                if TessPageIteratorIsAtBeginningOf(pi, TessPageIteratorLevel_RIL_TEXTLINE) == 1 {
                    if TessPageIteratorIsAtBeginningOf(pi, TessPageIteratorLevel_RIL_PARA) == 1
                        && !out.lines.is_empty()
                    {
                        paragraph += 1;
                    }
                    let bbox =
                        bounding_box(pi, TessPageIteratorLevel_RIL_TEXTLINE).unwrap_or(BBox {
                            x0: 0,
                            y0: 0,
                            x1: 0,
                            y1: 0,
                        });
                    let (mut x1, mut y1, mut x2, mut y2) = (0, 0, 0, 0);
                    let baseline = if TessPageIteratorBaseline(
                        pi,
                        TessPageIteratorLevel_RIL_TEXTLINE,
                        &mut x1,
                        &mut y1,
                        &mut x2,
                        &mut y2,
                    ) == 1
                    {
                        [x1 as f32, y1 as f32, x2 as f32, y2 as f32]
                    } else {
                        [
                            bbox.x0 as f32,
                            bbox.y1 as f32,
                            bbox.x1 as f32,
                            bbox.y1 as f32,
                        ]
                    };
                    out.lines.push(Line {
                        bbox,
                        block: paragraph,
                        baseline,
                    });
                }
                let text = TessResultIteratorGetUTF8Text(ri, TessPageIteratorLevel_RIL_WORD);
                if !text.is_null() {
                    let s = nfc(CStr::from_ptr(text).to_string_lossy().trim());
                    TessDeleteText(text);
                    if let (false, Some(bbox)) = (
                        s.is_empty(),
                        bounding_box(pi, TessPageIteratorLevel_RIL_WORD),
                    ) {
                        let confidence =
                            TessResultIteratorConfidence(ri, TessPageIteratorLevel_RIL_WORD)
                                .clamp(0.0, 100.0);
                        let line = out.lines.len().saturating_sub(1) as u32;
                        out.words.push(Word {
                            text: s,
                            bbox,
                            confidence,
                            line,
                        });
                    }
                }
                if TessResultIteratorNext(ri, TessPageIteratorLevel_RIL_WORD) == 0 {
                    break;
                }
            }
            TessResultIteratorDelete(ri);
            Some(out)
        }
    }

    /// Frees the image and results held since the last page.
    pub fn clear(&mut self) {
        // SAFETY: valid handle.
        unsafe { TessBaseAPIClear(self.0) }
    }
}

unsafe fn bounding_box(pi: *mut TessPageIterator, level: TessPageIteratorLevel) -> Option<BBox> {
    let (mut l, mut t, mut r, mut b) = (0, 0, 0, 0);
    // SAFETY: caller passes a live iterator; out-pointers to locals.
    let ok = unsafe { TessPageIteratorBoundingBox(pi, level, &mut l, &mut t, &mut r, &mut b) };
    let c = |v: c_int| v.max(0) as u32;
    (ok == 1).then(|| BBox {
        x0: c(l),
        y0: c(t),
        x1: c(r),
        y1: c(b),
    })
}
