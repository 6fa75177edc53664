//! A TCP proxy that plays a bad rural link between a client and the server: it drops the
//! connection that carries the client's N-th byte (counted over all connections, so the drop
//! lands wherever the bytes are, mostly inside upload bodies; the server sees the body end
//! early, as when a link dies), optionally throttles, and counts what it forwarded.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct FaultProxy {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    shared: Arc<Shared>,
}

struct Shared {
    target: String,
    /// Client bytes forwarded in all (`.0`), and the totals at which to drop (`.1`, ascending).
    link: Mutex<(u64, VecDeque<u64>)>,
    /// Client-to-server bytes per second; 0: unlimited.
    rate: AtomicU64,
    dropped: AtomicUsize,
}

impl FaultProxy {
    /// Proxies to `target` (`http://host:port`), dropping the connection that carries the
    /// client's byte number `cuts[i]` (counted from the start, over all connections).
    pub fn start(target: &str, cuts: &[u64]) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared {
            target: target.trim_start_matches("http://").to_string(),
            link: Mutex::new((0, cuts.iter().copied().collect())),
            rate: AtomicU64::new(0),
            dropped: AtomicUsize::new(0),
        });
        let s = shared.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(client) = conn else { continue };
                let s = s.clone();
                std::thread::spawn(move || s.serve(client));
            }
        });
        FaultProxy { url, shared }
    }

    /// Also drops at these client byte totals.
    pub fn cut_at(&self, cuts: &[u64]) {
        self.shared.link.lock().unwrap().1.extend(cuts);
    }

    pub fn throttle(&self, bytes_per_sec: u64) {
        self.shared.rate.store(bytes_per_sec, Ordering::SeqCst);
    }

    /// Client bytes forwarded to the server so far (request heads and bodies).
    pub fn upstream_bytes(&self) -> u64 {
        self.shared.link.lock().unwrap().0
    }

    pub fn dropped(&self) -> usize {
        self.shared.dropped.load(Ordering::SeqCst)
    }
}

impl Shared {
    fn serve(&self, client: TcpStream) {
        let Ok(server) = TcpStream::connect(&self.target) else {
            return; // the server is down: the client sees its connection closed
        };
        let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
        // Server to client: as is, until either side closes.
        let back = std::thread::spawn(move || {
            let (mut from, mut to) = (s2, c2);
            let _ = std::io::copy(&mut from, &mut to);
            let _ = to.shutdown(Shutdown::Both);
        });
        let (mut from, mut to) = (client, server);
        let mut sent = 0u64;
        let mut buf = vec![0u8; 16 * 1024];
        let start = Instant::now();
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            // Up to the next drop, if it falls in this read.
            let (n, cut) = {
                let mut link = self.link.lock().unwrap();
                let total = link.0;
                match link.1.front().copied() {
                    Some(at) if at <= total + n as u64 => {
                        link.1.pop_front();
                        link.0 = at.max(total);
                        ((at.max(total) - total) as usize, true)
                    }
                    _ => {
                        link.0 += n as u64;
                        (n, false)
                    }
                }
            };
            if to.write_all(&buf[..n]).is_err() {
                break;
            }
            sent += n as u64;
            if cut {
                // The link dies: what was forwarded arrives, then the connection ends.
                self.dropped.fetch_add(1, Ordering::SeqCst);
                break;
            }
            let rate = self.rate.load(Ordering::SeqCst);
            if rate > 0 {
                let due = Duration::from_secs_f64(sent as f64 / rate as f64);
                if let Some(wait) = due.checked_sub(start.elapsed()) {
                    std::thread::sleep(wait);
                }
            }
        }
        let _ = to.shutdown(Shutdown::Write);
        let _ = from.shutdown(Shutdown::Both);
        // The server answers what it received (or sees the body end); the client is gone.
        std::thread::sleep(Duration::from_millis(50));
        let _ = to.shutdown(Shutdown::Both);
        let _ = back.join();
    }
}
