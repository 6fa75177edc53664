//! A mutation fuzzer over the decoders on stable Rust (cargo-fuzz needs nightly): bit flips, byte
//! overwrites, truncations, duplicated and deleted ranges, and splices of two seed files, each
//! opened and decoded page by page as an upload would be, a fixed number of cases from a seed.
//! A panic or a case slower than `--slow-secs` is a finding: printed, saved under `--out`, and
//! the exit status is 1.
//!
//!   cargo run --release --example fuzz_decode -- --cases 2000 --seed 1 \
//!       tests/fixtures ../shared/corpus/peer/files
//!
//! Seeds: the files of the folders given, up to `--max-seed-bytes` each (default 1.5 MB).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use motcua::config::Limits;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

struct Args {
    cases: usize,
    seed: u64,
    max_seed_bytes: u64,
    slow: Duration,
    out: PathBuf,
    dirs: Vec<PathBuf>,
}

fn args() -> Args {
    let mut a = Args {
        cases: 500,
        seed: 1,
        max_seed_bytes: 1_500_000,
        slow: Duration::from_secs(20),
        out: std::env::temp_dir().join("motcua-fuzz"),
        dirs: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(x) = it.next() {
        let mut val = || it.next().expect("a value after the flag");
        match x.as_str() {
            "--cases" => a.cases = val().parse().expect("--cases N"),
            "--seed" => a.seed = val().parse().expect("--seed N"),
            "--max-seed-bytes" => a.max_seed_bytes = val().parse().expect("bytes"),
            "--slow-secs" => a.slow = Duration::from_secs(val().parse().expect("seconds")),
            "--out" => a.out = PathBuf::from(val()),
            d => a.dirs.push(PathBuf::from(d)),
        }
    }
    a
}

fn seeds(a: &Args) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for d in &a.dirs {
        let Ok(entries) = std::fs::read_dir(d) else {
            eprintln!("skipped {}: not a folder", d.display());
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            let small = p
                .metadata()
                .is_ok_and(|m| m.is_file() && m.len() <= a.max_seed_bytes);
            if let (true, Ok(b)) = (small, std::fs::read(&p)) {
                out.push((p.file_name().unwrap().to_string_lossy().into_owned(), b));
            }
        }
    }
    out
}

/// One mutation of `data` (with `other` for splices); returns the bytes and what was done.
fn mutate(rng: &mut StdRng, data: &[u8], other: &[u8]) -> (Vec<u8>, String) {
    let mut d = data.to_vec();
    if d.is_empty() {
        return (d, "empty".into());
    }
    let at = |rng: &mut StdRng, len: usize| rng.random_range(0..len.max(1));
    // Mutations near the start hit headers and tables, where decoders trust sizes the most.
    let near_head = |rng: &mut StdRng, len: usize| rng.random_range(0..len.clamp(1, 4096));
    match rng.random_range(0..7) {
        0 => {
            let n = rng.random_range(1..=16);
            for _ in 0..n {
                let i = if rng.random_bool(0.5) {
                    near_head(rng, d.len())
                } else {
                    at(rng, d.len())
                };
                d[i] ^= 1 << rng.random_range(0..8);
            }
            (d, format!("{n} bit flips"))
        }
        1 => {
            let i = near_head(rng, d.len());
            let v = [0u8, 0xFF, 0x7F, 0x80, 0x01][rng.random_range(0..5)];
            let n = rng.random_range(1..=8).min(d.len() - i);
            d[i..i + n].fill(v);
            (d, format!("{n} bytes at {i} set to {v:#x}"))
        }
        2 => {
            let n = at(rng, d.len());
            d.truncate(n);
            (d, format!("truncated to {n}"))
        }
        3 => {
            let (i, n) = (at(rng, d.len()), rng.random_range(1..=4096));
            let end = (i + n).min(d.len());
            let chunk = d[i..end].to_vec();
            d.splice(i..i, chunk);
            (d, format!("{} bytes at {i} repeated", end - i))
        }
        4 => {
            let (i, n) = (at(rng, d.len()), rng.random_range(1..=4096));
            let end = (i + n).min(d.len());
            d.drain(i..end);
            (d, format!("{} bytes at {i} deleted", end - i))
        }
        5 => {
            let (i, j) = (at(rng, d.len()), at(rng, other.len()));
            d.truncate(i);
            d.extend_from_slice(&other[j.min(other.len())..]);
            (d, format!("head {i} spliced onto another file from {j}"))
        }
        _ => {
            // A size field made huge: 4 bytes near the head set to a large big- or little-endian
            // number.
            let i = near_head(rng, d.len().saturating_sub(4));
            let v: u32 = rng.random_range(0x0010_0000..u32::MAX);
            let bytes = if rng.random_bool(0.5) {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            };
            let end = (i + 4).min(d.len());
            d[i..end].copy_from_slice(&bytes[..end - i]);
            (d, format!("u32 {v} written at {i}"))
        }
    }
}

/// Opens and decodes every page, as the pipeline does; the outcome's code.
fn run(data: Vec<u8>, limits: &Limits) -> String {
    match motcua::decode::open(Arc::from(data), limits) {
        Err(e) => e.code().to_string(),
        Ok(doc) => {
            for page in doc {
                if let Err(e) = page {
                    return e.code().to_string();
                }
            }
            "read".to_string()
        }
    }
}

fn main() {
    let a = args();
    let seeds = seeds(&a);
    assert!(!seeds.is_empty(), "no seed files in {:?}", a.dirs);
    // The renderer's own budget ends a page before the watchdog would (its thread is then left
    // to finish by itself, as in the service).
    let limits = Limits {
        max_render_ms: a.slow.as_millis() as u64,
        ..Limits::default()
    };
    let mut rng = StdRng::seed_from_u64(a.seed);
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let mut findings = 0;
    let started = Instant::now();
    let mut slowest = (Duration::ZERO, String::new());
    std::panic::set_hook(Box::new(|_| {}));
    // A case that never ends (a decoder's endless loop) cannot be caught: a watchdog reports the
    // case being run and ends the process.
    let current: Arc<std::sync::Mutex<(Instant, String, Vec<u8>)>> = Arc::new(
        std::sync::Mutex::new((Instant::now(), String::new(), Vec::new())),
    );
    {
        let (current, limit, out) = (current.clone(), a.slow * 3, a.out.clone());
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_secs(1));
                let c = current.lock().unwrap_or_else(|e| e.into_inner());
                if c.0.elapsed() > limit {
                    let _ = std::fs::create_dir_all(&out);
                    let file = out.join("hang.bin");
                    let _ = std::fs::write(&file, &c.2);
                    println!(
                        "FINDING {}: no end after {limit:?} → {}",
                        c.1,
                        file.display()
                    );
                    std::process::exit(2);
                }
            }
        });
    }
    for case in 0..a.cases {
        let (name, data) = &seeds[rng.random_range(0..seeds.len())];
        let other = &seeds[rng.random_range(0..seeds.len())].1;
        let (bytes, how) = mutate(&mut rng, data, other);
        let t = Instant::now();
        let kept = bytes.clone();
        *current.lock().unwrap_or_else(|e| e.into_inner()) =
            (t, format!("case {case}: {name}, {how}"), kept.clone());
        let outcome = std::panic::catch_unwind(|| run(bytes, &limits));
        let took = t.elapsed();
        let what = format!("case {case}: {name}, {how}");
        if took > slowest.0 {
            slowest = (took, what.clone());
        }
        let code = match outcome {
            Ok(code) if took <= a.slow => code,
            Ok(code) => format!("slow ({code})"),
            Err(p) => {
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                format!("PANIC {msg}")
            }
        };
        if code.starts_with("PANIC") || code.starts_with("slow") {
            findings += 1;
            let _ = std::fs::create_dir_all(&a.out);
            let file = a.out.join(format!("case-{}-{case}.bin", a.seed));
            let _ = std::fs::write(&file, &kept);
            println!("FINDING {what}: {code} in {took:.1?} → {}", file.display());
        }
        *outcomes
            .entry(code.split(' ').next().unwrap_or("").to_string())
            .or_default() += 1;
    }
    println!(
        "{} cases from {} seeds (seed {}) in {:.1?}: {findings} findings; slowest {:.2?} ({})",
        a.cases,
        seeds.len(),
        a.seed,
        started.elapsed(),
        slowest.0,
        slowest.1
    );
    for (code, n) in &outcomes {
        println!("  {code:<24} {n}");
    }
    std::process::exit(i32::from(findings > 0));
}
