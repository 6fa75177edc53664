//! Ink against the local paper level, and its connected components: shared by leader removal
//! and text-size measurement.

use image::GrayImage;

use super::paper_level;

/// Ink is darker than this fraction of the local paper level.
pub(super) const INK_FRACTION: u32 = 60;

/// Paper level (90th percentile of brightness) per square tile.
pub(super) struct PaperMap {
    pub(super) tile: usize,
    pub(super) cols: usize,
    /// Row-major, `cols` per row of tiles.
    pub(super) level: Vec<u8>,
}

impl PaperMap {
    pub(super) fn new(gray: &GrayImage, tile: usize) -> Self {
        let w = gray.width() as usize;
        let cols = w.div_ceil(tile);
        let mut level = Vec::new();
        let mut hist = vec![[0u32; 256]; cols];
        for band in gray.as_raw().chunks(w * tile) {
            hist.fill([0; 256]);
            // Every other pixel of every other row is plenty for a percentile.
            for row in band.chunks_exact(w).step_by(2) {
                for (h, px) in hist.iter_mut().zip(row.chunks(tile)) {
                    for &v in px.iter().step_by(2) {
                        h[v as usize] += 1;
                    }
                }
            }
            level.extend(hist.iter().map(|h| paper_level(h).unwrap_or(255)));
        }
        Self { tile, cols, level }
    }

    /// The same paper level everywhere: for masks, whose paper is known.
    pub(super) fn uniform(gray: &GrayImage, level: u8, tile: usize) -> Self {
        let cols = (gray.width() as usize).div_ceil(tile);
        let rows = (gray.height() as usize).div_ceil(tile);
        Self {
            tile,
            cols,
            level: vec![level; cols * rows],
        }
    }

    pub(super) fn at(&self, x: usize, y: usize) -> u8 {
        self.level[(y / self.tile) * self.cols + x / self.tile]
    }
}

/// Bounding box `[x0, x1) × [y0, y1)` and pixel count of one 8-connected ink component.
pub(super) struct Component {
    pub(super) x0: u32,
    pub(super) y0: u32,
    pub(super) x1: u32,
    pub(super) y1: u32,
    pub(super) area: u32,
}

/// Connected ink components, found on horizontal runs of ink joined with union-find.
pub(super) fn components(gray: &GrayImage, paper: &PaperMap) -> Vec<Component> {
    components_darker(gray, paper, INK_FRACTION)
}

/// Connected components of pixels darker than `percent` of the local paper level.
pub(super) fn components_darker(
    gray: &GrayImage,
    paper: &PaperMap,
    percent: u32,
) -> Vec<Component> {
    let w = gray.width() as usize;
    // Ink threshold per tile column of the current tile row.
    let mut thresh = vec![0u8; paper.cols];
    let mut runs: Vec<(u32, u32, u32)> = Vec::new(); // (y, x0, x1)
    let mut parent: Vec<u32> = Vec::new();
    let mut prev_row = 0..0;
    for (y, row) in gray.as_raw().chunks_exact(w).enumerate() {
        if y % paper.tile == 0 {
            let base = (y / paper.tile) * paper.cols;
            for (t, &p) in thresh.iter_mut().zip(&paper.level[base..base + paper.cols]) {
                *t = (u32::from(p) * percent / 100) as u8;
            }
        }
        let row_start = runs.len();
        // Runs may cross tile borders; `open` is where the run being scanned started.
        let mut open: Option<usize> = None;
        for (c, chunk) in row.chunks(paper.tile).enumerate() {
            let (t, base) = (thresh[c], c * paper.tile);
            // Most tiles of a row are all paper; the minimum vectorizes.
            if open.is_none() && chunk.iter().copied().min().unwrap_or(255) >= t {
                continue;
            }
            for (i, &v) in chunk.iter().enumerate() {
                match (v < t, open) {
                    (true, None) => open = Some(base + i),
                    (false, Some(x0)) => {
                        runs.push((y as u32, x0 as u32, (base + i) as u32));
                        open = None;
                    }
                    _ => {}
                }
            }
        }
        if let Some(x0) = open {
            runs.push((y as u32, x0 as u32, w as u32));
        }
        // Join with the runs above that touch (8-connected).
        let mut p = prev_row.start;
        for r in row_start..runs.len() {
            parent.push(r as u32);
            let (_, x0, x1) = runs[r];
            while p < prev_row.end && runs[p].2 < x0 {
                p += 1;
            }
            let mut q = p;
            while q < prev_row.end && runs[q].1 <= x1 {
                union(&mut parent, q as u32, r as u32);
                q += 1;
            }
        }
        prev_row = row_start..runs.len();
    }
    // Roots have the smallest index of their set, so a root is labelled before its members.
    let mut label = vec![0u32; runs.len()];
    let mut comps: Vec<Component> = Vec::new();
    for (i, &(y, x0, x1)) in runs.iter().enumerate() {
        let root = find(&mut parent, i as u32) as usize;
        if root == i {
            label[i] = comps.len() as u32;
            comps.push(Component {
                x0,
                y0: y,
                x1,
                y1: y + 1,
                area: 0,
            });
        }
        let c = &mut comps[label[root] as usize];
        label[i] = label[root];
        c.x0 = c.x0.min(x0);
        c.x1 = c.x1.max(x1);
        c.y1 = y + 1;
        c.area += x1 - x0;
    }
    comps
}

fn find(parent: &mut [u32], mut i: u32) -> u32 {
    while parent[i as usize] != i {
        let p = parent[parent[i as usize] as usize];
        parent[i as usize] = p;
        i = p;
    }
    i
}

fn union(parent: &mut [u32], a: u32, b: u32) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    if ra < rb {
        parent[rb as usize] = ra;
    } else if rb < ra {
        parent[ra as usize] = rb;
    }
}
