//! A small HTTP/1.1 server on 127.0.0.1 for the tests: each connection gets one answer from
//! a closure of the request line and headers ([`HttpServer::start`]), or whatever a raw
//! handler writes, as slowly as it likes ([`HttpServer::start_raw`]). Stops on drop.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the closure sees: the request line and the headers (names lowercased).
pub struct Seen {
    pub request_line: String,
    pub headers: Vec<(String, String)>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

pub struct HttpServer {
    pub addr: SocketAddr,
    requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// Answers each request with `respond`'s (status line, body).
    pub fn start(respond: impl Fn(&Seen) -> (&'static str, String) + Send + 'static) -> Self {
        Self::start_raw(move |seen, stream, _| {
            let (status, body) = respond(seen);
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        })
    }

    /// Hands each connection, after its request head, to `handle`, which writes what it
    /// likes; it must return soon once `stopping` is set (the server is being dropped).
    pub fn start_raw(handle: impl Fn(&Seen, &mut TcpStream, &AtomicBool) + Send + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let requests = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, stopped) = (Arc::clone(&requests), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                let Ok((stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(1));
                    continue;
                };
                let _ = stream.set_nonblocking(false);
                count.fetch_add(1, Ordering::SeqCst);
                let mut reader = BufReader::new(&stream);
                let mut request_line = String::new();
                let _ = reader.read_line(&mut request_line);
                let mut headers = Vec::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((n, v)) = line.split_once(':') {
                        headers.push((n.trim().to_ascii_lowercase(), v.trim().to_owned()));
                    }
                }
                // Read the body too (by its content-length): closing a socket with unread bytes
                // sends a reset, which can destroy the answer before the client reads it.
                let length = headers
                    .iter()
                    .find(|(n, _)| n == "content-length")
                    .and_then(|(_, v)| v.parse::<u64>().ok())
                    .unwrap_or(0);
                let _ = std::io::copy(&mut (&mut reader).take(length.min(64 << 20)), &mut std::io::sink());
                let seen = Seen {
                    request_line: request_line.trim_end().to_owned(),
                    headers,
                };
                let mut stream = stream;
                handle(&seen, &mut stream, &stopped);
            }
        });
        Self {
            addr,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
