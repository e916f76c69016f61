//! Reading one request from a client: its head (bounded, within a deadline, one body
//! framing only) and its body, collected whole before the handler runs.

use super::spool::Spool;
use super::{Limits, Stop, TOO_LARGE_HEADER};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A parsed request head.
pub(super) struct Head {
    pub method: String,
    /// The origin-form target (path and query), as sent.
    pub target: String,
    /// The headers the handler sees: the client's, less framing and connection headers and
    /// any copy of the server's own marker header (`TOO_LARGE_HEADER`, added when it
    /// applies). `Content-Length` is added once the body is in.
    pub headers: Vec<(String, String)>,
    pub body: Body,
    pub keep_alive: bool,
    /// The client waits for `100 Continue` before sending its body; the guard answers it.
    pub expects_continue: bool,
    /// HEAD: the answer has no body whatever its Content-Length says.
    pub is_head: bool,
}

pub(super) enum Body {
    None,
    Length(u64),
    Chunked,
    /// Declared larger than any operation accepts: never read.
    TooLarge,
}

pub(super) fn set_timeout(reader: &BufReader<TcpStream>, t: Duration) {
    let _ = reader
        .get_ref()
        .set_read_timeout(Some(t.max(Duration::from_millis(1))));
}

pub(super) fn is_timeout(e: &io::Error) -> bool {
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
        // Only a read that will wait needs the deadline (a syscall saved per header line).
        if let (Some(d), true) = (deadline, reader.buffer().is_empty()) {
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

pub(super) fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Reads and checks one request head. `Ok(None)`: the client closed between requests.
pub(super) fn read_head(
    reader: &mut BufReader<TcpStream>,
    limits: &Limits,
    stop: &AtomicBool,
) -> Result<Option<Head>, Stop> {
    // Wait for the first byte of the next request (idle keep-alive), checking now and then
    // whether the server is shutting down; then the head's deadline runs.
    let idle_until = Instant::now() + limits.idle_timeout;
    loop {
        if stop.load(Ordering::SeqCst) || Instant::now() >= idle_until {
            return Ok(None);
        }
        if !reader.buffer().is_empty() {
            break;
        }
        set_timeout(reader, Duration::from_millis(200));
        match reader.fill_buf() {
            Ok([]) => return Ok(None),
            Ok(_) => break,
            Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Ok(None),
        }
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
    // A method is any token (the router answers 405 for one it does not serve); a target is
    // visible ASCII only (raw UTF-8 or controls must be percent-encoded).
    let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    let visible = |b: u8| (0x21..0x7f).contains(&b);
    if method.is_empty() || !method.bytes().all(tchar) || target.is_empty() {
        return Err(Stop::Refuse(400, "The request line is not valid."));
    }
    if !target.bytes().all(visible) {
        return Err(Stop::Refuse(
            400,
            "The request target holds bytes outside printable ASCII; percent-encode them.",
        ));
    }
    // Absolute form (`GET http://host/path`) is served as its path (RFC 9112 §3.2.2).
    let target = match target.split_once("://") {
        Some((scheme, rest))
            if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") =>
        {
            match rest.find('/') {
                Some(i) => &rest[i..],
                None => "/",
            }
        }
        _ => target,
    };
    let is_head = method == "HEAD";
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        _ => return Err(Stop::Refuse(505, "Only HTTP/1.1 and HTTP/1.0 are served.")),
    };
    let mut headers: Vec<(String, String)> = Vec::with_capacity(16);
    let mut length_values: Vec<String> = Vec::new();
    let mut codings: Vec<String> = Vec::new();
    let mut connection = String::new();
    let mut expects_continue = false;
    let mut has_host = false;
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
        // Visible ASCII, spaces and tabs only.
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
        if name.eq_ignore_ascii_case(TOO_LARGE_HEADER) || name.eq_ignore_ascii_case("te") {
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
            continue;
        } else if name.eq_ignore_ascii_case("keep-alive") {
            continue;
        } else if name.eq_ignore_ascii_case("host") {
            has_host = true;
        }
        headers.push((name.to_string(), value));
    }
    let body = match (length_values.len(), codings.len()) {
        (0, 0) => Body::None,
        (1, 0) => {
            let v = &length_values[0];
            if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Stop::Refuse(400, "Content-Length is not a number."));
            }
            match v.parse::<u64>() {
                Ok(n) if n <= limits.max_body_bytes => Body::Length(n),
                // Not read: the handler still judges route, method, key and content type
                // first, and answers 413 where it would read the body.
                _ => Body::TooLarge,
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
    if !http10 && !has_host {
        return Err(Stop::Refuse(
            400,
            "An HTTP/1.1 request needs a Host header.",
        ));
    }
    if matches!(body, Body::TooLarge) {
        headers.push((TOO_LARGE_HEADER.to_string(), "1".to_string()));
    }
    let keep_alive = if http10 {
        connection.contains("keep-alive")
    } else {
        !connection.split(',').any(|t| t.trim() == "close")
    };
    Ok(Some(Head {
        method: method.to_string(),
        target: target.to_string(),
        headers,
        body,
        keep_alive,
        expects_continue,
        is_head,
    }))
}

/// How long a body may take: no gap longer than the body timeout, and on the whole no
/// slower than `min_body_rate` after a grace of one body timeout, so that a client dripping
/// a byte at a time cannot hold its connection for ever.
pub(super) struct BodyPace {
    start: Instant,
    received: u64,
    gap: Duration,
    min_rate: u64,
}

const BODY_STOPPED: &str = "The request body stopped arriving; nothing was stored.";
const BODY_SLOW: &str = "The request body arrived too slowly; nothing was stored.";

impl BodyPace {
    pub(super) fn new(limits: &Limits) -> Self {
        BodyPace {
            start: Instant::now(),
            received: 0,
            gap: limits.body_timeout,
            min_rate: limits.min_body_rate.max(1),
        }
    }

    /// The time the body must have come to what it received by.
    fn deadline(&self) -> Instant {
        self.start + self.gap + Duration::from_secs_f64(self.received as f64 / self.min_rate as f64)
    }

    /// Sets the socket's timeout for the next read that will wait: the gap, or less when
    /// the pace's deadline is nearer.
    fn arm(&self, reader: &BufReader<TcpStream>) -> Result<(), Stop> {
        let left = self.deadline().saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Stop::Refuse(408, BODY_SLOW));
        }
        set_timeout(reader, left.min(self.gap));
        Ok(())
    }
}

/// Reads up to `buf.len()` body bytes, at the body's pace.
pub(super) fn read_some(
    reader: &mut BufReader<TcpStream>,
    buf: &mut [u8],
    pace: &mut BodyPace,
) -> Result<usize, Stop> {
    if reader.buffer().is_empty() {
        pace.arm(reader)?;
    }
    loop {
        match reader.read(buf) {
            Ok(0) => return Err(Stop::Quiet),
            Ok(n) => {
                pace.received += n as u64;
                return Ok(n);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if is_timeout(&e) => {
                let slow = Instant::now() >= pace.deadline();
                return Err(Stop::Refuse(
                    408,
                    if slow { BODY_SLOW } else { BODY_STOPPED },
                ));
            }
            Err(_) => return Err(Stop::Quiet),
        }
    }
}

/// One line of a chunked body's framing, at the body's pace.
fn read_body_line(
    reader: &mut BufReader<TcpStream>,
    line: &mut Vec<u8>,
    pace: &mut BodyPace,
    limits: &Limits,
) -> Result<(), Stop> {
    let mut used = 0;
    let deadline = pace.deadline().min(Instant::now() + pace.gap);
    match read_line(reader, line, &mut used, Some(deadline), limits) {
        Err(Stop::Refuse(408, _)) => Err(Stop::Refuse(408, BODY_STOPPED)),
        other => {
            pace.received += line.len() as u64;
            other
        }
    }
}

pub(super) fn copy_exact(
    reader: &mut BufReader<TcpStream>,
    out: &mut dyn Write,
    n: u64,
    pace: &mut BodyPace,
) -> Result<(), Stop> {
    let mut left = n;
    let mut buf = vec![0u8; 64 * 1024];
    while left > 0 {
        let want = buf.len().min(left as usize);
        let got = read_some(reader, &mut buf[..want], pace)?;
        out.write_all(&buf[..got]).map_err(|e| {
            log::error!("cannot hold a request body: {e}");
            Stop::Refuse(
                503,
                "The server cannot take the request body right now; nothing was stored. Try again.",
            )
        })?;
        left -= got as u64;
    }
    Ok(())
}

/// Reads a chunked body into `out` (data only), checking its framing and total size.
pub(super) fn read_chunks(
    reader: &mut BufReader<TcpStream>,
    out: &mut Spool,
    limits: &Limits,
    pace: &mut BodyPace,
) -> Result<(), Stop> {
    let mut line = Vec::new();
    loop {
        read_body_line(reader, &mut line, pace, limits)?;
        let size_text = trim_eol(&line);
        let size_text = size_text.split(|&b| b == b';').next().unwrap_or(b"");
        let size_str = std::str::from_utf8(size_text)
            .map_err(|_| Stop::Refuse(400, "A chunk size is not valid."))?;
        let size_str = size_str.trim();
        // Hex digits only (a parser of numbers would also take a sign).
        if size_str.is_empty() || !size_str.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Stop::Refuse(400, "A chunk size is not valid."));
        }
        let size = u64::from_str_radix(size_str, 16)
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
                read_body_line(reader, &mut line, pace, limits)?;
                if trim_eol(&line).is_empty() {
                    return Ok(());
                }
            }
        }
        copy_exact(reader, out, size, pace)?;
        let mut crlf = [0u8; 2];
        let mut got = 0;
        while got < 2 {
            got += read_some(reader, &mut crlf[got..], pace)?;
        }
        if &crlf != b"\r\n" {
            return Err(Stop::Refuse(400, "A chunk is not followed by CRLF."));
        }
    }
}

/// Receives the request's body whole (answering `Expect: 100-continue` first), so that the
/// handler only ever sees complete requests and never waits on a slow client.
pub(super) fn receive_body(
    reader: &mut BufReader<TcpStream>,
    head: &Head,
    limits: &Limits,
) -> Result<Spool, Stop> {
    let mut spool = Spool::new(limits.buffer_body_bytes);
    if matches!(head.body, Body::None | Body::TooLarge) {
        return Ok(spool);
    }
    let mut pace = BodyPace::new(limits);
    if head.expects_continue {
        let mut client = reader.get_ref();
        client
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .map_err(|_| Stop::Quiet)?;
    }
    match head.body {
        Body::Length(n) => copy_exact(reader, &mut spool, n, &mut pace)?,
        Body::Chunked => read_chunks(reader, &mut spool, limits, &mut pace)?,
        Body::None | Body::TooLarge => {}
    }
    Ok(spool)
}
