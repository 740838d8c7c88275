//! A TCP proxy between phones and the server that cuts connections on demand (faults, photos).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

/// A TCP proxy that forwards to `upstream` and, while a cut is set, closes each connection once
/// N bytes have passed in the chosen direction.
pub struct Proxy {
    pub addr: String,
    /// (direction: 0 = phone to server, 1 = server to phone, bytes); `usize::MAX` = no cut.
    pub cut: Arc<Mutex<(usize, usize)>>,
    pub cuts_made: Arc<AtomicUsize>,
}

impl Proxy {
    pub fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let cut = Arc::new(Mutex::new((0, usize::MAX)));
        let cuts_made = Arc::new(AtomicUsize::new(0));
        let (c, made) = (cut.clone(), cuts_made.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(client) = conn else { continue };
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let (dir, n) = *c.lock().unwrap();
                for (d, mut from, mut to) in [
                    (0, client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (1, server.try_clone().unwrap(), client.try_clone().unwrap()),
                ] {
                    let budget = if d == dir { n } else { usize::MAX };
                    let made = made.clone();
                    thread::spawn(move || {
                        let mut passed = 0usize;
                        let mut buf = [0u8; 4096];
                        loop {
                            let k = match from.read(&mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(k) => k,
                            };
                            let allowed = budget.saturating_sub(passed).min(k);
                            if allowed > 0 && to.write_all(&buf[..allowed]).is_err() {
                                break;
                            }
                            passed += allowed;
                            if allowed < k {
                                made.fetch_add(1, Ordering::SeqCst);
                                break;
                            }
                        }
                        let _ = from.shutdown(Shutdown::Both);
                        let _ = to.shutdown(Shutdown::Both);
                    });
                }
            }
        });
        Proxy {
            addr,
            cut,
            cuts_made,
        }
    }

    pub fn set_cut(&self, direction: usize, bytes: usize) {
        *self.cut.lock().unwrap() = (direction, bytes);
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}
