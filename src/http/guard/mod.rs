//! The HTTP server: the process's own front door. It owns the listening socket, reads each
//! connection's requests itself and runs the handler on them, checking what a careless or
//! hostile client may send:
//!
//! - request heads are bounded in size (431) and must arrive within a deadline (a client
//!   trickling its head in is cut off with a 408); idle keep-alive connections time out;
//! - a body must be framed one way only: two `Content-Length`s, or `Content-Length` with
//!   `Transfer-Encoding`, or a transfer coding other than `chunked`, is a 400 and the
//!   connection is closed (no request smuggling, no misread next request);
//! - a declared body over the limit is never read: the handler still judges route, method,
//!   key, role and content type first, and answers 413 where it would read the body;
//! - every body is received whole (spooled to a temp file past 1 MiB) before the handler
//!   runs, so a slow or stalled client holds only its own connection thread, never one of
//!   the handler slots; a body that stops arriving, or trickles in, is answered 408;
//! - at most `Limits::handlers` requests are being handled at once, and the accept loop
//!   waits and retries on a shortage of file descriptors, and caps the connections it
//!   serves at once.
//!
//! Each connection has its own thread, which runs the handler itself: a request costs no
//! hand-off between threads (on a small machine, waking another thread costs more than
//! answering most reads).

mod request;
mod response;
mod spool;

use request::{read_head, receive_body};
use rouille::{Request, Response};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// What answers a request: the request (its body already received) and a reader of its
/// body.
pub type Handler = dyn Fn(&Request, &mut dyn Read) -> Response + Send + Sync;

/// Tells the handler that the request declared a body larger than any operation accepts,
/// which was not read: it answers 413 where it would read a body, after the checks that
/// come first (route, method, key, role, content type). Any copy of it sent by a client is
/// dropped.
pub const TOO_LARGE_HEADER: &str = "X-Dhanita-Body-Too-Large";

#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request head (request line and headers).
    pub max_head_bytes: usize,
    /// Largest body any operation accepts.
    pub max_body_bytes: u64,
    /// Bodies (and answers) up to this size are held in memory; larger ones in a temp file.
    pub buffer_body_bytes: u64,
    /// A request head must be complete within this long of its first byte.
    pub head_deadline: Duration,
    /// A keep-alive connection with no request for this long is closed.
    pub idle_timeout: Duration,
    /// A body that sends nothing for this long is answered 408 and abandoned.
    pub body_timeout: Duration,
    /// After a grace of `body_timeout`, a body must average at least this many bytes a
    /// second, or it is answered 408 and abandoned.
    pub min_body_rate: u64,
    /// Client connections served at once; more are answered 503 and closed.
    pub max_connections: usize,
    /// Requests handled at once; the others wait (their bodies already received).
    pub handlers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head_bytes: 16 * 1024,
            max_body_bytes: 11 << 20,
            buffer_body_bytes: 1 << 20,
            head_deadline: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(15),
            min_body_rate: 4 * 1024,
            max_connections: 1024,
            handlers: 16,
        }
    }
}

/// Why a connection ends early, and what (if anything) the client is told.
pub(super) enum Stop {
    /// The client closed, or went quiet: close without an answer.
    Quiet,
    /// Refuse with this status and message, then close.
    Refuse(u16, &'static str),
    /// Answered; drop what the client may still be sending (bounded), then close.
    Drain,
}

/// What every connection thread shares.
struct Shared {
    handler: Arc<Handler>,
    slots: Arc<crate::slots::Slots>,
    limits: Limits,
}

/// Starts the accept loop on `listener`; stops when `stop` is set (and the listener is
/// poked with a connection to wake it). Connection threads notice `stop` between requests.
pub fn spawn(
    listener: TcpListener,
    handler: Arc<Handler>,
    limits: Limits,
    stop: Arc<AtomicBool>,
) -> io::Result<JoinHandle<()>> {
    let shared = Arc::new(Shared {
        handler,
        slots: crate::slots::Slots::new(limits.handlers),
        limits,
    });
    let active = Arc::new(AtomicUsize::new(0));
    thread::Builder::new()
        .name("dhanita-guard".into())
        .spawn(move || {
            let mut last_warning: Option<Instant> = None;
            while !stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, peer)) => {
                        if stop.load(Ordering::SeqCst) {
                            break;
                        }
                        if active.load(Ordering::SeqCst) >= shared.limits.max_connections {
                            let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
                            let mut s = &stream;
                            let _ = s.write_all(&refusal(
                                "guard-busy",
                                503,
                                "Too many connections; try again.",
                            ));
                            continue;
                        }
                        active.fetch_add(1, Ordering::SeqCst);
                        let (shared, stop, active) = (shared.clone(), stop.clone(), active.clone());
                        let spawned = thread::Builder::new()
                            .name("dhanita-conn".into())
                            .stack_size(512 * 1024)
                            .spawn(move || {
                                serve_connection(stream, peer, &shared, &stop);
                                active.fetch_sub(1, Ordering::SeqCst);
                            });
                        if let Err(e) = spawned {
                            log::warn!("cannot start a connection thread: {e}");
                        }
                    }
                    Err(e) => {
                        // EMFILE/ENFILE and friends: keep serving the connections we have and
                        // try again shortly, rather than dying.
                        if last_warning.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                            log::warn!("accept failed: {e}");
                            last_warning = Some(Instant::now());
                        }
                        thread::sleep(Duration::from_millis(20));
                    }
                }
            }
            // Connections finish the request they are on and close; wait for them (bounded).
            let until = Instant::now() + Duration::from_secs(10);
            while active.load(Ordering::SeqCst) > 0 && Instant::now() < until {
                thread::sleep(Duration::from_millis(20));
            }
        })
}

fn serve_connection(client: TcpStream, peer: SocketAddr, shared: &Shared, stop: &AtomicBool) {
    let limits = &shared.limits;
    let _ = client.set_nodelay(true);
    let _ = client.set_write_timeout(Some(Duration::from_secs(30)));
    let mut reader = io::BufReader::with_capacity(16 * 1024, client);
    let outcome = loop {
        let mut head = match read_head(&mut reader, limits, stop) {
            Ok(Some(h)) => h,
            Ok(None) => break Stop::Quiet,
            Err(stop) => break stop,
        };
        let body = match receive_body(&mut reader, &head, limits) {
            Ok(b) => b,
            Err(stop) => break stop,
        };
        if body.len > 0 || matches!(head.body, request::Body::Length(_) | request::Body::Chunked) {
            head.headers
                .push(("Content-Length".into(), body.len.to_string()));
        }
        let mut body = match body.into_reader() {
            Ok(b) => b,
            Err(e) => {
                log::error!("cannot read back a received body: {e}");
                break Stop::Refuse(
                    503,
                    "The server cannot take the request body right now; nothing was stored. Try again.",
                );
            }
        };
        let request = Request::fake_http_from(
            peer,
            std::mem::take(&mut head.method),
            std::mem::take(&mut head.target),
            std::mem::take(&mut head.headers),
            Vec::new(),
        );
        let answer = {
            let _slot = shared.slots.hold();
            catch_unwind(AssertUnwindSafe(|| (shared.handler)(&request, &mut *body)))
                .unwrap_or_else(|_| {
                    log::error!("a handler panicked outside the request handling");
                    response::internal_error()
                })
        };
        drop(body);
        // The unread body of a too-large request still stands between us and any next request.
        let too_large = matches!(head.body, request::Body::TooLarge);
        let closing = too_large || !head.keep_alive || stop.load(Ordering::SeqCst);
        let client = reader.get_mut();
        if response::write(
            client,
            answer,
            head.is_head,
            closing,
            limits.buffer_body_bytes,
        )
        .is_err()
        {
            break Stop::Quiet;
        }
        if too_large {
            break Stop::Drain;
        }
        if closing {
            break Stop::Quiet;
        }
    };
    let client = reader.into_inner();
    if let Stop::Refuse(status, message) = outcome {
        let id = format!("guard-{:08x}", rand::random::<u32>());
        log::info!("{id} refused {status} before the handler: {message}");
        let mut c = &client;
        let _ = c.write_all(&refusal(&id, status, message));
    }
    if matches!(outcome, Stop::Refuse(..) | Stop::Drain) {
        // Read (and drop) what the client may still be sending, within bounds, so that a
        // client that writes its whole body before reading (most do) sees the refusal
        // rather than a reset connection.
        let _ = client.shutdown(Shutdown::Write);
        let _ = client.set_read_timeout(Some(Duration::from_millis(500)));
        let until = Instant::now() + Duration::from_secs(3);
        let mut sink = [0u8; 64 * 1024];
        let mut drained: u64 = 0;
        while drained < 32 << 20 && Instant::now() < until {
            match (&client).read(&mut sink) {
                Ok(0) | Err(_) => break,
                Ok(n) => drained += n as u64,
            }
        }
    }
    let _ = client.shutdown(Shutdown::Both);
}

/// A complete JSON error answer that closes the connection.
fn refusal(id: &str, status: u16, message: &str) -> Vec<u8> {
    let reason = response::reason(status);
    let body = serde_json::json!({ "success": false, "message": message }).to_string();
    // A 503 is worth retrying shortly; say so, as the handler's own 503 does.
    let retry = if status == 503 {
        "Retry-After: 1\r\n"
    } else {
        ""
    };
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n{retry}X-Request-Id: {id}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A guard answering 201 with the body's length, with short body limits.
    fn serve_small() -> (SocketAddr, Arc<AtomicBool>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let handler: Arc<Handler> = Arc::new(|_req: &Request, body: &mut dyn Read| {
            let mut all = Vec::new();
            let _ = body.read_to_end(&mut all);
            Response::text(all.len().to_string()).with_status_code(201)
        });
        let limits = Limits {
            body_timeout: Duration::from_millis(300),
            min_body_rate: 50,
            ..Limits::default()
        };
        let stop = Arc::new(AtomicBool::new(false));
        spawn(listener, handler, limits, stop.clone()).unwrap();
        (addr, stop)
    }

    /// Sends a head declaring `declared` body bytes, then `body` a chunk at a time with
    /// `pause` between, and reads whatever comes back (the connection closes after it).
    fn send(addr: SocketAddr, declared: usize, body: &[&[u8]], pause: Duration) -> String {
        let mut c = TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let head = format!(
            "POST /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: {declared}\r\n\r\n"
        );
        c.write_all(head.as_bytes()).unwrap();
        for part in body {
            if c.write_all(part).is_err() {
                break;
            }
            thread::sleep(pause);
        }
        let mut answer = String::new();
        let _ = c.read_to_string(&mut answer);
        answer
    }

    /// Sends raw bytes and reads the answer until the server closes.
    fn exchange(addr: SocketAddr, raw: &[u8]) -> String {
        let mut c = TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        c.write_all(raw).unwrap();
        let mut answer = String::new();
        let _ = c.read_to_string(&mut answer);
        answer
    }

    #[test]
    fn a_chunk_size_is_hex_digits_only() {
        let (addr, stop) = serve_small();
        let head = "POST /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n";
        let ok = exchange(addr, format!("{head}5\r\nhello\r\n0\r\n\r\n").as_bytes());
        assert!(
            ok.starts_with("HTTP/1.1 201") && ok.ends_with("\r\n\r\n5"),
            "{ok}"
        );
        for size in ["+5", "-0", "0x5", " ", "5 5"] {
            let bad = exchange(
                addr,
                format!("{head}{size}\r\nhello\r\n0\r\n\r\n").as_bytes(),
            );
            assert!(bad.starts_with("HTTP/1.1 400"), "{size:?}: {bad}");
            assert!(bad.contains("A chunk size is not valid."), "{bad}");
        }
        stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(addr);
    }

    #[test]
    fn a_body_that_stops_or_trickles_is_answered_408_in_json() {
        let (addr, stop) = serve_small();
        // Whole and prompt: the handler's answer.
        let ok = send(addr, 5, &[b"hello"], Duration::ZERO);
        assert!(ok.starts_with("HTTP/1.1 201"), "{ok}");
        // Short of its Content-Length, then silent: 408 after the gap.
        let started = Instant::now();
        let short = send(addr, 100, &[b"{\"note\":\"x\"}"], Duration::ZERO);
        assert!(short.starts_with("HTTP/1.1 408"), "{short}");
        assert!(
            short.ends_with(
                r#"{"success":false,"message":"The request body stopped arriving; nothing was stored."}"#
            ),
            "{short}"
        );
        assert!(started.elapsed() < Duration::from_secs(3));
        // A byte every 100 ms never pauses 300 ms, but after the 300 ms grace it falls
        // behind 50 bytes a second: 408 long before its 60 bytes are in.
        let drip: Vec<&[u8]> = (0..60).map(|_| &b"x"[..]).collect();
        let started = Instant::now();
        let slow = send(addr, 60, &drip, Duration::from_millis(100));
        assert!(slow.starts_with("HTTP/1.1 408"), "{slow}");
        assert!(slow.contains("arrived too slowly"), "{slow}");
        // (The client stops writing once the server, done draining, closes: well before
        // the 6 s its drip would take.)
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(addr);
    }
}
