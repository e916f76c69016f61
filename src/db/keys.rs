//! Partners and their API keys. Only SHA-256 hashes of secrets are stored.

use super::Conn;
use crate::error::Result;
use crate::model::{Caller, KeyInfo, Role};
use rusqlite::{params, OptionalExtension};

/// The partner's id, creating the partner if it is new.
pub fn ensure_partner(c: &Conn, name: &str, now: i64) -> Result<i64> {
    c.0.execute(
        "INSERT INTO partners (name, created_at) VALUES (?1, ?2) ON CONFLICT(name) DO NOTHING",
        params![name, now],
    )?;
    Ok(c.0
        .query_row("SELECT id FROM partners WHERE name = ?1", [name], |r| {
            r.get(0)
        })?)
}

pub fn insert(
    c: &Conn,
    partner_id: i64,
    role: Role,
    dsa_code: Option<&str>,
    hash: &str,
    now: i64,
) -> Result<i64> {
    c.0.execute(
        "INSERT INTO api_keys (partner_id, role, dsa_code, key_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![partner_id, role.as_str(), dsa_code, hash, now],
    )?;
    Ok(c.0.last_insert_rowid())
}

/// The live (not revoked) key with this hash.
pub fn find_live(c: &Conn, hash: &str) -> Result<Option<Caller>> {
    let mut st = c.0.prepare_cached(
        "SELECT id, partner_id, role, dsa_code FROM api_keys WHERE key_hash = ?1 AND revoked_at IS NULL",
    )?;
    Ok(st
        .query_row([hash], |r| {
            let role: String = r.get(2)?;
            Ok(Caller {
                key_id: r.get(0)?,
                partner_id: r.get(1)?,
                role: Role::parse(&role).unwrap_or(Role::Partner),
                dsa_code: r.get(3)?,
            })
        })
        .optional()?)
}

/// Whether a key with this hash exists at all (live or revoked).
pub fn hash_exists(c: &Conn, hash: &str) -> Result<bool> {
    Ok(c.0
        .query_row("SELECT 1 FROM api_keys WHERE key_hash = ?1", [hash], |_| {
            Ok(())
        })
        .optional()?
        .is_some())
}

pub fn count_live(c: &Conn) -> Result<i64> {
    Ok(c.0.query_row(
        "SELECT count(*) FROM api_keys WHERE revoked_at IS NULL",
        [],
        |r| r.get(0),
    )?)
}

pub fn list(c: &Conn) -> Result<Vec<KeyInfo>> {
    let mut st = c.0.prepare(
        "SELECT k.id, p.name, k.role, k.dsa_code, k.created_at, k.revoked_at
         FROM api_keys k JOIN partners p ON p.id = k.partner_id ORDER BY k.id",
    )?;
    let rows = st.query_map([], |r| {
        let role: String = r.get(2)?;
        Ok(KeyInfo {
            id: r.get(0)?,
            partner: r.get(1)?,
            role: Role::parse(&role).unwrap_or(Role::Partner),
            dsa_code: r.get(3)?,
            created_at: r.get(4)?,
            revoked_at: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Revokes a live key; `false` when there is no such live key.
pub fn revoke(c: &Conn, id: i64, now: i64) -> Result<bool> {
    let n = c.0.execute(
        "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        params![id, now],
    )?;
    Ok(n == 1)
}

/// Replaces live key `id` by a new one with the same partner, role and DSA code; the old one
/// is revoked. Returns the new key's id, or `None` when there is no such live key.
pub fn rotate(c: &Conn, id: i64, new_hash: &str, now: i64) -> Result<Option<i64>> {
    let n = c.0.execute(
        "INSERT INTO api_keys (partner_id, role, dsa_code, key_hash, created_at)
         SELECT partner_id, role, dsa_code, ?2, ?3 FROM api_keys WHERE id = ?1 AND revoked_at IS NULL",
        params![id, new_hash, now],
    )?;
    if n == 0 {
        return Ok(None);
    }
    let new_id = c.0.last_insert_rowid();
    revoke(c, id, now)?;
    Ok(Some(new_id))
}
