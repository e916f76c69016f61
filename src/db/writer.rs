//! The single writer: one write connection, and the use cases queued for it committed
//! together (group commit). Each use case runs in its own savepoint, so one that fails rolls
//! back only itself; every caller is answered only after the batch's COMMIT returns, that is
//! once its write is durable at the configured `synchronous` level.
//!
//! Who commits: a caller queues its use case. If nothing is committing, the caller commits
//! the queue (its own use case) itself, on its own thread: a lone request pays no hand-off
//! between threads (on a small machine, waking one thread and then the other back costs
//! about a third of a one-row commit). If others queued while it committed, it hands them
//! to the writer thread, which commits batch after batch while the queue is non-empty and
//! then sleeps. So under load every batch carries all that queued during the previous
//! commit, without a thread wake-up between batches, and no caller commits anyone's work
//! but its own batch.

use super::Conn;
use crate::error::{Error, Result};
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

/// Called once the batch is settled: `Ok` when it committed.
type Deliver = Box<dyn FnOnce(Result<()>) + Send>;
/// Runs a use case on the connection (or, with `None`, tells its caller the batch could not
/// start). Returns the delivery to make after COMMIT, or `None` when it failed and has
/// already answered.
type Job = Box<dyn FnOnce(Option<&Conn>) -> Option<Deliver> + Send>;

/// Upper bound on use cases in one transaction, so one batch cannot grow without end.
const MAX_BATCH: usize = 256;

/// Who is committing, if anyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Committer {
    Nobody,
    /// A caller, on its own thread, its own use case.
    Caller,
    /// The writer thread, until the queue is empty.
    Thread,
}

struct Queue {
    jobs: VecDeque<Job>,
    committer: Committer,
    /// `stop` was called: no new use cases.
    closed: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    /// Wakes the writer thread: handed the queue, or closed.
    handed: Condvar,
    /// Wakes `stop`: nobody commits any more.
    settled: Condvar,
    conn: Mutex<Option<Conn>>,
}

impl Shared {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Commits the next batch from the queue; false when the queue was empty.
    fn commit_next(&self) -> bool {
        let batch: Vec<Job> = {
            let mut q = self.queue();
            let n = q.jobs.len().min(MAX_BATCH);
            q.jobs.drain(..n).collect()
        };
        if batch.is_empty() {
            return false;
        }
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        match &*conn {
            Some(conn) => commit_batch(conn, batch),
            None => {
                for job in batch {
                    job(None);
                }
            }
        }
        true
    }

    /// Ends a caller's turn: the writer thread takes over what queued meanwhile.
    fn hand_on(&self) {
        let mut q = self.queue();
        if q.jobs.is_empty() {
            q.committer = Committer::Nobody;
            self.settled.notify_all();
        } else {
            q.committer = Committer::Thread;
            self.handed.notify_one();
        }
    }
}

pub struct Writer {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Writer {
    pub fn start(conn: Conn) -> Result<Writer> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                jobs: VecDeque::new(),
                committer: Committer::Nobody,
                closed: false,
            }),
            handed: Condvar::new(),
            settled: Condvar::new(),
            conn: Mutex::new(Some(conn)),
        });
        let thread = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("dhanita-writer".into())
                .spawn(move || writer_thread(&shared))
                .map_err(|e| Error::internal(format!("cannot start the writer thread: {e}")))?
        };
        Ok(Writer {
            shared,
            thread: Mutex::new(Some(thread)),
        })
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
        let commits_itself = {
            let mut q = self.shared.queue();
            if q.closed {
                return Err(Error::Unavailable("the server is shutting down".into()));
            }
            q.jobs.push_back(job);
            if q.committer == Committer::Nobody {
                q.committer = Committer::Caller;
                true
            } else {
                false
            }
        };
        // Committing, or waiting for a commit, is not request work: the slot is given back.
        crate::slots::idle(|| {
            if commits_itself {
                // Handed on even if the batch panics, so the queue never stalls.
                struct HandOn<'a>(&'a Shared);
                impl Drop for HandOn<'_> {
                    fn drop(&mut self) {
                        self.0.hand_on();
                    }
                }
                let _hand_on = HandOn(&self.shared);
                // Nobody was committing, so this use case heads the queue (with any queued
                // since it was pushed: they share its commit).
                self.shared.commit_next();
            }
            answer
                .recv()
                .unwrap_or_else(|_| Err(Error::internal("the writer lost a use case")))
        })
    }

    /// Refuses new use cases, lets the queued ones commit, folds the WAL into the main file
    /// and closes the connection.
    pub fn stop(&self) {
        let mut q = self.shared.queue();
        q.closed = true;
        self.shared.handed.notify_one();
        while q.committer != Committer::Nobody || !q.jobs.is_empty() {
            q = self
                .shared
                .settled
                .wait(q)
                .unwrap_or_else(|p| p.into_inner());
        }
        // Nothing is queued or committing, and nothing can be queued now: the thread ends.
        self.shared.handed.notify_one();
        drop(q);
        if let Some(t) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = t.join();
        }
        let conn = self
            .shared
            .conn
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(conn) = conn {
            // Leave the WAL folded into the main file for the next start and for backups.
            let _ = conn.0.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
        }
    }
}

impl Drop for Writer {
    /// A database dropped without `close` (an early return on start-up, say) still commits
    /// what is queued, ends its thread and folds the WAL back.
    fn drop(&mut self) {
        self.stop();
    }
}

/// Sleeps until a caller hands it the queue, then commits until the queue is empty. Ends
/// when the writer is closed and nothing is left to commit.
fn writer_thread(shared: &Shared) {
    loop {
        {
            let mut q = shared.queue();
            loop {
                if q.committer == Committer::Thread {
                    break;
                }
                if q.closed && q.committer == Committer::Nobody && q.jobs.is_empty() {
                    return;
                }
                q = shared.handed.wait(q).unwrap_or_else(|p| p.into_inner());
            }
        }
        let more = catch_unwind(AssertUnwindSafe(|| shared.commit_next())).unwrap_or(true);
        if !more {
            let mut q = shared.queue();
            if q.jobs.is_empty() {
                q.committer = Committer::Nobody;
                shared.settled.notify_all();
            }
        }
    }
}

fn commit_batch(conn: &Conn, batch: Vec<Job>) {
    if !conn.0.is_autocommit() {
        // A panic after a use case (in a delivery, say) left the last batch open: end it,
        // or every later BEGIN would fail until a restart.
        log::error!("a write transaction was left open; rolling it back");
        let _ = super::exec(&conn.0, "ROLLBACK");
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;
    use std::sync::{Arc, Barrier};

    fn writer(dir: &tempfile::TempDir) -> (Writer, std::path::PathBuf) {
        let path = dir.path().join("w.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; CREATE TABLE t (n INTEGER PRIMARY KEY, by TEXT)",
        )
        .unwrap();
        (Writer::start(Conn(conn)).unwrap(), path)
    }

    fn rows(path: &std::path::Path) -> Vec<i64> {
        let c = Connection::open(path).unwrap();
        let mut st = c.prepare("SELECT n FROM t ORDER BY n").unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }

    fn insert(n: i64) -> impl FnOnce(&Conn) -> Result<i64> + Send + 'static {
        move |c: &Conn| {
            c.0.execute("INSERT INTO t (n) VALUES (?1)", [n])?;
            Ok(n)
        }
    }

    #[test]
    fn a_dropped_writer_commits_its_queue_and_folds_the_wal_back() {
        let dir = tempfile::tempdir().unwrap();
        let (w, path) = writer(&dir);
        assert_eq!(w.run(insert(1)).unwrap(), 1);
        let wal = dir.path().join("w.db-wal");
        assert!(std::fs::metadata(&wal).unwrap().len() > 0);
        drop(w);
        assert_eq!(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0), 0);
        assert_eq!(rows(&path), [1]);
    }

    #[test]
    fn a_transaction_left_open_is_rolled_back_before_the_next_batch() {
        let dir = tempfile::tempdir().unwrap();
        let (w, path) = writer(&dir);
        {
            let conn = w.shared.conn.lock().unwrap();
            let conn = conn.as_ref().unwrap();
            conn.0
                .execute_batch("BEGIN IMMEDIATE; INSERT INTO t (n) VALUES (99)")
                .unwrap();
        }
        assert_eq!(w.run(insert(2)).unwrap(), 2);
        w.stop();
        assert_eq!(rows(&path), [2]);
    }

    #[test]
    fn a_lone_write_commits_on_the_callers_own_thread() {
        let dir = tempfile::tempdir().unwrap();
        let (w, path) = writer(&dir);
        let me = std::thread::current().id();
        let ran_on = w.run(move |c| insert(7)(c).map(|_| std::thread::current().id()));
        assert_eq!(ran_on.unwrap(), me);
        assert_eq!(rows(&path), vec![7]);
        w.stop();
    }

    #[test]
    fn concurrent_writes_are_each_committed_once_and_failures_roll_back_only_themselves() {
        let dir = tempfile::tempdir().unwrap();
        let (w, path) = writer(&dir);
        let w = Arc::new(w);
        let start = Arc::new(Barrier::new(16));
        let threads: Vec<_> = (0..16i64)
            .map(|t| {
                let (w, start) = (w.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    let mut answers = Vec::new();
                    for i in 0..40i64 {
                        let n = t * 1000 + i;
                        let answer = match i % 10 {
                            // Inserts its row, then fails: the row must not stay.
                            3 => w.run(move |c| {
                                insert(n)(c)?;
                                Err::<i64, _>(Error::Conflict(
                                    "no".into(),
                                    crate::error::FieldErrors::single("n", "taken"),
                                ))
                            }),
                            // Inserts its row, then panics: the same.
                            7 => w.run(move |c| {
                                insert(n)(c)?;
                                panic!("a use case failed badly")
                            }),
                            _ => w.run(insert(n)),
                        };
                        answers.push((n, answer));
                    }
                    answers
                })
            })
            .collect();
        let mut expected = Vec::new();
        for t in threads {
            for (n, answer) in t.join().unwrap() {
                match n % 1000 % 10 {
                    3 => assert!(
                        matches!(answer, Err(Error::Conflict(..))),
                        "{n}: {answer:?}"
                    ),
                    7 => assert!(matches!(answer, Err(Error::Internal(_))), "{n}: {answer:?}"),
                    _ => {
                        assert_eq!(answer.unwrap(), n);
                        expected.push(n);
                    }
                }
            }
        }
        expected.sort();
        assert_eq!(expected.len(), 16 * 32);
        assert_eq!(rows(&path), expected);
        // The writer still works after all that, from this thread.
        assert_eq!(w.run(insert(99_999)).unwrap(), 99_999);
        w.stop();
    }

    /// Commit frames in a WAL file that was never reset: frames whose header gives the
    /// database size after the commit.
    fn commits_in_wal(path: &std::path::Path) -> usize {
        let wal = std::fs::read(path).unwrap();
        let page = u32::from_be_bytes(wal[8..12].try_into().unwrap()) as usize;
        wal[32..]
            .chunks(24 + page)
            .filter(|f| f.len() == 24 + page && f[4..8] != [0, 0, 0, 0])
            .count()
    }

    #[test]
    fn writes_queued_behind_a_commit_share_the_next_one() {
        let dir = tempfile::tempdir().unwrap();
        let (w, path) = writer(&dir);
        let wal = dir.path().join("w.db-wal");
        let before = commits_in_wal(&wal);
        let w = Arc::new(w);
        let (started, leading) = mpsc::channel();
        let slow = {
            let w = w.clone();
            std::thread::spawn(move || {
                w.run(move |c| {
                    started.send(()).unwrap();
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    insert(1)(c)
                })
            })
        };
        leading.recv().unwrap();
        let queued: Vec<_> = (2..10i64)
            .map(|n| {
                let w = w.clone();
                std::thread::spawn(move || w.run(insert(n)))
            })
            .collect();
        while w.shared.queue().jobs.len() < 8 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert_eq!(slow.join().unwrap().unwrap(), 1);
        for (t, n) in queued.into_iter().zip(2..) {
            assert_eq!(t.join().unwrap().unwrap(), n);
        }
        assert_eq!(rows(&path), (1..10).collect::<Vec<i64>>());
        // One commit for the slow write, one for the eight queued behind it.
        assert_eq!(commits_in_wal(&wal) - before, 2);
        w.stop();
    }

    #[test]
    fn stop_lets_queued_writes_commit_and_then_refuses_new_ones() {
        let dir = tempfile::tempdir().unwrap();
        let (w, path) = writer(&dir);
        let w = Arc::new(w);
        // A slow write leads; others queue behind it while stop is called.
        let (started, leading) = mpsc::channel();
        let slow = {
            let w = w.clone();
            std::thread::spawn(move || {
                w.run(move |c| {
                    started.send(()).unwrap();
                    std::thread::sleep(std::time::Duration::from_millis(200));
                    insert(1)(c)
                })
            })
        };
        leading.recv().unwrap();
        let queued: Vec<_> = (2..6i64)
            .map(|n| {
                let w = w.clone();
                std::thread::spawn(move || w.run(insert(n)))
            })
            .collect();
        while w.shared.queue().jobs.len() < 4 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let stopper = {
            let w = w.clone();
            std::thread::spawn(move || w.stop())
        };
        assert_eq!(slow.join().unwrap().unwrap(), 1);
        let mut answers: Vec<i64> = queued
            .into_iter()
            .map(|t| t.join().unwrap().unwrap())
            .collect();
        answers.sort();
        assert_eq!(answers, vec![2, 3, 4, 5]);
        stopper.join().unwrap();
        assert_eq!(rows(&path), vec![1, 2, 3, 4, 5]);
        assert!(matches!(w.run(insert(6)), Err(Error::Unavailable(_))));
        assert_eq!(rows(&path), vec![1, 2, 3, 4, 5]);
        // The WAL was folded into the main file.
        assert_eq!(
            std::fs::metadata(dir.path().join("w.db-wal"))
                .map(|m| m.len())
                .unwrap_or(0),
            0
        );
    }
}
