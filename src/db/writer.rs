//! The single writer: one thread owns the write connection and commits queued use cases
//! together (group commit). Each use case runs in its own savepoint, so one that fails rolls
//! back only itself; every caller is answered only after the batch's COMMIT returns, that is
//! once its write is durable at the configured `synchronous` level.

use super::Conn;
use crate::error::{Error, Result};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::Mutex;
use std::thread::JoinHandle;

/// Called once the batch is settled: `Ok` when it committed.
type Deliver = Box<dyn FnOnce(Result<()>) + Send>;
/// Runs a use case on the connection (or, with `None`, tells its caller the batch could not
/// start). Returns the delivery to make after COMMIT, or `None` when it failed and has
/// already answered.
type Job = Box<dyn FnOnce(Option<&Conn>) -> Option<Deliver> + Send>;

/// Upper bound on use cases in one transaction, so one batch cannot grow without end.
const MAX_BATCH: usize = 256;

pub struct Writer {
    queue: Mutex<Option<mpsc::Sender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Writer {
    pub fn start(conn: Conn) -> Writer {
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("dhanita-writer".into())
            .spawn(move || run(conn, rx))
            .ok();
        Writer {
            queue: Mutex::new(Some(tx)),
            thread: Mutex::new(thread),
        }
    }

    pub fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Conn) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (reply, answer) = mpsc::sync_channel::<Result<T>>(1);
        let job: Job = Box::new(move |conn| {
            let Some(conn) = conn else {
                let _ = reply.send(Err(Error::Unavailable("storage is unavailable".into())));
                return None;
            };
            match catch_unwind(AssertUnwindSafe(|| f(conn))) {
                Ok(Ok(value)) => Some(Box::new(move |committed: Result<()>| {
                    let _ = reply.send(committed.map(|()| value));
                })),
                Ok(Err(e)) => {
                    let _ = reply.send(Err(e));
                    None
                }
                Err(_) => {
                    let _ = reply.send(Err(Error::internal("a write panicked")));
                    None
                }
            }
        });
        let sent = match &*self.queue.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(queue) => queue.send(job).is_ok(),
            None => false,
        };
        if !sent {
            return Err(Error::Unavailable("the server is shutting down".into()));
        }
        crate::slots::idle(|| answer.recv())
            .unwrap_or_else(|_| Err(Error::internal("the writer stopped")))
    }

    /// Closes the queue, lets the writer finish what is queued, and waits for it.
    pub fn stop(&self) {
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = t.join();
        }
    }
}

fn run(conn: Conn, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit_batch(&conn, batch);
    }
    // Leave the WAL folded into the main file for the next start and for backups.
    let _ = conn.0.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
}

fn commit_batch(conn: &Conn, batch: Vec<Job>) {
    if let Err(e) = super::exec(&conn.0, "BEGIN IMMEDIATE") {
        log::error!("cannot begin a write transaction: {e}");
        for job in batch {
            job(None);
        }
        return;
    }
    // A batch of one needs no savepoint: the transaction itself is its isolation, and
    // skipping it saves copying every page it touches into the statement journal.
    if batch.len() == 1 {
        let Some(job) = batch.into_iter().next() else {
            return;
        };
        match job(Some(conn)) {
            Some(delivery) => match super::exec(&conn.0, "COMMIT") {
                Ok(()) => delivery(Ok(())),
                Err(e) => {
                    log::error!("write batch of 1 failed: {e}");
                    let _ = super::exec(&conn.0, "ROLLBACK");
                    delivery(Err(Error::Unavailable(format!("storage: {e}"))));
                }
            },
            None => {
                let _ = super::exec(&conn.0, "ROLLBACK");
            }
        }
        return;
    }
    let mut deliveries: Vec<Deliver> = Vec::with_capacity(batch.len());
    let mut broken: Option<String> = None;
    for job in batch {
        if broken.is_some() {
            job(None);
            continue;
        }
        if let Err(e) = super::exec(&conn.0, "SAVEPOINT job") {
            broken = Some(e.to_string());
            job(None);
            continue;
        }
        let delivery = job(Some(conn));
        let end = if delivery.is_some() {
            super::exec(&conn.0, "RELEASE job")
        } else {
            super::exec(&conn.0, "ROLLBACK TO job")
                .and_then(|()| super::exec(&conn.0, "RELEASE job"))
        };
        if let Err(e) = end {
            broken = Some(e.to_string());
        }
        deliveries.extend(delivery);
    }
    let outcome = match broken {
        Some(e) => Err(e),
        None => super::exec(&conn.0, "COMMIT").map_err(|e| e.to_string()),
    };
    match outcome {
        Ok(()) => {
            for d in deliveries {
                d(Ok(()));
            }
        }
        Err(e) => {
            log::error!("write batch of {} failed: {e}", deliveries.len());
            let _ = super::exec(&conn.0, "ROLLBACK");
            for d in deliveries {
                d(Err(Error::Unavailable(format!("storage: {e}"))));
            }
        }
    }
}
