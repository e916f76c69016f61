//! Whether anything was committed to the database since a given moment, by any connection
//! in any process, for the price of one small read and no transaction.
//!
//! Every connection to a WAL database shares its WAL index, the `-shm` file next to it. The
//! index begins with a header of 48 bytes, kept twice, that each commit rewrites as its last
//! step, when the commit becomes visible to readers (after the WAL is synced): the header's
//! transaction counter (`iChange`) goes up by one and its checksum changes. This is SQLite's
//! documented WAL-index format, which cannot change: processes linked against different
//! SQLite versions share it.
//!
//! A version is both copies as one read returns them, when they agree. Two equal versions
//! read at two moments mean no commit finished in between. A read that overlaps a commit
//! may return a mix of the headers written meanwhile. Such a mix never equals a version
//! read before that commit began: the low byte of the counter differs between the headers
//! of any few successive commits. It can only equal one read while the same commit was
//! being written, and a snapshot begun after that read already sees that commit. (The
//! WAL restarting after a checkpoint also rewrites the header, keeping the counter; no
//! data changes then, so reading either side of it as current is right.) So a mix costs
//! at most a miss. Any other outcome (a commit, a WAL restart, a read that fails or whose
//! copies differ) counts as "may have changed".

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// The WAL-index header: two copies of this many bytes at the start of the `-shm` file.
const HEADER_BYTES: usize = 48;
/// Offset of `isInit`, 1 once the header has been written.
const IS_INIT: usize = 12;

/// What the database held at one moment, as far as commits go. Equal versions mean no
/// commit in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version([u8; HEADER_BYTES]);

/// Reads the version of one database.
pub struct Watch {
    shm: File,
}

impl Watch {
    /// Opens the WAL index of the database at `db_path`, which must already be open in WAL
    /// mode (so that the index exists); `None` if it cannot be read.
    pub fn open(db_path: &Path) -> Option<Watch> {
        let mut name = db_path.as_os_str().to_owned();
        name.push("-shm");
        let shm = File::open(Path::new(&name)).ok()?;
        Some(Watch { shm })
    }

    /// The database's version now; `None` when it could not be read, or its two copies
    /// differ (a commit was writing them), which callers must treat as "changed".
    pub fn now(&self) -> Option<Version> {
        let mut both = [0u8; 2 * HEADER_BYTES];
        self.shm.read_exact_at(&mut both, 0).ok()?;
        let (first, second) = both.split_at(HEADER_BYTES);
        if first != second || first[IS_INIT] != 1 {
            return None;
        }
        let mut version = [0u8; HEADER_BYTES];
        version.copy_from_slice(first);
        Some(Version(version))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    #[test]
    fn every_commit_from_any_connection_changes_the_version_and_reads_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.db");
        let ours = Connection::open(&path).unwrap();
        let mode: String = ours
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        ours.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
        let watch = Watch::open(&path).unwrap();
        let v1 = watch.now().unwrap();
        assert_eq!(watch.now(), Some(v1), "nothing committed, same version");

        // A read changes nothing.
        let n: i64 = ours
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
        assert_eq!(watch.now(), Some(v1));

        // A commit on this connection.
        ours.execute("INSERT INTO t VALUES (1)", []).unwrap();
        let v2 = watch.now().unwrap();
        assert_ne!(v1, v2);

        // A commit on another connection (as another process would).
        let other = Connection::open(&path).unwrap();
        other.execute("INSERT INTO t VALUES (2)", []).unwrap();
        let v3 = watch.now().unwrap();
        assert_ne!(v2, v3);
        assert_ne!(v1, v3);

        // A rolled-back transaction publishes nothing.
        other
            .execute_batch("BEGIN; INSERT INTO t VALUES (3); ROLLBACK;")
            .unwrap();
        assert_eq!(watch.now(), Some(v3));

        // The same row changed twice changes it twice; writing what is already there
        // commits no page, and changes nothing.
        other.execute("UPDATE t SET x = 5 WHERE x = 2", []).unwrap();
        let v4 = watch.now().unwrap();
        other.execute("UPDATE t SET x = 4 WHERE x = 5", []).unwrap();
        let v5 = watch.now().unwrap();
        assert_ne!(v3, v4);
        assert_ne!(v4, v5);
        other.execute("UPDATE t SET x = 4 WHERE x = 4", []).unwrap();
        assert_eq!(watch.now(), Some(v5));

        // A checkpoint that restarts the WAL, then a commit.
        let _: (i64, i64, i64) = other
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        other.execute("INSERT INTO t VALUES (6)", []).unwrap();
        let v6 = watch.now().unwrap();
        assert!(![v1, v2, v3, v4, v5].contains(&v6));
    }

    #[test]
    fn a_database_not_in_wal_mode_has_no_watch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plain.db");
        let c = Connection::open(&path).unwrap();
        c.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
        assert!(Watch::open(&path).is_none());
    }
}
