//! The guard's side of the worker pool: a fixed set of long-lived keep-alive connections to
//! the workers' loopback port, one per worker, shared by all client connections. Each
//! request borrows one (waiting while all are busy), sends the complete request, reads the
//! complete answer (spooled, so a slow client never holds a worker), and gives it back.
//!
//! The connections are opened one at a time at start-up, each checked with a request before
//! the next is opened: tiny_http's connection thread pool can lose the wake-up of a
//! connection that arrives together with another, leaving it unserved. For the same reason a
//! broken connection is replaced by a checked one.

use super::spool::Spool;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// A connection to the workers. Reads ask the kernel to acknowledge at once: tiny_http
/// writes an answer in pieces with Nagle's algorithm on, and a delayed acknowledgement on
/// our side would hold each answer over 1 KiB back by 40 ms.
struct QuickAck(TcpStream);

impl Read for QuickAck {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let _ = socket2::SockRef::from(&self.0).set_tcp_quickack(true);
        self.0.read(buf)
    }
}

type Conn = BufReader<QuickAck>;

pub(super) struct Pool {
    addr: SocketAddr,
    idle: Mutex<Vec<Conn>>,
    freed: Condvar,
}

/// A worker's answer: its head as received and its body.
pub(super) struct Answer {
    pub head: Vec<u8>,
    pub body: Spool,
}

/// How long a worker may take to answer one request.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);

/// Opens a connection and checks it with a request, so that it is known to be served.
fn connect(addr: SocketAddr) -> io::Result<Conn> {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_nodelay(true)?;
    s.set_write_timeout(Some(ANSWER_TIMEOUT))?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut conn = BufReader::with_capacity(64 * 1024, QuickAck(s));
    let mut none = Spool::new(0);
    let probe = format!(
        "GET /healthz HTTP/1.1\r\nHost: workers\r\nTE: identity\r\n{}: 1\r\n\r\n",
        super::PROBE_HEADER
    );
    let probe = probe.as_bytes();
    let (_, reusable) = exchange_on(&mut conn, probe, &mut none, false, 4096)?;
    if !reusable {
        return Err(io::Error::other("the workers closed a new connection"));
    }
    conn.get_ref().0.set_read_timeout(Some(ANSWER_TIMEOUT))?;
    Ok(conn)
}

/// Opens and checks a connection, retrying a few times.
fn connect_checked(addr: SocketAddr) -> io::Result<Conn> {
    let mut last = None;
    for attempt in 0..5 {
        match connect(addr) {
            Ok(c) => return Ok(c),
            Err(e) => {
                last = Some(e);
                std::thread::sleep(Duration::from_millis(20 * (attempt + 1)));
            }
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("cannot reach the workers")))
}

impl Pool {
    /// Opens `size` checked connections, one after another.
    pub fn new(addr: SocketAddr, size: usize) -> io::Result<Pool> {
        let mut idle = Vec::with_capacity(size);
        for _ in 0..size.max(1) {
            idle.push(connect_checked(addr)?);
        }
        Ok(Pool {
            addr,
            idle: Mutex::new(idle),
            freed: Condvar::new(),
        })
    }

    /// Borrows a connection, waiting while all are in use.
    fn take(&self) -> Conn {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(c) = idle.pop() {
                return c;
            }
            idle = self.freed.wait(idle).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn give_back(&self, conn: Conn) {
        self.idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(conn);
        self.freed.notify_one();
    }

    /// Sends one complete request and returns the complete answer. A connection that breaks
    /// is replaced (by a checked one), so the pool keeps its size; a request whose answer
    /// never started is tried once more on the replacement.
    pub fn exchange(
        &self,
        head: &[u8],
        body: &mut Spool,
        is_head: bool,
        spool_limit: u64,
    ) -> io::Result<Answer> {
        let mut last = None;
        for _ in 0..2 {
            let mut conn = self.take();
            let result = exchange_on(&mut conn, head, body, is_head, spool_limit);
            let (outcome, keep) = match result {
                Ok((answer, true)) => (Ok(answer), Some(conn)),
                Ok((answer, false)) => (Ok(answer), None),
                Err(e) => (Err(e), None),
            };
            match keep {
                Some(c) => self.give_back(c),
                None => match connect_checked(self.addr) {
                    Ok(c) => self.give_back(c),
                    Err(e) => {
                        log::error!("cannot reopen a connection to the workers: {e}");
                        // Keep the pool's size: put back a connection that will be replaced
                        // on its first use.
                        if let Ok(c) = TcpStream::connect(self.addr) {
                            self.give_back(BufReader::new(QuickAck(c)));
                        }
                    }
                },
            }
            match outcome {
                Ok(answer) => return Ok(answer),
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no answer")))
    }
}

fn exchange_on(
    conn: &mut Conn,
    head: &[u8],
    body: &mut Spool,
    is_head: bool,
    spool_limit: u64,
) -> io::Result<(Answer, bool)> {
    {
        let stream = &mut conn.get_mut().0;
        stream.write_all(head)?;
        body.send_to(stream)?;
        stream.flush()?;
    }
    let mut answer_head = Vec::with_capacity(512);
    let mut line = Vec::with_capacity(128);
    let mut length: Option<u64> = None;
    let mut close = false;
    let mut first = true;
    loop {
        line.clear();
        let n = conn.read_until(b'\n', &mut line)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "worker closed",
            ));
        }
        if answer_head.len() + line.len() > 64 * 1024 {
            return Err(io::Error::other("worker answer head too large"));
        }
        answer_head.extend_from_slice(&line);
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end();
        if first {
            first = false;
            continue;
        }
        if text.is_empty() {
            break;
        }
        if let Some((name, value)) = text.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse().ok();
            } else if name.eq_ignore_ascii_case("connection")
                && value.to_ascii_lowercase().contains("close")
            {
                close = true;
            }
        }
    }
    let status: u16 = answer_head
        .get(9..12)
        .and_then(|s| std::str::from_utf8(s).ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(500);
    let no_body = is_head || status == 204 || status == 304 || (100..200).contains(&status);
    let mut spool = Spool::new(spool_limit);
    let reusable = match (no_body, length) {
        (true, _) => !close,
        (false, Some(n)) => {
            let copied = io::copy(&mut (&mut *conn).take(n), &mut spool)?;
            if copied < n {
                return Err(io::Error::other("worker answer cut short"));
            }
            !close
        }
        // No length: the answer runs to the end of the connection.
        (false, None) => {
            io::copy(conn, &mut spool)?;
            false
        }
    };
    Ok((
        Answer {
            head: answer_head,
            body: spool,
        },
        reusable,
    ))
}
