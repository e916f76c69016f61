//! The only module that knows SQLite. It opens the database (WAL, foreign keys, busy
//! timeout), applies the migration list tracked by `PRAGMA user_version`, seeds the masters
//! into an empty database, and owns the connections: the only write connection, shared by
//! the group-commit writer (see `writer`), and a pool of read connections. Query functions live in one
//! submodule per table group and take a `&Conn`.

pub mod audit;
pub mod bench;
pub mod keys;
pub mod leads;
pub mod masters;
pub mod ops;
pub mod trace;
pub mod version;
mod writer;

use crate::error::{Error, Result};
use rusqlite::{Connection, OpenFlags};
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

pub use writer::Writer;

/// A connection handed to query functions: the writer's (inside a transaction and a
/// savepoint) or a reader's (inside a read transaction).
pub struct Conn(Connection);

/// Each entry is one schema version; append, never edit. Version N is `MIGRATIONS[N-1]`.
const MIGRATIONS: &[&str] = &[
    include_str!("../../schema.sql"),
    include_str!("../../migrations/0002_back_office.sql"),
];

const SEED: &str = include_str!("../../seed/masters.sql");

/// The reader of a snapshot (see `Db::snapshot`).
enum Slot {
    /// No read yet (or the last one ended by a write): the next read begins a transaction.
    Unopened,
    /// In its read transaction, between reads.
    Open(Connection),
    /// In use by a read; a read nested in it runs on its own.
    Lent,
}

thread_local! {
    /// This thread's current snapshot: whose database, and its reader.
    static SNAPSHOT: RefCell<Option<(u64, Slot)>> = const { RefCell::new(None) };
}

static NEXT_DB: AtomicU64 = AtomicU64::new(1);

/// How much of the database file a reader maps (address space, not memory: the pages are
/// the OS page cache's): SQLite's own upper bound, just under 2 GiB; past it, plain reads.
const READER_MMAP_BYTES: u64 = 0x7fff_0000;

/// How many idle read connections are kept.
const MAX_IDLE_READERS: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    Full,
    Normal,
}

pub struct Db {
    /// Tells this database's snapshots apart from another's on the same thread.
    id: u64,
    path: PathBuf,
    readers: Mutex<Vec<Connection>>,
    writer: Writer,
    /// Tells whether anything was committed since a moment (`None`: it cannot tell).
    watch: Option<version::Watch>,
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode as C;
        match e.sqlite_error_code() {
            Some(
                C::DiskFull
                | C::ReadOnly
                | C::SystemIoFailure
                | C::CannotOpen
                | C::DatabaseBusy
                | C::DatabaseLocked,
            ) => Error::Unavailable(format!("storage: {e}")),
            _ => Error::Internal(format!("sqlite: {e}")),
        }
    }
}

/// Prepared statements kept per connection: more than the server's distinct statements, so
/// none is parsed twice (rusqlite keeps 16 by default).
const STATEMENT_CACHE: usize = 256;

fn configure(conn: &Connection, sync: Synchronous) -> Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    let sync = match sync {
        Synchronous::Full => "FULL",
        Synchronous::Normal => "NORMAL",
    };
    conn.execute_batch(&format!(
        "PRAGMA foreign_keys = ON; PRAGMA synchronous = {sync}; PRAGMA temp_store = MEMORY;"
    ))?;
    Ok(())
}

impl Db {
    /// Opens (creating if needed) the database at `path`, migrates and seeds it, and hands
    /// the write connection to the writer.
    pub fn open(path: &Path, sync: Synchronous) -> Result<Db> {
        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| Error::Unavailable(format!("cannot open database {}: {e}", path.display())))?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::internal(format!(
                "database refused WAL mode ({mode})"
            )));
        }
        configure(&conn, sync)?;
        trace::install(&conn);
        migrate(&mut conn)?;
        seed(&mut conn)?;
        make_private(path);
        // The WAL index exists now, and lives as long as the writer's connection.
        let watch = version::Watch::open(path);
        Ok(Db {
            id: NEXT_DB.fetch_add(1, Ordering::Relaxed),
            path: path.to_path_buf(),
            readers: Mutex::new(Vec::new()),
            writer: Writer::start(Conn(conn))?,
            watch,
        })
    }

    /// The database's version now (see `version`): equal versions mean nothing was
    /// committed in between. Read it before the reads it is to vouch for.
    pub fn version(&self) -> Option<version::Version> {
        self.watch.as_ref().and_then(version::Watch::now)
    }

    /// Runs `f` in its own savepoint inside the writer's next batch; returns once that batch
    /// is committed (durable) or failed.
    pub fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Conn) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.end_snapshot_read();
        self.writer.run(f)
    }

    /// Runs `f` on a read connection inside one read transaction (a consistent snapshot).
    /// Inside `snapshot`, every read shares the snapshot's one transaction.
    pub fn read<T>(&self, f: impl FnOnce(&Conn) -> Result<T>) -> Result<T> {
        // Inside a snapshot of this database, and not nested in one of its reads: its
        // reader (opened by the first read), lent to this read.
        let shared = SNAPSHOT.with(|s| match &mut *s.borrow_mut() {
            Some((id, slot)) if *id == self.id && !matches!(slot, Slot::Lent) => {
                Some(std::mem::replace(slot, Slot::Lent))
            }
            _ => None,
        });
        let in_snapshot = shared.is_some();
        let conn = match shared {
            Some(Slot::Open(conn)) => conn,
            _ => {
                let conn = self.reader()?;
                exec(&conn, "BEGIN")?;
                conn
            }
        };
        let conn = Conn(conn);
        let result = f(&conn);
        let conn = conn.0;
        let done = if in_snapshot {
            SNAPSHOT.with(|s| match &mut *s.borrow_mut() {
                Some((id, slot)) if *id == self.id && matches!(slot, Slot::Lent) => {
                    *slot = Slot::Open(conn);
                    None
                }
                _ => Some(conn),
            })
        } else {
            Some(conn)
        };
        if let Some(conn) = done {
            self.end_read(conn);
        }
        result
    }

    /// Runs `f` with all its reads of this database (on this thread) in one read
    /// transaction: one snapshot, begun once. For work that only reads: a write inside ends
    /// the snapshot (later reads see the write), but nothing else does, so `f` must not wait
    /// for another request's write and then expect to see it.
    pub fn snapshot<T>(&self, f: impl FnOnce() -> T) -> T {
        struct End<'a> {
            db: &'a Db,
            outer: Option<(u64, Slot)>,
        }
        impl Drop for End<'_> {
            fn drop(&mut self) {
                let outer = self.outer.take();
                let ours = SNAPSHOT.with(|s| std::mem::replace(&mut *s.borrow_mut(), outer));
                if let Some((_, Slot::Open(conn))) = ours {
                    self.db.end_read(conn);
                }
            }
        }
        let outer = SNAPSHOT.with(|s| s.borrow_mut().replace((self.id, Slot::Unopened)));
        let _end = End { db: self, outer };
        f()
    }

    /// Ends this thread's snapshot transaction of this database, if one is open, so that
    /// the next read sees what was committed since.
    fn end_snapshot_read(&self) {
        let open = SNAPSHOT.with(|s| match &mut *s.borrow_mut() {
            Some((id, slot)) if *id == self.id && matches!(slot, Slot::Open(_)) => {
                Some(std::mem::replace(slot, Slot::Unopened))
            }
            _ => None,
        });
        if let Some(Slot::Open(conn)) = open {
            self.end_read(conn);
        }
    }

    fn reader(&self) -> Result<Connection> {
        let pooled = self
            .readers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        match pooled {
            Some(c) => Ok(c),
            None => self.open_reader(),
        }
    }

    /// Ends a reader's transaction and keeps it for the next read.
    fn end_read(&self, conn: Connection) {
        if exec(&conn, "ROLLBACK").is_ok() {
            let mut idle = self.readers.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < MAX_IDLE_READERS {
                idle.push(conn);
            }
        }
    }

    pub(super) fn open_reader(&self) -> Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        // 1 MiB of page cache per reader (SQLite's default is 2 MiB): with a reader per
        // handler slot, memory stays bounded on a large database. Readers map the database
        // file instead of copying pages out of the OS cache with a read call each: on a
        // million leads that is what keeps a lookup as fast as on an empty database. (Only
        // readers map it, read-only; the writer and the WAL use plain reads and writes.)
        conn.execute_batch(&format!(
            "PRAGMA cache_size = -1024; PRAGMA mmap_size = {READER_MMAP_BYTES}"
        ))?;
        trace::install(&conn);
        Ok(conn)
    }

    /// Stops the writer after the jobs already queued, and closes it.
    pub fn close(&self) {
        self.writer.stop();
        self.readers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

/// Runs one statement without results from the connection's statement cache (parsing
/// `BEGIN` and `COMMIT` on every request costs more than running them).
pub(crate) fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// The database and its WAL files hold customers' data: readable by the service's user only,
/// whatever the umask.
fn make_private(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(Error::internal(format!(
            "the database is schema version {version}, newer than this program (version {known}); use a newer dhanita"
        )));
    }
    if version == known {
        return Ok(());
    }
    let tx = conn.transaction()?;
    for sql in &MIGRATIONS[version as usize..] {
        tx.execute_batch(sql)?;
    }
    tx.execute_batch(&format!("PRAGMA user_version = {known}"))?;
    tx.commit()?;
    Ok(())
}

fn seed(conn: &mut Connection) -> Result<()> {
    let products: i64 = conn.query_row("SELECT count(*) FROM products", [], |r| r.get(0))?;
    if products > 0 {
        return Ok(());
    }
    let tx = conn.transaction()?;
    tx.execute_batch(SEED)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partners(c: &Conn) -> Result<i64> {
        Ok(c.0.query_row("SELECT count(*) FROM partners", [], |r| r.get(0))?)
    }

    fn add_partner(db: &Db, name: &'static str) -> Result<()> {
        db.write(move |c| {
            c.0.execute(
                "INSERT INTO partners (name, created_at) VALUES (?1, 0)",
                [name],
            )?;
            Ok(())
        })
    }

    #[test]
    fn reads_in_a_snapshot_share_one_transaction_until_a_write() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db"), Synchronous::Normal).unwrap();
        let before = db.read(partners).unwrap();
        db.snapshot(|| {
            assert_eq!(db.read(partners).unwrap(), before);
            // Committed by another thread between two reads: not seen, one snapshot.
            std::thread::scope(|s| s.spawn(|| add_partner(&db, "other")).join().unwrap()).unwrap();
            assert_eq!(db.read(partners).unwrap(), before);
            // A read nested in one gets its own transaction, sees the latest, and leaves
            // the snapshot as it was.
            let (outer, nested) = db.read(|c| Ok((partners(c)?, db.read(partners)?))).unwrap();
            assert_eq!((outer, nested), (before, before + 1));
            assert_eq!(db.read(partners).unwrap(), before);
            // This thread's own write ends the snapshot: later reads see both writes.
            add_partner(&db, "mine").unwrap();
            assert_eq!(db.read(partners).unwrap(), before + 2);
        });
        // Outside a snapshot every read is its own, and the snapshot's reader went back.
        std::thread::scope(|s| s.spawn(|| add_partner(&db, "later")).join().unwrap()).unwrap();
        assert_eq!(db.read(partners).unwrap(), before + 3);
        assert!(SNAPSHOT.with(|s| s.borrow().is_none()));
        db.close();
    }
}
