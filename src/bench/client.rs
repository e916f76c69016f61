//! A minimal keep-alive HTTP/1.1 client.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

#[derive(Debug, Clone)]
pub(super) struct Target {
    addr: SocketAddr,
    /// `Host` and `X-API-Key` header lines.
    headers: String,
}

impl Target {
    pub(super) fn new(addr: SocketAddr, key: &str) -> Target {
        Target {
            addr,
            headers: format!("Host: {addr}\r\nX-API-Key: {key}\r\n"),
        }
    }
}

pub(super) struct Client {
    target: Target,
    conn: Option<BufReader<TcpStream>>,
    out: Vec<u8>,
    line: Vec<u8>,
    /// The last response's body.
    pub(super) body: Vec<u8>,
}

impl Client {
    pub(super) fn new(target: &Target) -> Client {
        Client {
            target: target.clone(),
            conn: None,
            out: Vec::with_capacity(1024),
            line: Vec::with_capacity(256),
            body: Vec::with_capacity(16 * 1024),
        }
    }

    pub(super) fn connect(&mut self) -> io::Result<()> {
        if self.conn.is_none() {
            let s = TcpStream::connect_timeout(&self.target.addr, Duration::from_secs(10))?;
            s.set_nodelay(true)?;
            s.set_read_timeout(Some(Duration::from_secs(60)))?;
            s.set_write_timeout(Some(Duration::from_secs(60)))?;
            self.conn = Some(BufReader::with_capacity(16 * 1024, s));
        }
        Ok(())
    }

    /// Sends one request (the body is the concatenation of `parts`) and reads the whole
    /// answer into `self.body`; returns its status. On an error the connection is dropped
    /// and the next request opens a new one.
    pub(super) fn request(
        &mut self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        parts: &[&[u8]],
    ) -> io::Result<u16> {
        let result = self.exchange(method, path, content_type, parts);
        if result.is_err() {
            self.conn = None;
        }
        result
    }

    fn exchange(
        &mut self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        parts: &[&[u8]],
    ) -> io::Result<u16> {
        self.connect()?;
        let Client {
            target,
            conn,
            out,
            line,
            body,
        } = self;
        let Some(conn) = conn.as_mut() else {
            return Err(io::Error::other("not connected"));
        };
        let length: usize = parts.iter().map(|p| p.len()).sum();
        out.clear();
        write!(out, "{method} {path} HTTP/1.1\r\n{}", target.headers)?;
        if let Some(ct) = content_type {
            write!(out, "Content-Type: {ct}\r\n")?;
        }
        if method != "GET" {
            write!(out, "Content-Length: {length}\r\n")?;
        }
        out.extend_from_slice(b"\r\n");
        let stream = conn.get_mut();
        if length <= 16 * 1024 {
            for p in parts {
                out.extend_from_slice(p);
            }
            stream.write_all(out)?;
        } else {
            stream.write_all(out)?;
            for p in parts {
                stream.write_all(p)?;
            }
        }
        // The answer: status line, headers, body by Content-Length, chunks, or close.
        read_line(conn, line)?;
        let status = std::str::from_utf8(line)
            .ok()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| io::Error::other("bad status line"))?;
        let http10 = line.starts_with(b"HTTP/1.0");
        let mut content_length: Option<usize> = None;
        let mut chunked = false;
        let mut close = http10;
        loop {
            read_line(conn, line)?;
            let l = trim_eol(line);
            if l.is_empty() {
                break;
            }
            let Some(colon) = l.iter().position(|&b| b == b':') else {
                continue;
            };
            let name = &l[..colon];
            let value = String::from_utf8_lossy(&l[colon + 1..])
                .trim()
                .to_ascii_lowercase();
            if name.eq_ignore_ascii_case(b"content-length") {
                content_length = value.parse().ok();
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                chunked = value.contains("chunked");
            } else if name.eq_ignore_ascii_case(b"connection") {
                close = value.contains("close") || (http10 && !value.contains("keep-alive"));
            }
        }
        body.clear();
        if chunked {
            loop {
                read_line(conn, line)?;
                let size_text = String::from_utf8_lossy(trim_eol(line));
                let size_text = size_text.split(';').next().unwrap_or("").trim();
                let size = usize::from_str_radix(size_text, 16)
                    .map_err(|_| io::Error::other("bad chunk size"))?;
                if size == 0 {
                    loop {
                        read_line(conn, line)?;
                        if trim_eol(line).is_empty() {
                            break;
                        }
                    }
                    break;
                }
                let start = body.len();
                body.resize(start + size, 0);
                conn.read_exact(&mut body[start..])?;
                read_line(conn, line)?;
            }
        } else if let Some(n) = content_length {
            body.resize(n, 0);
            conn.read_exact(body)?;
        } else if status >= 200 && status != 204 && status != 304 {
            conn.read_to_end(body)?;
            close = true;
        }
        if close {
            self.conn = None;
        }
        Ok(status)
    }
}

fn read_line(conn: &mut BufReader<TcpStream>, line: &mut Vec<u8>) -> io::Result<()> {
    line.clear();
    if conn.read_until(b'\n', line)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed",
        ));
    }
    Ok(())
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}
