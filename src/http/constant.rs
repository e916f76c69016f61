//! The HTTP stack alone, for `dhanita bench`: the same connection guard in front of the same
//! rouille worker pool as `start`, but every request is answered with one small constant
//! JSON body (and the headers every real answer carries). What it serves per second is the
//! ceiling for any read the real server does on this machine.

use super::guard;
use super::HttpSettings;
use crate::error::{Error, Result};
use rouille::Response;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// The constant answer.
pub const BODY: &[u8] = br#"{"success":true,"data":{"status":"ok"}}"#;

/// A running constant server.
pub struct ConstantHandle {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    guard: Option<JoinHandle<()>>,
    thread: Option<JoinHandle<()>>,
}

impl ConstantHandle {
    /// Stops accepting and lets the workers finish.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(g) = self.guard.take() {
            let _ = std::net::TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
            let _ = g.join();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ConstantHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Binds `settings.listen` and answers every request with `BODY`, through a guard with the
/// same limits and a pool of `settings.threads` workers.
pub fn start_constant(settings: &HttpSettings) -> Result<ConstantHandle> {
    let listener = std::net::TcpListener::bind(settings.listen.as_str())
        .map_err(|e| Error::Unavailable(format!("cannot listen on {}: {e}", settings.listen)))?;
    let addr = listener.local_addr().map_err(Error::internal)?;
    let next_id = AtomicU64::new(1);
    let prefix = rand::random::<u32>();
    let server = rouille::Server::new("127.0.0.1:0", move |_req| {
        let n = next_id.fetch_add(1, Ordering::Relaxed);
        Response::from_data("application/json", BODY)
            .with_unique_header("X-Request-Id", format!("{prefix:08x}-{n:06}"))
            .with_unique_header("Cache-Control", "no-store")
            .with_unique_header("X-Content-Type-Options", "nosniff")
    })
    .map_err(|e| Error::Unavailable(format!("cannot start the worker pool: {e}")))?
    .pool_size(settings.threads.max(1));
    let backend = server.server_addr();
    let stop = Arc::new(AtomicBool::new(false));
    let limits = guard::Limits {
        max_body_bytes: (settings.max_file_bytes + super::multipart::ENVELOPE_BYTES)
            .max(settings.max_json_bytes),
        buffer_body_bytes: settings.max_json_bytes,
        ..guard::Limits::default()
    };
    let guard = guard::spawn(listener, backend, limits, stop.clone()).map_err(Error::internal)?;
    let flag = stop.clone();
    let thread = std::thread::Builder::new()
        .name("dhanita-constant".into())
        .spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                server.poll_timeout(Duration::from_millis(100));
            }
            server.join();
        })
        .map_err(Error::internal)?;
    Ok(ConstantHandle {
        addr,
        stop,
        guard: Some(guard),
        thread: Some(thread),
    })
}
