//! The hot folder: which files are ready (their size and modification time unchanged for
//! `stable_secs`), which dossier folder each is in, and where it goes once the server has
//! answered (`sent/`, or `failed/` with a `.reason`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// Folders of the hot folder that are not dossiers.
pub const SENT_DIR: &str = "sent";
pub const FAILED_DIR: &str = "failed";

/// A file of the hot folder: its path relative to it (with `/`), and its dossier folder.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub rel: String,
    pub folder: Option<String>,
    pub bytes: u64,
    pub mtime_ms: i64,
}

/// Files seen and how long they have looked the same.
#[derive(Default)]
pub struct Stability {
    seen: HashMap<String, (u64, i64, Instant)>,
}

impl Stability {
    /// The files of `root` that have not changed for `stable`; others are remembered.
    pub fn ready(&mut self, root: &Path, stable: Duration) -> std::io::Result<Vec<Found>> {
        let now = Instant::now();
        let found = scan(root)?;
        let mut ready = Vec::new();
        let mut seen = HashMap::with_capacity(found.len());
        for f in found {
            let since = match self.seen.get(&f.rel) {
                Some(&(b, m, since)) if b == f.bytes && m == f.mtime_ms => since,
                _ => now,
            };
            if now.duration_since(since) >= stable && f.bytes > 0 {
                ready.push(f.clone());
            }
            seen.insert(f.rel.clone(), (f.bytes, f.mtime_ms, since));
        }
        self.seen = seen;
        Ok(ready)
    }

    /// Files seen but not yet ready.
    pub fn waiting(&self) -> usize {
        self.seen.len()
    }
}

/// Names the scanner software or an editor writes while busy, and our own files.
fn ignored(name: &str) -> bool {
    name.starts_with('.')
        || name.starts_with("~$")
        || [".tmp", ".part", ".crdownload", ".reason", ".swp"]
            .iter()
            .any(|e| name.to_ascii_lowercase().ends_with(e))
}

/// Files at the top level and in subfolders (any depth; the first level names the dossier).
pub fn scan(root: &Path) -> std::io::Result<Vec<Found>> {
    let mut out = Vec::new();
    walk(root, root, &mut out)?;
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<Found>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if ignored(&name) {
            continue;
        }
        let ty = e.file_type()?;
        let top = dir == root;
        if ty.is_dir() {
            if !(top && (name == SENT_DIR || name == FAILED_DIR)) {
                walk(root, &e.path(), out)?;
            }
            continue;
        }
        if !ty.is_file() {
            continue;
        }
        let meta = e.metadata()?;
        let rel = e
            .path()
            .strip_prefix(root)
            .expect("under root")
            .to_path_buf();
        let rel = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let folder = rel.split_once('/').map(|(f, _)| f.to_string());
        out.push(Found {
            rel,
            folder,
            bytes: meta.len(),
            mtime_ms: mtime_ms(meta.modified()?),
        });
    }
    Ok(())
}

pub fn mtime_ms(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Moves `rel` into `<root>/<to>/rel` (never over another file: `name.1`, `name.2`, …);
/// returns where it went.
pub fn move_to(root: &Path, rel: &str, to: &str) -> std::io::Result<PathBuf> {
    let dest = root.join(to).join(rel);
    std::fs::create_dir_all(dest.parent().expect("a file has a folder"))?;
    let mut target = dest.clone();
    let mut n = 1;
    while target.exists() {
        target = PathBuf::from(format!("{}.{n}", dest.display()));
        n += 1;
    }
    std::fs::rename(root.join(rel), &target)?;
    Ok(target)
}

/// SHA-256 of a file, streamed on a blocking thread.
pub async fn sha256_file(path: PathBuf) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    tokio::task::spawn_blocking(move || {
        let mut f = std::fs::File::open(path)?;
        let mut h = Sha256::new();
        std::io::copy(&mut f, &mut h)?;
        Ok(hex::encode(h.finalize()))
    })
    .await
    .map_err(std::io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_ready_once_unchanged_and_busy_names_wait() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::create_dir_all(root.join("HS-1/scan")).unwrap();
        std::fs::create_dir_all(root.join("sent")).unwrap();
        std::fs::write(root.join("top.pdf"), b"%PDF").unwrap();
        std::fs::write(root.join("HS-1/a.jpg"), b"jpg").unwrap();
        std::fs::write(root.join("HS-1/scan/b.tif"), b"tif").unwrap();
        std::fs::write(root.join("sent/old.pdf"), b"old").unwrap();
        std::fs::write(root.join("busy.pdf.part"), b"x").unwrap();
        std::fs::write(root.join(".hidden"), b"x").unwrap();
        std::fs::write(root.join("empty.pdf"), b"").unwrap();
        let mut s = Stability::default();
        let stable = Duration::from_millis(200);
        assert!(
            s.ready(root, stable).unwrap().is_empty(),
            "nothing is ready at first sight"
        );
        std::thread::sleep(Duration::from_millis(250));
        std::fs::write(root.join("HS-1/a.jpg"), b"jpg, still being written").unwrap();
        let ready = s.ready(root, stable).unwrap();
        let names: Vec<_> = ready
            .iter()
            .map(|f| (f.rel.as_str(), f.folder.as_deref()))
            .collect();
        assert_eq!(
            names,
            [("HS-1/scan/b.tif", Some("HS-1")), ("top.pdf", None)]
        );
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(s.ready(root, stable).unwrap().len(), 3, "a.jpg settled");

        let to = move_to(root, "top.pdf", SENT_DIR).unwrap();
        assert_eq!(to, root.join("sent/top.pdf"));
        std::fs::write(root.join("top.pdf"), b"%PDF again").unwrap();
        let again = move_to(root, "top.pdf", SENT_DIR).unwrap();
        assert_eq!(
            again,
            root.join("sent/top.pdf.1"),
            "never over an earlier file"
        );
        assert_eq!(std::fs::read(root.join("sent/top.pdf")).unwrap(), b"%PDF");
    }
}
