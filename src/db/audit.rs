//! The audit trail of each lead (append-only) and the stored answers of idempotent creates.

use super::Conn;
use crate::error::Result;
use crate::model::AuditEntry;
use rusqlite::{params, OptionalExtension};

pub fn insert(c: &Conn, lead_row: i64, e: &AuditEntry) -> Result<()> {
    let mut st = c.0.prepare_cached(
        "INSERT INTO audit (lead_id, action, field, old_value, new_value, detail, key_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    st.execute(params![
        lead_row,
        e.action,
        e.field,
        e.old_value,
        e.new_value,
        e.detail,
        e.key_id,
        e.at
    ])?;
    Ok(())
}

pub fn list(c: &Conn, lead_row: i64) -> Result<Vec<AuditEntry>> {
    let mut st = c.0.prepare_cached(
        "SELECT action, field, old_value, new_value, detail, key_id, created_at
         FROM audit WHERE lead_id = ?1 ORDER BY id",
    )?;
    let rows = st.query_map([lead_row], |r| {
        Ok(AuditEntry {
            action: r.get(0)?,
            field: r.get(1)?,
            old_value: r.get(2)?,
            new_value: r.get(3)?,
            detail: r.get(4)?,
            key_id: r.get(5)?,
            at: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A stored first answer: (fingerprint, status, body).
pub fn find_answer(
    c: &Conn,
    partner_id: i64,
    key: &str,
    not_before: i64,
) -> Result<Option<(String, u16, Vec<u8>)>> {
    let mut st = c.0.prepare_cached(
        "SELECT fingerprint, status, body FROM idempotency
         WHERE partner_id = ?1 AND key = ?2 AND created_at >= ?3",
    )?;
    Ok(st
        .query_row(params![partner_id, key, not_before], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?)
}

pub fn store_answer(
    c: &Conn,
    partner_id: i64,
    key: &str,
    fingerprint: &str,
    status: u16,
    body: &[u8],
    now: i64,
) -> Result<()> {
    let mut st = c.0.prepare_cached(
        "INSERT OR REPLACE INTO idempotency (partner_id, key, fingerprint, status, body, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    st.execute(params![partner_id, key, fingerprint, status, body, now])?;
    Ok(())
}

/// Drops answers older than `before`.
pub fn prune_answers(c: &Conn, before: i64) -> Result<()> {
    let mut st =
        c.0.prepare_cached("DELETE FROM idempotency WHERE created_at < ?1")?;
    st.execute([before])?;
    Ok(())
}
