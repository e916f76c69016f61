//! The connection guard: the process's own front door. It owns the public listening socket
//! and hands each connection's requests on to the HTTP worker pool (tiny_http under rouille,
//! bound to a loopback port only the guard talks to), after checking what that stack does not:
//!
//! - request heads are bounded in size (431) and must arrive within a deadline (a client
//!   trickling its head in is dropped), idle keep-alive connections time out;
//! - a body must be framed one way only: two `Content-Length`s, or `Content-Length` with
//!   `Transfer-Encoding`, or a transfer coding other than `chunked`, is a 400 and the
//!   connection is closed (no request smuggling, no misread next request);
//! - a declared body over the limit is a 413 before any of it is read, so tiny_http never
//!   sees it (tiny_http would drain an unread body into one buffer of its declared size,
//!   and a `Content-Length: 1000000000000` aborts the process);
//! - a body that stops arriving closes the connection after a timeout, which also frees
//!   the worker waiting for it; small bodies are collected whole before they are passed on,
//!   so a slow client never holds a worker for them;
//! - running out of file descriptors makes `accept` fail: the guard logs, waits briefly and
//!   keeps accepting (tiny_http's own accept thread would panic and refuse every
//!   connection from then on).
//!
//! Each connection gets one thread reading requests and one copying answers back.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The header through which the guard tells the workers the client's real address. Any
/// copy of it sent by a client is dropped.
pub const CLIENT_ADDR_HEADER: &str = "X-Dhanita-Client-Addr";

#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request head (request line and headers).
    pub max_head_bytes: usize,
    /// Largest body any operation accepts.
    pub max_body_bytes: u64,
    /// Bodies up to this size are read whole before being passed on.
    pub buffer_body_bytes: u64,
    /// A request head must be complete within this long of its first byte.
    pub head_deadline: Duration,
    /// A keep-alive connection with no request for this long is closed.
    pub idle_timeout: Duration,
    /// A body that sends nothing for this long is abandoned.
    pub body_timeout: Duration,
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
        }
    }
}

/// Starts the accept loop on `listener`; stops when `stop` is set (and the listener is
/// poked with a connection to wake it).
pub fn spawn(
    listener: TcpListener,
    backend: SocketAddr,
    limits: Limits,
    stop: Arc<AtomicBool>,
) -> io::Result<JoinHandle<()>> {
    let limits = Arc::new(limits);
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
                        let limits = limits.clone();
                        let spawned = thread::Builder::new()
                            .name("dhanita-conn".into())
                            .stack_size(256 * 1024)
                            .spawn(move || serve_connection(stream, peer.ip(), backend, &limits));
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
        })
}

/// A parsed request head, enough to frame the body and forward it.
struct Head {
    /// The head as it will be forwarded, without its framing headers and final empty line
    /// (guard header added, client's copy removed): `forward_body` adds the framing.
    forward: Vec<u8>,
    body: Body,
    keep_alive: bool,
    /// The client waits for `100 Continue` before sending its body; the guard answers it.
    expects_continue: bool,
}

enum Body {
    None,
    Length(u64),
    Chunked,
}

/// Why a connection ends early, and what (if anything) the client is told.
enum Stop {
    /// The client closed, or went quiet: close without an answer.
    Quiet,
    /// Refuse with this status and message, then close.
    Refuse(u16, &'static str),
}

fn serve_connection(client: TcpStream, ip: IpAddr, backend_addr: SocketAddr, limits: &Limits) {
    let _ = client.set_nodelay(true);
    let _ = client.set_write_timeout(Some(Duration::from_secs(30)));
    let backend = match TcpStream::connect(backend_addr) {
        Ok(b) => b,
        Err(e) => {
            log::error!("cannot reach the worker pool: {e}");
            let mut c = client;
            let _ = c.write_all(&refusal(
                "guard-busy",
                503,
                "The server is overloaded; try again.",
            ));
            return;
        }
    };
    let _ = backend.set_nodelay(true);
    let (Ok(mut answers_in), Ok(mut answers_out)) = (backend.try_clone(), client.try_clone())
    else {
        return;
    };
    let pump = thread::Builder::new()
        .name("dhanita-pump".into())
        .stack_size(128 * 1024)
        .spawn(move || {
            let _ = io::copy(&mut answers_in, &mut answers_out);
            let _ = answers_out.flush();
        });
    let Ok(pump) = pump else {
        return;
    };
    let mut backend_w = backend;
    let mut reader = BufReader::with_capacity(16 * 1024, client);
    let outcome = forward_requests(&mut reader, &mut backend_w, ip, limits);
    // No more requests: the workers finish what they have, answer, and close.
    let _ = backend_w.shutdown(Shutdown::Write);
    let _ = pump.join();
    let client = reader.into_inner();
    if let Stop::Refuse(status, message) = outcome {
        let id = format!("guard-{:08x}", rand::random::<u32>());
        log::info!("{id} refused {status} before the workers: {message}");
        let mut c = &client;
        let _ = c.write_all(&refusal(&id, status, message));
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

fn forward_requests(
    reader: &mut BufReader<TcpStream>,
    backend: &mut TcpStream,
    ip: IpAddr,
    limits: &Limits,
) -> Stop {
    loop {
        let head = match read_head(reader, ip, limits) {
            Ok(Some(h)) => h,
            Ok(None) => return Stop::Quiet,
            Err(stop) => return stop,
        };
        if let Err(stop) = forward_body(reader, backend, &head, limits) {
            return stop;
        }
        if !head.keep_alive {
            return Stop::Quiet;
        }
    }
}

fn set_timeout(reader: &BufReader<TcpStream>, t: Duration) {
    let _ = reader
        .get_ref()
        .set_read_timeout(Some(t.max(Duration::from_millis(1))));
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Reads one line (up to `\n`) within the head's limits.
fn read_line(
    reader: &mut BufReader<TcpStream>,
    line: &mut Vec<u8>,
    used: &mut usize,
    deadline: Option<Instant>,
    limits: &Limits,
) -> Result<(), Stop> {
    line.clear();
    loop {
        if let Some(d) = deadline {
            let left = d.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Stop::Refuse(
                    408,
                    "The request head took too long to arrive.",
                ));
            }
            set_timeout(reader, left);
        }
        let buf = match reader.fill_buf() {
            Ok([]) => return Err(Stop::Quiet),
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if is_timeout(&e) && deadline.is_some() => {
                return Err(Stop::Refuse(
                    408,
                    "The request head took too long to arrive.",
                ))
            }
            Err(_) => return Err(Stop::Quiet),
        };
        let (take, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        *used += take;
        if *used > limits.max_head_bytes {
            return Err(Stop::Refuse(431, "The request head is too large."));
        }
        line.extend_from_slice(&buf[..take]);
        reader.consume(take);
        if done {
            return Ok(());
        }
    }
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Reads and checks one request head. `Ok(None)`: the client closed between requests.
fn read_head(
    reader: &mut BufReader<TcpStream>,
    ip: IpAddr,
    limits: &Limits,
) -> Result<Option<Head>, Stop> {
    // Wait for the first byte of the next request (idle keep-alive), then the head's
    // deadline runs.
    set_timeout(reader, limits.idle_timeout);
    match reader.fill_buf() {
        Ok([]) => return Ok(None),
        Ok(_) => {}
        Err(_) => return Ok(None),
    }
    let deadline = Some(Instant::now() + limits.head_deadline);
    let mut used = 0usize;
    let mut line = Vec::with_capacity(256);
    // Tolerate empty lines before a request line (RFC 9112 §2.2).
    loop {
        read_line(reader, &mut line, &mut used, deadline, limits)?;
        if !trim_eol(&line).is_empty() {
            break;
        }
    }
    let request_line = trim_eol(&line).to_vec();
    let text = std::str::from_utf8(&request_line)
        .map_err(|_| Stop::Refuse(400, "The request line is not valid."))?;
    let mut parts = text.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Stop::Refuse(400, "The request line is not valid."));
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) || target.is_empty() {
        return Err(Stop::Refuse(400, "The request line is not valid."));
    }
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        _ => return Err(Stop::Refuse(505, "Only HTTP/1.1 and HTTP/1.0 are served.")),
    };
    let mut forward = Vec::with_capacity(used + 64);
    forward.extend_from_slice(&request_line);
    forward.extend_from_slice(b"\r\n");
    let mut length_values: Vec<String> = Vec::new();
    let mut codings: Vec<String> = Vec::new();
    let mut connection = String::new();
    let mut expects_continue = false;
    loop {
        read_line(reader, &mut line, &mut used, deadline, limits)?;
        let raw = trim_eol(&line);
        if raw.is_empty() {
            break;
        }
        if raw[0] == b' ' || raw[0] == b'\t' {
            return Err(Stop::Refuse(400, "Folded header lines are not accepted."));
        }
        let Some(colon) = raw.iter().position(|&b| b == b':') else {
            return Err(Stop::Refuse(400, "A header line is not valid."));
        };
        let name = std::str::from_utf8(&raw[..colon])
            .map_err(|_| Stop::Refuse(400, "A header name is not valid."))?;
        if name.is_empty() || name.bytes().any(|b| b <= b' ' || b >= 0x7f) {
            return Err(Stop::Refuse(400, "A header name is not valid."));
        }
        let value_bytes = &raw[colon + 1..];
        // Visible ASCII, spaces and tabs only: the workers' parser drops the connection
        // without an answer on anything else.
        if value_bytes
            .iter()
            .any(|&b| b >= 0x7f || (b < b' ' && b != b'\t'))
        {
            return Err(Stop::Refuse(
                400,
                "A header value holds bytes outside printable ASCII.",
            ));
        }
        let value = String::from_utf8_lossy(value_bytes).trim().to_string();
        if name.eq_ignore_ascii_case("expect") {
            if value.eq_ignore_ascii_case("100-continue") {
                expects_continue = true;
                continue;
            }
            return Err(Stop::Refuse(
                417,
                "Only Expect: 100-continue is understood.",
            ));
        }
        if name.eq_ignore_ascii_case(CLIENT_ADDR_HEADER) || name.eq_ignore_ascii_case("te") {
            continue;
        }
        if name.eq_ignore_ascii_case("content-length") {
            length_values.push(value.clone());
            continue;
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            codings.push(value.to_ascii_lowercase());
            continue;
        } else if name.eq_ignore_ascii_case("connection") {
            connection = value.to_ascii_lowercase();
        }
        forward.extend_from_slice(raw);
        forward.extend_from_slice(b"\r\n");
    }
    // Every answer has a known length; `TE: identity` makes the workers send it with a
    // Content-Length instead of chunking anything over 32 KiB.
    forward.extend_from_slice(format!("{CLIENT_ADDR_HEADER}: {ip}\r\nTE: identity\r\n").as_bytes());
    let body = match (length_values.len(), codings.len()) {
        (0, 0) => Body::None,
        (1, 0) => {
            let v = &length_values[0];
            if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Stop::Refuse(400, "Content-Length is not a number."));
            }
            match v.parse::<u64>() {
                Ok(n) if n <= limits.max_body_bytes => Body::Length(n),
                _ => {
                    return Err(Stop::Refuse(
                        413,
                        "The request body is larger than any operation accepts.",
                    ))
                }
            }
        }
        (0, 1) if codings[0] == "chunked" => Body::Chunked,
        (0, _) => {
            return Err(Stop::Refuse(
                400,
                "Only the chunked transfer coding is accepted.",
            ))
        }
        (_, 0) => return Err(Stop::Refuse(400, "More than one Content-Length.")),
        _ => {
            return Err(Stop::Refuse(
                400,
                "Both Content-Length and Transfer-Encoding were sent.",
            ))
        }
    };
    let keep_alive = if http10 {
        connection.contains("keep-alive")
    } else {
        !connection.split(',').any(|t| t.trim() == "close")
    };
    Ok(Some(Head {
        forward,
        body,
        keep_alive,
        expects_continue,
    }))
}

/// Reads up to `buf.len()` body bytes, within the body timeout.
fn read_some(reader: &mut BufReader<TcpStream>, buf: &mut [u8]) -> Result<usize, Stop> {
    loop {
        match reader.read(buf) {
            Ok(0) => return Err(Stop::Quiet),
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Err(Stop::Quiet),
        }
    }
}

fn send(backend: &mut TcpStream, bytes: &[u8]) -> Result<(), Stop> {
    backend.write_all(bytes).map_err(|_| Stop::Quiet)
}

fn framed(head: &Head, length: u64) -> Vec<u8> {
    let mut message = head.forward.clone();
    if length > 0 || !matches!(head.body, Body::None) {
        message.extend_from_slice(format!("Content-Length: {length}\r\n").as_bytes());
    }
    message.extend_from_slice(b"\r\n");
    message
}

fn forward_body(
    reader: &mut BufReader<TcpStream>,
    backend: &mut TcpStream,
    head: &Head,
    limits: &Limits,
) -> Result<(), Stop> {
    set_timeout(reader, limits.body_timeout);
    if head.expects_continue && !matches!(head.body, Body::None) {
        let mut client = reader.get_ref();
        client
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .map_err(|_| Stop::Quiet)?;
    }
    match head.body {
        Body::None => send(backend, &framed(head, 0)),
        Body::Length(n) if n <= limits.buffer_body_bytes => {
            // Collect a small body whole first: a worker then never waits on the client.
            let mut message = framed(head, n);
            let start = message.len();
            message.resize(start + n as usize, 0);
            let mut filled = start;
            while filled < message.len() {
                filled += read_some(reader, &mut message[filled..])?;
            }
            send(backend, &message)
        }
        Body::Length(n) => {
            send(backend, &framed(head, n))?;
            copy_exact(reader, backend, n)
        }
        Body::Chunked => {
            // The workers' stack does not drain an unread chunked body (the rest of it would
            // be read as the next request), so the guard passes every body on with a
            // Content-Length: it collects a chunked body (spooled to a temp file past the
            // in-memory limit), then forwards it.
            let mut spool = Spool::new(limits.buffer_body_bytes);
            read_chunks(reader, &mut spool, limits)?;
            send(backend, &framed(head, spool.len))?;
            spool.send_to(backend)
        }
    }
}

fn copy_exact(reader: &mut BufReader<TcpStream>, out: &mut dyn Write, n: u64) -> Result<(), Stop> {
    let mut left = n;
    let mut buf = vec![0u8; 64 * 1024];
    while left > 0 {
        let want = buf.len().min(left as usize);
        let got = read_some(reader, &mut buf[..want])?;
        out.write_all(&buf[..got]).map_err(|_| Stop::Quiet)?;
        left -= got as u64;
    }
    Ok(())
}

/// A body collected in memory up to a limit, then in an anonymous temp file.
struct Spool {
    memory: Vec<u8>,
    file: Option<std::fs::File>,
    in_memory_limit: u64,
    len: u64,
}

impl Spool {
    fn new(in_memory_limit: u64) -> Self {
        Spool {
            memory: Vec::new(),
            file: None,
            in_memory_limit,
            len: 0,
        }
    }

    fn send_to(mut self, backend: &mut TcpStream) -> Result<(), Stop> {
        match self.file.as_mut() {
            None => send(backend, &self.memory),
            Some(f) => {
                use std::io::Seek;
                f.seek(io::SeekFrom::Start(0))
                    .map_err(|_| Stop::Refuse(503, "The body could not be buffered."))?;
                io::copy(f, backend).map(|_| ()).map_err(|_| Stop::Quiet)
            }
        }
    }
}

impl Write for Spool {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.file.is_none() && self.len + buf.len() as u64 > self.in_memory_limit {
            let mut f = tempfile::tempfile()?;
            f.write_all(&self.memory)?;
            self.memory = Vec::new();
            self.file = Some(f);
        }
        match self.file.as_mut() {
            Some(f) => f.write_all(buf)?,
            None => self.memory.extend_from_slice(buf),
        }
        self.len += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Reads a chunked body into `out` (data only), checking its framing and total size.
fn read_chunks(
    reader: &mut BufReader<TcpStream>,
    out: &mut Spool,
    limits: &Limits,
) -> Result<(), Stop> {
    let mut line = Vec::new();
    loop {
        let mut used = 0;
        read_line(reader, &mut line, &mut used, None, limits)?;
        let size_text = trim_eol(&line);
        let size_text = size_text.split(|&b| b == b';').next().unwrap_or(b"");
        let size_str = std::str::from_utf8(size_text)
            .map_err(|_| Stop::Refuse(400, "A chunk size is not valid."))?;
        let size = u64::from_str_radix(size_str.trim(), 16)
            .map_err(|_| Stop::Refuse(400, "A chunk size is not valid."))?;
        if out.len.saturating_add(size) > limits.max_body_bytes {
            return Err(Stop::Refuse(
                413,
                "The request body is larger than any operation accepts.",
            ));
        }
        if size == 0 {
            // Trailers (dropped), then the empty line that ends the body.
            loop {
                let mut used = 0;
                read_line(reader, &mut line, &mut used, None, limits)?;
                if trim_eol(&line).is_empty() {
                    return Ok(());
                }
            }
        }
        copy_exact(reader, out, size)?;
        let mut crlf = [0u8; 2];
        let mut got = 0;
        while got < 2 {
            got += read_some(reader, &mut crlf[got..])?;
        }
        if &crlf != b"\r\n" {
            return Err(Stop::Refuse(400, "A chunk is not followed by CRLF."));
        }
    }
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
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nX-Request-Id: {id}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
