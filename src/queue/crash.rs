//! Evidence that a job crashed its worker. A lost lease alone says only that the process went
//! away: killed by an operator, a deploy, the OOM killer, a power cut, or a file that crashes
//! the code reading it. Only the last is the file's fault. So the process notes the jobs it is
//! running, and a handler for the crash signals (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT)
//! appends their ids to a file of its own under `<data_dir>/crashes/` before the process dies.
//! The next process on the host to start reads the files of dead processes (their `flock` is
//! gone) and counts a crash against each job; only jobs with crashes are ever set aside.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, AtomicI64, Ordering};

/// Jobs one process runs at once, at most, that a crash can name.
const SLOTS: usize = 256;
const SIGNALS: [libc::c_int; 5] = [
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGILL,
    libc::SIGFPE,
    libc::SIGABRT,
];

static RUNNING: [AtomicI64; SLOTS] = [const { AtomicI64::new(0) }; SLOTS];
static FD: AtomicI32 = AtomicI32::new(-1);
/// The handlers installed before ours (Rust's stack-overflow report among them), restored
/// before the signal is delivered again.
static PREVIOUS: OnceLock<Vec<(libc::c_int, libc::sigaction)>> = OnceLock::new();
/// Our file, held open and locked for the life of the process.
static OWN: OnceLock<File> = OnceLock::new();

/// Marks a job as running in this process until dropped.
pub struct Running(Option<usize>);

pub fn running(job: i64) -> Running {
    let slot = RUNNING.iter().position(|s| {
        s.compare_exchange(0, job, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    });
    Running(slot)
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(i) = self.0 {
            RUNNING[i].store(0, Ordering::Release);
        }
    }
}

fn lock(f: &File, wait: bool) -> bool {
    let op = if wait {
        libc::LOCK_EX
    } else {
        libc::LOCK_EX | libc::LOCK_NB
    };
    // SAFETY: flock on a descriptor we own.
    unsafe { libc::flock(f.as_raw_fd(), op) == 0 }
}

/// Job ids named by processes that crashed (their files are removed once read). Files of live
/// processes, this one's included, are left alone.
pub fn collect(dir: &Path) -> io::Result<Vec<i64>> {
    let mut ids = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(ids),
        r => r?,
    };
    for e in entries {
        let path = e?.path();
        let Ok(mut f) = File::open(&path) else {
            continue;
        };
        if !lock(&f, false) {
            continue; // a live process
        }
        let mut text = String::new();
        if f.read_to_string(&mut text).is_ok() {
            ids.extend(
                text.split_whitespace()
                    .filter_map(|w| w.parse::<i64>().ok()),
            );
        }
        std::fs::remove_file(&path)?;
    }
    Ok(ids)
}

/// Installs the crash handlers, writing to a file of this process under `dir`.
pub fn install(dir: &Path) -> io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!(
        "{}-{}.jobs",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)?;
    if !lock(&f, true) {
        return Err(io::Error::last_os_error());
    }
    FD.store(f.as_raw_fd(), Ordering::Release);
    let _ = OWN.set(f);
    let mut previous = Vec::new();
    for sig in SIGNALS {
        // SAFETY: a plain sigaction with a handler that only does async-signal-safe work.
        unsafe {
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = on_crash as *const () as usize;
            act.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut act.sa_mask);
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, &act, &mut old) != 0 {
                return Err(io::Error::last_os_error());
            }
            previous.push((sig, old));
        }
    }
    let _ = PREVIOUS.set(previous);
    Ok(path)
}

/// Async-signal-safe: writes the running ids with `write(2)`, puts back the previous handler
/// and returns, so the signal strikes again (a fault re-executes, `abort` raises anew) and the
/// process dies as it would have.
extern "C" fn on_crash(sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    let fd = FD.load(Ordering::Acquire);
    if fd >= 0 {
        let mut buf = [0u8; 24];
        for slot in &RUNNING {
            let id = slot.load(Ordering::Acquire);
            if id > 0 {
                let n = format_id(id, &mut buf);
                // SAFETY: write(2) and fsync(2) are async-signal-safe.
                unsafe {
                    libc::write(fd, buf.as_ptr().cast(), n);
                }
            }
        }
        // SAFETY: as above.
        unsafe {
            libc::fsync(fd);
        }
    }
    // SAFETY: the kernel hands a valid siginfo to an SA_SIGINFO handler.
    let sent = info.is_null() || unsafe { (*info).si_code } <= 0;
    if sent || sig == libc::SIGABRT {
        // Sent (`kill`, `raise`, `abort`), not a fault: nothing re-executes, so die of it now.
        // SAFETY: default action, then the signal again.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
            libc::raise(sig);
        }
        return;
    }
    // A fault: the previous handler (Rust's stack-overflow report) sees it when the faulting
    // instruction runs again.
    if let Some(prev) = PREVIOUS.get() {
        for (s, old) in prev {
            if *s == sig {
                // SAFETY: restoring the action that was there before ours.
                unsafe {
                    libc::sigaction(sig, old, std::ptr::null_mut());
                }
            }
        }
    }
}

/// `id` in decimal and a newline, into `buf`; returns the length. No allocation.
fn format_id(mut id: i64, buf: &mut [u8; 24]) -> usize {
    let mut digits = [0u8; 20];
    let mut n = 0;
    loop {
        digits[n] = b'0' + (id % 10) as u8;
        n += 1;
        id /= 10;
        if id == 0 {
            break;
        }
    }
    for i in 0..n {
        buf[i] = digits[n - 1 - i];
    }
    buf[n] = b'\n';
    n + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHILD: &str = "MOTCUA_CRASH_TEST_DIR";

    /// Run in a child process by the test below: marks jobs running, then crashes.
    #[test]
    fn crash_child() {
        let Ok(dir) = std::env::var(CHILD) else {
            return;
        };
        install(Path::new(&dir)).unwrap();
        let _a = running(41);
        let b = running(4_000_000_000_123);
        drop(b);
        let _c = running(7);
        // SAFETY: the crash under test.
        unsafe {
            libc::raise(libc::SIGSEGV);
        }
        unreachable!("the process should have died");
    }

    #[test]
    fn a_crash_names_the_jobs_it_was_running_and_a_kill_names_none() {
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "queue::crash::tests::crash_child", "--nocapture"])
            .env(CHILD, dir.path())
            .status()
            .unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGSEGV), "{status:?}");
        let mut ids = collect(dir.path()).unwrap();
        ids.sort();
        assert_eq!(ids, vec![7, 41]);
        assert!(collect(dir.path()).unwrap().is_empty(), "read once");

        // A live process's file is not read; a killed one's is empty.
        let own = install(dir.path()).unwrap();
        let _r = running(99);
        assert!(collect(dir.path()).unwrap().is_empty());
        assert!(own.exists());
    }

    #[test]
    fn ids_are_written_in_decimal() {
        let mut buf = [0u8; 24];
        let n = format_id(9_223_372_036_854_775_807, &mut buf);
        assert_eq!(&buf[..n], b"9223372036854775807\n");
        let n = format_id(5, &mut buf);
        assert_eq!(&buf[..n], b"5\n");
    }
}
