//! A weak mobile link between a phone and the server, for benchmarks: a TCP proxy on 127.0.0.1
//! that delays every chunk by a one-way delay and lets it through no faster than a bandwidth, in
//! each direction, order kept. The same model as the peers benchmark's proxy
//! (`bench/peers/proxy.mjs`): 150 ms each way and 1 Mbit/s each way is its "mobile" link.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running link; it lives as long as the process (benchmarks end with it).
pub struct Link {
    pub url: String,
}

/// Starts a link to `target` (`host:port`) with `delay` each way and `bits_per_sec` each way.
pub fn start(target: &str, delay: Duration, bits_per_sec: u64) -> Link {
    let target: SocketAddr = target.parse().expect("target address");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(target) else {
                continue;
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            pipe(client, server, delay, bits_per_sec);
            pipe(s2, c2, delay, bits_per_sec);
        }
    });
    Link { url }
}

/// One direction: a reader stamps each chunk with when it leaves the far end (after the chunks
/// before it have been sent at the bandwidth, plus the delay); a writer sends it then.
fn pipe(mut from: TcpStream, mut to: TcpStream, delay: Duration, bits_per_sec: u64) {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 16 << 10];
        let mut wire_free = Instant::now();
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let now = Instant::now();
            let send = Duration::from_secs_f64(n as f64 * 8.0 / bits_per_sec as f64);
            wire_free = wire_free.max(now) + send;
            if tx.send((wire_free + delay, buf[..n].to_vec())).is_err() {
                break;
            }
        }
    });
    std::thread::spawn(move || {
        for (at, bytes) in rx {
            let now = Instant::now();
            if at > now {
                std::thread::sleep(at - now);
            }
            if to.write_all(&bytes).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}
