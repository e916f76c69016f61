//! The HTTP stack alone, for `dhanita bench`: the same server with the same limits and
//! handler slots as `start`, but every request is answered with one small constant JSON body
//! (and the headers every real answer carries). What it serves per second is the
//! ceiling for any read the real server does on this machine.

use super::HttpSettings;
use crate::error::Result;
use rouille::Response;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

/// The constant answer.
pub const BODY: &[u8] = br#"{"success":true,"data":{"status":"ok"}}"#;

/// A running constant server.
pub struct ConstantHandle {
    pub addr: SocketAddr,
    running: super::Running,
}

impl ConstantHandle {
    /// Stops accepting and lets the requests in flight finish.
    pub fn stop(mut self) {
        self.running.shutdown();
    }
}

/// Binds `settings.listen` and answers every request with `BODY`, with the same limits and
/// `settings.threads` handler slots.
pub fn start_constant(settings: &HttpSettings) -> Result<ConstantHandle> {
    let next_id = AtomicU64::new(1);
    let prefix = rand::random::<u32>();
    let running = super::Running::launch(settings, move |_req, _body| {
        let n = next_id.fetch_add(1, Ordering::Relaxed);
        Response::from_data("application/json", BODY)
            .with_unique_header("X-Request-Id", format!("{prefix:08x}-{n:06}"))
            .with_unique_header("Cache-Control", "no-store")
            .with_unique_header("X-Content-Type-Options", "nosniff")
    })?;
    Ok(ConstantHandle {
        addr: running.addr,
        running,
    })
}
