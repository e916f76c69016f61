//! The only module that knows SQLite. It opens the database (WAL, foreign keys, busy
//! timeout), applies the migration list tracked by `PRAGMA user_version`, seeds the masters
//! into an empty database, and owns the connections: one writer thread with the only write
//! connection (see `writer`), and a pool of read connections. Query functions live in one
//! submodule per table group and take a `&Conn`.

pub mod audit;
pub mod bench;
pub mod keys;
pub mod leads;
pub mod masters;
pub mod ops;
pub mod trace;
mod writer;

use crate::error::{Error, Result};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
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

/// How many idle read connections are kept.
const MAX_IDLE_READERS: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    Full,
    Normal,
}

pub struct Db {
    path: PathBuf,
    readers: Mutex<Vec<Connection>>,
    writer: Writer,
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
    /// Opens (creating if needed) the database at `path`, migrates and seeds it, and starts
    /// the writer thread.
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
        Ok(Db {
            path: path.to_path_buf(),
            readers: Mutex::new(Vec::new()),
            writer: Writer::start(Conn(conn)),
        })
    }

    /// Runs `f` in its own savepoint inside the writer's next batch; returns once that batch
    /// is committed (durable) or failed.
    pub fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Conn) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.writer.run(f)
    }

    /// Runs `f` on a read connection inside one read transaction (a consistent snapshot).
    pub fn read<T>(&self, f: impl FnOnce(&Conn) -> Result<T>) -> Result<T> {
        let pooled = self
            .readers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        let conn = match pooled {
            Some(c) => c,
            None => self.open_reader()?,
        };
        exec(&conn, "BEGIN")?;
        let conn = Conn(conn);
        let result = f(&conn);
        let conn = conn.0;
        if exec(&conn, "ROLLBACK").is_ok() {
            let mut idle = self.readers.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < MAX_IDLE_READERS {
                idle.push(conn);
            }
        }
        result
    }

    pub(super) fn open_reader(&self) -> Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        // 1 MiB of page cache per reader (SQLite's default is 2 MiB): with a reader per
        // handler slot, memory stays bounded on a large database; the OS caches the file anyway.
        conn.execute_batch("PRAGMA cache_size = -1024")?;
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
