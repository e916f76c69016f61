//! The transport's own faults, probed over raw sockets with exact bytes: oversized declared
//! bodies, ambiguous framing, unread chunked bodies, oversized and trickled heads, stalled
//! bodies, idle keep-alive sockets, running out of file descriptors, and the framing of a
//! download.

use crate::helpers::*;
use serde_json::{json, Value};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a normal request may take while slow or idle clients hang on.
const PROMPT: Duration = Duration::from_secs(1);

/// One HTTP response read off a raw socket.
#[derive(Debug)]
struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| {
            panic!(
                "{} body is not JSON: {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Asserts a JSON ErrorResponse with this status.
    fn assert_json_error(&self, status: u16) {
        assert_eq!(
            self.status,
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        let ct = self.header("Content-Type").unwrap_or("");
        assert!(ct.starts_with("application/json"), "content type {ct:?}");
        let body = self.json();
        assert_eq!(body["success"], json!(false), "{body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
        assert!(self.header("X-Request-Id").is_some(), "{:?}", self.headers);
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

/// Reads one response. `Ok(None)`: the connection ended before its first byte.
fn read_response(r: &mut BufReader<TcpStream>) -> io::Result<Option<Raw>> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.trim_end().splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    assert!(version.starts_with("HTTP/1."), "status line {line:?}");
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("status line {line:?}"));
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h)? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "in head"));
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').expect("header line");
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|(k, _): &&(String, String)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if let Some(n) = find("Content-Length") {
        let n: usize = n.parse().expect("Content-Length");
        body.resize(n, 0);
        r.read_exact(&mut body)?;
    } else if find("Transfer-Encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            r.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap(), 16)
                .expect("chunk size");
            let mut chunk = vec![0u8; n + 2];
            r.read_exact(&mut chunk)?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else if status != 204 && status != 304 {
        r.read_to_end(&mut body)?;
    }
    Ok(Some(Raw {
        status,
        headers,
        body,
    }))
}

/// Sends exact bytes on a new connection and reads one response.
fn try_exchange(addr: SocketAddr, bytes: &[u8]) -> Result<(Raw, BufReader<TcpStream>), String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(bytes).map_err(|e| format!("send: {e}"))?;
    let mut r = BufReader::new(s);
    match read_response(&mut r) {
        Ok(Some(raw)) => Ok((raw, r)),
        Ok(None) => Err("closed without an answer".into()),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::TimedOut => {
            Err("no answer within 5 s".into())
        }
        Err(e) => Err(format!("read: {e}")),
    }
}

fn exchange(addr: SocketAddr, bytes: &[u8]) -> (Raw, BufReader<TcpStream>) {
    try_exchange(addr, bytes).unwrap_or_else(|e| panic!("{e}"))
}

/// Whether the server has closed the connection: the next read gives end-of-file (or a
/// reset), not data and not a timeout.
fn closed(r: &mut BufReader<TcpStream>) -> Result<(), String> {
    r.get_ref()
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let mut buf = [0u8; 256];
    match r.read(&mut buf) {
        Ok(0) => Ok(()),
        Ok(n) => Err(format!(
            "more bytes after the answer: {:?}",
            String::from_utf8_lossy(&buf[..n])
        )),
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => Ok(()),
        Err(e) => Err(format!("connection still open: {e}")),
    }
}

/// A normal authenticated request on a new connection; how long it took, or why it failed.
fn try_normal_request(addr: SocketAddr, key: &str) -> Result<Duration, String> {
    let started = Instant::now();
    let req = format!(
        "GET /api/v1/statuses HTTP/1.1\r\nHost: {addr}\r\nX-API-Key: {key}\r\nConnection: close\r\n\r\n"
    );
    let (raw, _) = try_exchange(addr, req.as_bytes())?;
    if raw.status != 200 {
        return Err(format!(
            "{}: {}",
            raw.status,
            String::from_utf8_lossy(&raw.body)
        ));
    }
    assert_eq!(raw.json()["data"][0], json!("new"));
    Ok(started.elapsed())
}

fn normal_request(addr: SocketAddr) -> Duration {
    try_normal_request(addr, ADMIN_KEY).unwrap_or_else(|e| panic!("a normal request: {e}"))
}

fn healthz_ok(raw: &Raw) {
    assert_eq!(raw.status, 200, "{}", String::from_utf8_lossy(&raw.body));
    assert_eq!(
        raw.json(),
        json!({"success": true, "data": {"status": "ok"}})
    );
}

fn healthz(addr: SocketAddr) {
    let (raw, _) = exchange(
        addr,
        b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    healthz_ok(&raw);
}

#[test]
fn a_trillion_byte_content_length_gets_a_json_413_and_the_server_lives_on() {
    let app = spawn_app();
    let addr = app.addr();
    let req = format!(
        "POST /api/v1/leads HTTP/1.1\r\nHost: t\r\nX-API-Key: {ADMIN_KEY}\r\nContent-Type: application/json\r\nContent-Length: 1000000000000\r\n\r\n{{\"product\": "
    );
    let (raw, _) = exchange(addr, req.as_bytes());
    raw.assert_json_error(413);
    // Without a key the declared size is still refused before anything else reads it.
    let (raw, _) = exchange(
        addr,
        b"POST /api/v1/leads HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 1000000000000\r\n\r\n",
    );
    assert!(raw.status == 413 || raw.status == 401, "got {}", raw.status);
    let body = raw.json();
    assert_eq!(body["success"], json!(false));
    // An upload declaring far more than the file limit: 413 as well.
    let req = format!(
        "POST /api/v1/leads/LD202601010001/documents HTTP/1.1\r\nHost: t\r\nX-API-Key: {ADMIN_KEY}\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: 99999999999999\r\n\r\n"
    );
    let (raw, _) = exchange(addr, req.as_bytes());
    raw.assert_json_error(413);
    // The process is alive and serving.
    healthz(addr);
    normal_request(addr);
}

#[test]
fn content_length_with_transfer_encoding_is_a_400_and_the_connection_is_closed() {
    let app = spawn_app();
    let addr = app.addr();
    // A smuggling attempt: by Content-Length the body is `0\r\n\r\n`, by chunked it is empty
    // and a second request follows. Neither may be served.
    let req = format!(
        "POST /api/v1/leads HTTP/1.1\r\nHost: t\r\nX-API-Key: {ADMIN_KEY}\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
    );
    let (raw, mut r) = exchange(addr, req.as_bytes());
    raw.assert_json_error(400);
    closed(&mut r).unwrap();
    // The same with the headers the other way round and a chunked coding list.
    let req = format!(
        "POST /api/v1/leads HTTP/1.1\r\nHost: t\r\nX-API-Key: {ADMIN_KEY}\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 2\r\n\r\n{{}}"
    );
    let (raw, mut r) = exchange(addr, req.as_bytes());
    raw.assert_json_error(400);
    closed(&mut r).unwrap();
    healthz(addr);
}

#[test]
fn two_content_lengths_are_a_400_and_the_connection_is_closed() {
    let app = spawn_app();
    let addr = app.addr();
    for (a, b) in [(2, 40), (2, 2)] {
        let req = format!(
            "POST /api/v1/leads HTTP/1.1\r\nHost: t\r\nX-API-Key: {ADMIN_KEY}\r\nContent-Type: application/json\r\nContent-Length: {a}\r\nContent-Length: {b}\r\n\r\n{{}}GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
        );
        let (raw, mut r) = exchange(addr, req.as_bytes());
        raw.assert_json_error(400);
        closed(&mut r).unwrap_or_else(|e| panic!("lengths {a}, {b}: {e}"));
    }
    healthz(addr);
}

/// Writes `body` chunked (in `chunk`-byte pieces) after `head`, then `next`, from a thread
/// (the server may answer, or close, before it has read everything).
fn send_chunked(
    s: &TcpStream,
    head: String,
    body: Vec<u8>,
    chunk: usize,
    next: &'static [u8],
) -> std::thread::JoinHandle<()> {
    let mut w = s.try_clone().unwrap();
    std::thread::spawn(move || {
        let mut out = head.into_bytes();
        for piece in body.chunks(chunk) {
            out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
            out.extend_from_slice(piece);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n\r\n");
        out.extend_from_slice(next);
        let _ = w.write_all(&out);
    })
}

/// The answer to a request pipelined after one whose body the server did not read: a
/// proper healthz answer, or a closed connection, never a misread body.
fn next_is_healthz_or_closed(r: &mut BufReader<TcpStream>) {
    match read_response(r) {
        Ok(None) => {}
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("neither an answer nor closed: {e}"),
        Ok(Some(raw)) => healthz_ok(&raw),
    }
}

#[test]
fn an_unread_chunked_body_over_the_json_limit_does_not_poison_the_next_request() {
    let app = spawn_app();
    let addr = app.addr();
    // 1.5 MiB of valid JSON whose content looks like requests, in case it is misread.
    let filler = "GET /api/v1/nope HTTP/1.1\r\nHost: t\r\n\r\n".repeat(40_000);
    let body =
        serde_json::to_vec(&json!({"product": "Personal Loan", "customer_name": filler})).unwrap();
    assert!(body.len() > 3 << 19, "{}", body.len());
    let s = connect(addr);
    let head = format!(
        "POST /api/v1/leads HTTP/1.1\r\nHost: t\r\nX-API-Key: {ADMIN_KEY}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    let writer = send_chunked(
        &s,
        head,
        body,
        64 * 1024,
        b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    let mut r = BufReader::new(s);
    let first = read_response(&mut r)
        .expect("first answer")
        .expect("answered");
    first.assert_json_error(413);
    next_is_healthz_or_closed(&mut r);
    writer.join().unwrap();
    healthz(addr);
}

#[test]
fn an_unread_small_chunked_body_does_not_poison_the_next_request() {
    let app = spawn_app();
    let addr = app.addr();
    // Answered without reading the body: 401 (no key) and 404 (no such route).
    for head in [
        "POST /api/v1/leads HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".to_string(),
        format!("POST /api/v1/nowhere HTTP/1.1\r\nHost: t\r\nX-API-Key: {ADMIN_KEY}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"),
    ] {
        let s = connect(addr);
        let body = b"GET /api/v1/nope HTTP/1.1\r\nHost: t\r\n\r\n".to_vec();
        let writer = send_chunked(&s, head.clone(), body, 7, b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
        let mut r = BufReader::new(s);
        let first = read_response(&mut r).expect("first answer").expect("answered");
        assert!(
            first.status == 401 || first.status == 404,
            "{head}: {}",
            first.status
        );
        first.assert_json_error(first.status);
        next_is_healthz_or_closed(&mut r);
        writer.join().unwrap();
    }
}

#[test]
fn a_request_head_over_16_kib_gets_431() {
    let app = spawn_app();
    let addr = app.addr();
    let big = format!(
        "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Pad: {}\r\n\r\n",
        "a".repeat(17 * 1024)
    );
    let (raw, mut r) = exchange(addr, big.as_bytes());
    raw.assert_json_error(431);
    closed(&mut r).unwrap();
    // Many small headers adding up to more: the same.
    let mut many = String::from("GET /healthz HTTP/1.1\r\nHost: t\r\n");
    for i in 0..400 {
        many.push_str(&format!("X-H{i}: {}\r\n", "b".repeat(40)));
    }
    many.push_str("\r\n");
    assert!(many.len() > 16 * 1024);
    let (raw, _) = exchange(addr, many.as_bytes());
    raw.assert_json_error(431);
    // A large head within the limit is served.
    let fine = format!(
        "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Pad: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(8 * 1024)
    );
    let (raw, _) = exchange(addr, fine.as_bytes());
    healthz_ok(&raw);
}

/// Opens `n` connections that each send a request head declaring a 1000-byte JSON body and
/// only `sent` bytes of it, then go quiet.
fn stalled_bodies(addr: SocketAddr, n: usize, sent: usize) -> Vec<TcpStream> {
    (0..n)
        .map(|_| {
            let mut s = connect(addr);
            let head = format!(
                "POST /api/v1/leads HTTP/1.1\r\nHost: t\r\nX-API-Key: {ADMIN_KEY}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
            );
            s.write_all(head.as_bytes()).unwrap();
            s.write_all(&b"{\"a\": \"".repeat(200)[..sent]).unwrap();
            s
        })
        .collect()
}

/// Runs `n` normal requests from `threads` threads; returns every outcome.
fn normal_requests_from_threads(
    addr: SocketAddr,
    threads: usize,
    n: usize,
) -> Vec<Result<Duration, String>> {
    let per = n / threads;
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            std::thread::spawn(move || {
                (0..per)
                    .map(|_| try_normal_request(addr, ADMIN_KEY))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    handles
        .into_iter()
        .flat_map(|h| h.join().expect("normal requests"))
        .collect()
}

/// Asserts every request was answered, each within `PROMPT`.
fn assert_prompt(what: &str, outcomes: &[Result<Duration, String>]) {
    let failed: Vec<&String> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
    let times: Vec<Duration> = outcomes.iter().filter_map(|o| o.clone().ok()).collect();
    let worst = times.iter().max().copied().unwrap_or_default();
    eprintln!(
        "{what}: {} requests, {} failed, slowest answer {:.1} ms",
        outcomes.len(),
        failed.len(),
        worst.as_secs_f64() * 1000.0
    );
    assert!(
        failed.is_empty(),
        "{what}: {} of {} normal requests failed: {:?}",
        failed.len(),
        outcomes.len(),
        failed.first()
    );
    assert!(
        worst < PROMPT,
        "{what}: a normal request took {worst:?} (all: {times:?})"
    );
}

#[test]
fn a_trickled_head_is_cut_off_while_others_are_served_promptly() {
    let app = spawn_app();
    let addr = app.addr();
    // Twenty sockets sit with half a body sent (more than the worker pool's 8 threads).
    let _stalled = stalled_bodies(addr, 20, 500);

    let trickler = connect(addr);
    trickler
        .set_read_timeout(Some(Duration::from_secs(14)))
        .unwrap();
    let mut w = trickler.try_clone().unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let stop_writing = done.clone();
    let writer = std::thread::spawn(move || {
        let head = b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Trickle: ";
        let started = Instant::now();
        let mut sent = 0usize;
        // One byte every 300 ms, never finishing the head, for at most 13 s.
        while started.elapsed() < Duration::from_secs(13) && !stop_writing.load(Ordering::SeqCst) {
            let byte = head.get(sent).copied().unwrap_or(b'a');
            if w.write_all(&[byte]).is_err() {
                break;
            }
            sent += 1;
            std::thread::sleep(Duration::from_millis(300));
        }
        sent
    });
    let started = Instant::now();
    let reader = std::thread::spawn(move || {
        let mut r = BufReader::new(trickler);
        let outcome = match read_response(&mut r) {
            Ok(Some(raw)) => Ok(raw),
            Ok(None) => Err("closed".to_string()),
            Err(e) => Err(e.to_string()),
        };
        (outcome, started.elapsed())
    });
    // While it trickles: normal requests on new connections, one after another.
    let mut times = Vec::new();
    while !reader.is_finished() && started.elapsed() < Duration::from_secs(14) {
        times.push(try_normal_request(addr, ADMIN_KEY));
        std::thread::sleep(Duration::from_millis(150));
    }
    let (outcome, cut_after) = reader.join().unwrap();
    done.store(true, Ordering::SeqCst);
    let sent = writer.join().unwrap();
    eprintln!("trickled head: {sent} bytes sent, cut off after {cut_after:?}: {outcome:?}");
    match outcome {
        Ok(raw) => raw.assert_json_error(408),
        Err(e) => assert!(
            e == "closed" || e.contains("reset"),
            "the trickling connection was neither answered nor closed: {e}"
        ),
    }
    assert!(
        cut_after >= Duration::from_secs(9) && cut_after <= Duration::from_secs(12),
        "cut off after {cut_after:?}"
    );
    assert!(times.len() >= 20, "only {} requests ran", times.len());
    assert_prompt("while a head trickles", &times);
}

#[test]
fn a_small_body_that_stops_halfway_does_not_hold_up_others() {
    let app = spawn_app();
    let addr = app.addr();
    // More stalled bodies than worker threads (8).
    let stalled = stalled_bodies(addr, 12, 10);
    let times = normal_requests_from_threads(addr, 8, 40);
    assert_eq!(times.len(), 40);
    assert_prompt("while 12 bodies are stalled", &times);
    drop(stalled);
}

#[test]
fn a_large_upload_that_stops_halfway_does_not_hold_up_others() {
    let app = spawn_app();
    let addr = app.addr();
    let lead = app.admin().new_lead("9812345670");
    // Uploads declaring 2 MiB (past what is collected in memory, so streamed to a worker)
    // send their first part and stall; more of them than worker threads (8).
    let (ct, _) = multipart(&[("document_type", None, b"PAN")]);
    let stalled: Vec<TcpStream> = (0..12)
        .map(|_| {
            let mut s = connect(addr);
            let head = format!(
                "POST /api/v1/leads/{lead}/documents HTTP/1.1\r\nHost: t\r\nX-API-Key: {ADMIN_KEY}\r\nContent-Type: {ct}\r\nContent-Length: {}\r\n\r\n",
                2 << 20
            );
            s.write_all(head.as_bytes()).unwrap();
            s.write_all(b"--dhanitaTestBoundary7MA4YWxkTrZu0gW\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\r\n%PDF-1.4\n")
                .unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let times = normal_requests_from_threads(addr, 8, 40);
    assert_prompt("while 12 large uploads are stalled", &times);
    drop(stalled);
}

/// Sends a keep-alive healthz request on an open connection and reads its answer within
/// `PROMPT`.
fn healthz_on(s: &TcpStream) -> Result<Duration, String> {
    let started = Instant::now();
    let mut w = s.try_clone().unwrap();
    w.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    w.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        .map_err(|e| format!("send: {e}"))?;
    let mut r = BufReader::new(w);
    let raw = match read_response(&mut r) {
        Ok(Some(raw)) => raw,
        Ok(None) => return Err("closed without an answer".into()),
        Err(e) => return Err(format!("no answer within 2 s ({e})")),
    };
    healthz_ok(&raw);
    assert!(
        r.buffer().is_empty(),
        "bytes after the answer: {:?}",
        r.buffer()
    );
    Ok(started.elapsed())
}

#[test]
fn a_hundred_idle_keep_alive_sockets_do_not_starve_others() {
    let app = spawn_app();
    let addr = app.addr();
    // A hundred connections: half make one request and keep the connection open, the other
    // half never send a byte.
    let mut idle = Vec::new();
    for i in 0..100 {
        let s = connect(addr);
        if i % 2 == 0 {
            let took = healthz_on(&s).unwrap_or_else(|e| panic!("idle socket {i}: {e}"));
            assert!(took < PROMPT, "idle socket {i}: first answer took {took:?}");
        }
        idle.push(s);
    }
    // Normal requests on new connections, one after another and from threads.
    let mut times = Vec::new();
    for _ in 0..20 {
        times.push(try_normal_request(addr, ADMIN_KEY));
    }
    times.extend(normal_requests_from_threads(addr, 4, 20));
    assert_prompt("with 100 idle keep-alive sockets", &times);
    // Every one of the idle connections is still served promptly when it speaks again.
    for (i, s) in idle.iter().enumerate() {
        let took = healthz_on(s).unwrap_or_else(|e| panic!("idle socket {i}, later: {e}"));
        assert!(took < PROMPT, "idle socket {i}, later: took {took:?}");
    }
}

/// Connections that arrive together and then sit idle must not leave a later request on one
/// of them unanswered: on a fresh server, 40 connections open at once (from 40 threads),
/// then each sends a request. Four rounds, each on a new server.
#[test]
fn connections_opened_in_a_burst_are_each_served_when_they_speak() {
    for round in 0..4 {
        let app = spawn_app();
        let addr = app.addr();
        let openers: Vec<_> = (0..40)
            .map(|_| std::thread::spawn(move || connect(addr)))
            .collect();
        let burst: Vec<TcpStream> = openers.into_iter().map(|h| h.join().unwrap()).collect();
        std::thread::sleep(Duration::from_millis(200));
        for (i, s) in burst.iter().enumerate() {
            let took =
                healthz_on(s).unwrap_or_else(|e| panic!("round {round}, burst socket {i}: {e}"));
            assert!(
                took < PROMPT,
                "round {round}, burst socket {i}: took {took:?}"
            );
        }
    }
}

#[test]
fn a_download_carries_a_content_length_equal_to_its_size() {
    let app = spawn_app();
    let addr = app.addr();
    let c = app.admin();
    let lead = c.new_lead("9823456701");
    let pdf = pdf_of_size(100 * 1024, "download-check");
    let r = c.upload(&lead, "PAN", "big.pdf", &pdf);
    let doc = assert_ok(&r, 201)["document_id"]
        .as_str()
        .unwrap()
        .to_string();
    let req = format!(
        "GET /api/v1/leads/{lead}/documents/{doc}/file HTTP/1.1\r\nHost: t\r\nX-API-Key: {ADMIN_KEY}\r\nConnection: close\r\n\r\n"
    );
    let (raw, mut rest) = exchange(addr, req.as_bytes());
    assert_eq!(raw.status, 200);
    assert_eq!(
        raw.header("Content-Length"),
        Some(pdf.len().to_string().as_str()),
        "{:?}",
        raw.headers
    );
    assert_eq!(raw.header("Transfer-Encoding"), None, "{:?}", raw.headers);
    assert!(raw.body.starts_with(b"%PDF-"));
    assert_eq!(raw.body.len(), 100 * 1024);
    assert!(raw.body == pdf, "downloaded bytes differ");
    assert_eq!(raw.header("Content-Type"), Some("application/pdf"));
    assert!(
        raw.header("Content-Disposition")
            .is_some_and(|d| d.starts_with("attachment")),
        "{:?}",
        raw.headers
    );
    closed(&mut rest).unwrap();
}

/// Running out of file descriptors must not leave a process that refuses every connection:
/// a child limited to 64 descriptors is flooded with connections, which are then closed.
#[test]
fn the_server_accepts_again_after_running_out_of_file_descriptors() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let script = "ulimit -Sn 64 && exec \"$0\" --data-dir \"$1\" serve --listen 127.0.0.1:0";
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_dhanita"))
        .arg(&data)
        .current_dir(tmp.path())
        .env("DHANITA_API_KEY", CHILD_KEY)
        .env_remove("RUST_LOG");
    let mut child = start_child(cmd);
    let addr = child.addr;
    healthz(addr);
    // Far more connections than descriptors: some are accepted and served, the rest wait in
    // the backlog or are refused.
    let mut flood = Vec::new();
    for _ in 0..150 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
            Ok(mut s) => {
                let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
                flood.push(s);
            }
            Err(_) => break,
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    drop(flood);
    // Once they are gone the server serves new connections again.
    let started = Instant::now();
    let mut last = String::new();
    let mut served = false;
    while started.elapsed() < Duration::from_secs(10) {
        match try_normal_request(addr, CHILD_KEY) {
            Ok(_) => {
                served = true;
                break;
            }
            Err(e) => {
                last = e;
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
    assert!(
        child.child.try_wait().unwrap().is_none(),
        "the server exited: {}",
        child.output().1
    );
    assert!(
        served,
        "still no answer 10 s after the flood ended; last: {last}"
    );
    healthz(addr);
    child.kill_now();
}

// Requests a careless or hostile client sends, found by trying the server as a newcomer.

/// Raw UTF-8 in the request target is a JSON 400 (the workers' parser would drop the
/// connection, and each one used to cost a worker connection and a 503).
#[test]
fn raw_non_ascii_in_the_target_is_a_json_400() {
    let app = spawn_app();
    let addr = app.addr();
    for target in ["/healthz?x=\u{e9}", "/api/v1/leads/LD\u{915}"] {
        let req = format!("GET {target} HTTP/1.1\r\nHost: t\r\nX-API-Key: {ADMIN_KEY}\r\n\r\n");
        let (raw, _) = exchange(addr, req.as_bytes());
        raw.assert_json_error(400);
    }
    healthz(addr);
}

/// A body declared larger than any operation accepts is never read, but the checks that come
/// before 413 in the order of precedence still answer first.
#[test]
fn an_oversized_declared_body_keeps_the_order_of_precedence() {
    let app = spawn_app();
    let addr = app.addr();
    let lead = app.admin().new_lead("9700000101");
    let huge = "Content-Length: 20000000\r\n";
    let cases = [
        (format!("POST /api/v1/nope HTTP/1.1\r\nHost: t\r\nX-API-Key: {ADMIN_KEY}\r\n{huge}\r\n"), 404),
        (format!("DELETE /api/v1/leads/{lead} HTTP/1.1\r\nHost: t\r\nX-API-Key: {ADMIN_KEY}\r\n{huge}\r\n"), 405),
        (format!("POST /api/v1/leads HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n{huge}\r\n"), 401),
        (format!("POST /api/v1/leads HTTP/1.1\r\nHost: t\r\nX-API-Key: {ADMIN_KEY}\r\nContent-Type: text/plain\r\n{huge}\r\n"), 415),
        (format!("POST /api/v1/leads HTTP/1.1\r\nHost: t\r\nX-API-Key: {ADMIN_KEY}\r\nContent-Type: application/json\r\n{huge}\r\n"), 413),
    ];
    for (req, status) in cases {
        let (raw, _) = exchange(addr, req.as_bytes());
        raw.assert_json_error(status);
    }
    healthz(addr);
}

#[test]
fn absolute_form_targets_are_served_as_their_path() {
    let app = spawn_app();
    let req = format!(
        "GET http://127.0.0.1/api/v1/statuses HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {ADMIN_KEY}\r\n\r\n"
    );
    let (raw, _) = exchange(app.addr(), req.as_bytes());
    assert_eq!(raw.status, 200);
    assert_eq!(raw.json()["data"][0], json!("new"));
}

#[test]
fn an_encoded_slash_stays_inside_its_segment() {
    let app = spawn_app();
    let c = app.admin();
    let lead = c.new_lead("9700000102");
    let r = c.get(&format!("/api/v1/leads/{lead}%2Fstatus"));
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.body["message"], json!("Lead not found."));
    // An encoded character that is not a separator is decoded as usual.
    let encoded: String = lead.replace("LD", "L%44");
    assert_eq!(c.get(&format!("/api/v1/leads/{encoded}")).status, 200);
}

#[test]
fn a_lowercase_method_is_405_and_a_missing_host_is_400() {
    let app = spawn_app();
    let addr = app.addr();
    let (raw, _) = exchange(addr, b"get /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
    raw.assert_json_error(405);
    let (raw, _) = exchange(addr, b"GET /healthz HTTP/1.1\r\n\r\n");
    raw.assert_json_error(400);
    // HTTP/1.0 needs no Host.
    let (raw, _) = exchange(addr, b"GET /healthz HTTP/1.0\r\n\r\n");
    assert_eq!(raw.status, 200);
}

#[test]
fn two_api_keys_in_one_request_are_refused() {
    let app = spawn_app();
    let req = format!(
        "GET /api/v1/statuses HTTP/1.1\r\nHost: t\r\nX-API-Key: {ADMIN_KEY}\r\nX-API-Key: bogus\r\n\r\n"
    );
    let (raw, _) = exchange(app.addr(), req.as_bytes());
    raw.assert_json_error(401);
}

#[test]
fn bidi_overrides_in_a_name_are_refused_and_the_database_is_private() {
    let app = spawn_app();
    let c = app.admin();
    let r = c.create_lead(&json!({"product": "Personal Loan", "customer_name": "\u{202E}evil name", "mobile": "9700000103"}));
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.error_fields(), vec!["customer_name".to_string()]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for name in ["dhanita.db", "dhanita.db-wal"] {
            let mode = std::fs::metadata(app.dir.path().join(name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
    }
}

/// The listening TCP sockets of process `pid` (Linux): local ports from /proc/net/tcp*
/// whose socket inode is one of the process's open files.
#[cfg(target_os = "linux")]
fn listening_ports(pid: u32) -> Vec<u16> {
    let mut inodes = std::collections::HashSet::new();
    for fd in std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
    {
        if let Ok(target) = std::fs::read_link(fd.path()) {
            let t = target.to_string_lossy().to_string();
            if let Some(n) = t.strip_prefix("socket:[").and_then(|r| r.strip_suffix(']')) {
                inodes.insert(n.to_string());
            }
        }
    }
    let mut ports = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // local_address, state (0A = LISTEN), inode
            if cols.len() > 9 && cols[3] == "0A" && inodes.contains(cols[9]) {
                let port = cols[1].rsplit(':').next().unwrap();
                ports.push(u16::from_str_radix(port, 16).unwrap());
            }
        }
    }
    ports.sort();
    ports
}

/// `serve` listens on its one configured port: no second (internal) port that a local
/// process could reach past the request checks.
#[cfg(target_os = "linux")]
#[test]
fn the_server_listens_on_exactly_one_port() {
    let tmp = tempfile::tempdir().unwrap();
    let mut child = serve_child(&tmp.path().join("data"));
    let ports = listening_ports(child.child.id());
    assert_eq!(ports, vec![child.addr.port()], "listening sockets");
    let (raw, _) = exchange(
        child.addr,
        b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    healthz_ok(&raw);
    child.kill_now();
}

/// A client cannot pass the server's own too-large marker: a small JSON body sent with it is
/// judged as the small body it is.
#[test]
fn a_client_copy_of_the_too_large_marker_is_ignored() {
    let app = spawn_app();
    let body =
        json!({"product": "Personal Loan", "customer_name": "Marker Test", "mobile": "9700000104"})
            .to_string();
    let req = format!(
        "POST /api/v1/leads HTTP/1.1\r\nHost: t\r\nX-API-Key: {ADMIN_KEY}\r\nContent-Type: application/json\r\nX-Dhanita-Body-Too-Large: 1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let (raw, _) = exchange(app.addr(), req.as_bytes());
    assert_eq!(raw.status, 201, "{}", String::from_utf8_lossy(&raw.body));
    assert_eq!(raw.json()["data"]["customer_name"], json!("Marker Test"));
}
