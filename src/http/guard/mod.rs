//! The connection guard: the process's own front door. It owns the public listening socket
//! and hands each connection's requests on to the HTTP worker pool (tiny_http under rouille,
//! bound to a loopback port only the guard talks to), after checking what that stack does not:
//!
//! - request heads are bounded in size (431) and must arrive within a deadline (a client
//!   trickling its head in is cut off with a 408); idle keep-alive connections time out;
//! - a body must be framed one way only: two `Content-Length`s, or `Content-Length` with
//!   `Transfer-Encoding`, or a transfer coding other than `chunked`, is a 400 and the
//!   connection is closed (no request smuggling, no misread next request);
//! - a declared body over the limit is a 413 before any of it is read (tiny_http would
//!   drain an unread body into one buffer of its declared size: `Content-Length:
//!   1000000000000` aborted the process);
//! - every body is received whole (spooled to a temp file past 1 MiB) before a worker sees
//!   the request, and every answer is received whole before it is written to the client, so
//!   a slow or stalled client holds only its own guard thread, never a worker; a body that
//!   stops arriving is dropped after a timeout;
//! - the workers are reached over a few long-lived connections opened at start-up, so a
//!   burst of clients or a shortage of file descriptors never reaches tiny_http's own
//!   accept loop (which loses wake-ups under bursts and dies on EMFILE); the guard's accept
//!   loop waits and retries instead, and caps the connections it serves at once.

mod backend;
mod request;
mod spool;

use request::{framed, read_head, receive_body};
use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The header through which the guard tells the workers the client's real address. Any
/// copy of it sent by a client is dropped.
pub const CLIENT_ADDR_HEADER: &str = "X-Dhanita-Client-Addr";

/// Tells the workers that the request declared a body larger than any operation accepts,
/// which the guard did not read: they answer 413 where they would read a body, after the
/// checks that come first (route, method, key, role, content type). Any copy of it sent by
/// a client is dropped.
pub const TOO_LARGE_HEADER: &str = "X-Dhanita-Body-Too-Large";

/// Marks the guard's own check of a new worker connection (not logged). Any copy of it
/// sent by a client is dropped.
pub const PROBE_HEADER: &str = "X-Dhanita-Probe";

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
    /// A body that sends nothing for this long is abandoned.
    pub body_timeout: Duration,
    /// Client connections served at once; more are answered 503 and closed.
    pub max_connections: usize,
    /// Connections to the workers opened at start-up.
    pub worker_connections: usize,
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
            max_connections: 1024,
            worker_connections: 16,
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

/// Starts the accept loop on `listener`; stops when `stop` is set (and the listener is
/// poked with a connection to wake it). Connection threads notice `stop` between requests.
pub fn spawn(
    listener: TcpListener,
    workers: SocketAddr,
    limits: Limits,
    stop: Arc<AtomicBool>,
) -> io::Result<JoinHandle<()>> {
    let pool = Arc::new(backend::Pool::new(workers, limits.worker_connections)?);
    let limits = Arc::new(limits);
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
                        if active.load(Ordering::SeqCst) >= limits.max_connections {
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
                        let (pool, limits, stop, active) =
                            (pool.clone(), limits.clone(), stop.clone(), active.clone());
                        let spawned = thread::Builder::new()
                            .name("dhanita-conn".into())
                            .stack_size(256 * 1024)
                            .spawn(move || {
                                serve_connection(stream, peer.ip(), &pool, &limits, &stop);
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

fn serve_connection(
    client: TcpStream,
    ip: IpAddr,
    pool: &backend::Pool,
    limits: &Limits,
    stop: &AtomicBool,
) {
    let _ = client.set_nodelay(true);
    let _ = client.set_write_timeout(Some(Duration::from_secs(30)));
    let mut reader = io::BufReader::with_capacity(16 * 1024, client);
    let outcome = loop {
        let head = match read_head(&mut reader, ip, limits, stop) {
            Ok(Some(h)) => h,
            Ok(None) => break Stop::Quiet,
            Err(stop) => break stop,
        };
        let mut body = match receive_body(&mut reader, &head, limits) {
            Ok(b) => b,
            Err(stop) => break stop,
        };
        let forward = framed(&head, body.len);
        let mut answer =
            match pool.exchange(&forward, &mut body, head.is_head, limits.buffer_body_bytes) {
                Ok(a) => a,
                Err(e) => {
                    log::error!("the worker pool did not answer: {e}");
                    break Stop::Refuse(503, "The server could not answer; try again.");
                }
            };
        // The unread body of a too-large request still stands between us and any next request.
        let too_large = matches!(head.body, request::Body::TooLarge);
        let closing = too_large || !head.keep_alive || stop.load(Ordering::SeqCst);
        if closing && answer.head.ends_with(b"\r\n\r\n") {
            answer.head.truncate(answer.head.len() - 2);
            answer.head.extend_from_slice(b"Connection: close\r\n\r\n");
        }
        let client = reader.get_mut();
        if client.write_all(&answer.head).is_err() || answer.body.send_to(client).is_err() {
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
        log::info!("{id} refused {status} before the workers: {message}");
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
    let reason = match status {
        400 => "Bad Request",
        408 => "Request Timeout",
        417 => "Expectation Failed",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Error",
    };
    let body = serde_json::json!({ "success": false, "message": message }).to_string();
    // A 503 is worth retrying shortly; say so, as the workers' own 503 does.
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
