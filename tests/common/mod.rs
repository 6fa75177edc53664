//! Helpers for tests that run the real `motcua` binary.
#![allow(dead_code)]

pub mod backends;
pub mod proxy;
pub mod s3;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output};

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A file of the dev corpus (`../shared/corpus/dev`).
pub fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus/dev")
        .join(name)
}

/// The dev corpus's page files by name, sorted, each content once: identical files (blank
/// backs) would rightly be one attachment of a dossier.
pub fn distinct_corpus_files() -> Vec<String> {
    use sha2::{Digest, Sha256};
    let mut names: Vec<String> = std::fs::read_dir(corpus(""))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".jsonl"))
        .collect();
    names.sort();
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(Sha256::digest(std::fs::read(corpus(n)).unwrap())));
    names
}

pub fn motcua(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_motcua"))
        .args(args)
        .env("RUST_LOG", "info")
        .output()
        .expect("run motcua")
}

/// Runs `cmd` (`what` names it in the failure), asserts it succeeded, returns its trimmed stdout.
pub fn stdout_of(cmd: &mut Command, what: &str) -> String {
    let o = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(o.status.success(), "{what}: {}", stderr(&o));
    String::from_utf8(o.stdout).unwrap().trim().to_string()
}

/// Sends SIGTERM (a graceful stop) and waits for the exit.
pub fn sigterm(child: &mut Child) -> ExitStatus {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap()
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Deterministic bytes that do not repeat within an S3 part (xorshift, `seed` picks the run).
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Text of a PDF as poppler's pdftotext reads it; `raw` keeps content-stream (reading) order.
pub fn pdftotext(pdf: &Path, raw: bool) -> String {
    let mut cmd = Command::new("pdftotext");
    if raw {
        cmd.arg("-raw");
    }
    let out = cmd
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) must be installed");
    assert!(
        out.status.success(),
        "pdftotext failed on {}",
        pdf.display()
    );
    String::from_utf8(out.stdout).expect("pdftotext writes UTF-8")
}

pub fn pdf_pages(pdf: &Path) -> usize {
    let out = Command::new("pdfinfo")
        .arg(pdf)
        .output()
        .expect("pdfinfo (poppler-utils)");
    let info = String::from_utf8_lossy(&out.stdout);
    info.lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no page count in pdfinfo output: {info}"))
}

/// Whitespace folded to single spaces, as OCR scoring does.
pub fn fold(s: &str) -> Vec<char> {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .collect()
}

/// Character error rate of `hyp` against `reference` after folding whitespace.
pub fn cer(reference: &str, hyp: &str) -> f64 {
    let (a, b) = (fold(reference), fold(hyp));
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()] as f64 / a.len().max(1) as f64
}

#[test]
fn cer_counts_edits() {
    assert_eq!(cer("abc", "abc"), 0.0);
    assert_eq!(cer("a  b\nc", "a b c"), 0.0);
    assert!((cer("abcd", "abxd") - 0.25).abs() < 1e-12);
    assert_eq!(cer("Việt", "Viet"), 0.25);
}
