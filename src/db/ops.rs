//! Whole-database operations for the operator's commands: online backup, integrity check,
//! and the list of blobs the rows point to.

use super::{Conn, Db};
use crate::error::{Error, Result};
use std::collections::HashSet;
use std::path::Path;

impl Db {
    /// A consistent copy of the live database in `target` (which must not exist), taken with
    /// `VACUUM INTO` on a read connection: writers carry on meanwhile.
    pub fn backup_into(&self, target: &Path) -> Result<()> {
        let path = target
            .to_str()
            .ok_or_else(|| Error::internal("backup path is not UTF-8"))?
            .to_string();
        // VACUUM INTO runs outside any transaction: on a connection of its own.
        let conn = self.open_reader()?;
        conn.execute("VACUUM INTO ?1", [path])?;
        Ok(())
    }
}

/// `PRAGMA integrity_check`: `["ok"]` when all is well.
pub fn integrity_check(c: &Conn) -> Result<Vec<String>> {
    let mut st = c.0.prepare("PRAGMA integrity_check")?;
    let rows = st.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every document row: (document_id, sha256).
pub fn document_blobs(c: &Conn) -> Result<Vec<(String, String)>> {
    let mut st =
        c.0.prepare("SELECT document_id, sha256 FROM documents ORDER BY id")?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn referenced_shas(c: &Conn) -> Result<HashSet<String>> {
    Ok(document_blobs(c)?.into_iter().map(|(_, sha)| sha).collect())
}

/// Counts for a restore's report: (leads, documents).
pub fn counts(c: &Conn) -> Result<(i64, i64)> {
    let leads =
        c.0.query_row("SELECT count(*) FROM leads", [], |r| r.get(0))?;
    let docs =
        c.0.query_row("SELECT count(*) FROM documents", [], |r| r.get(0))?;
    Ok((leads, docs))
}

/// `EXPLAIN QUERY PLAN` of `sql` against the database at `path`: the plan's detail lines.
pub fn query_plan(path: &Path, sql: &str) -> Result<Vec<String>> {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut st = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
    let n = st.parameter_count();
    let params = vec![rusqlite::types::Value::Null; n];
    let rows = st.query_map(rusqlite::params_from_iter(params), |r| {
        r.get::<_, String>(3)
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
