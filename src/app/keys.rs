//! API keys: random secrets (192 bits), shown once, stored as SHA-256 hashes.

use super::{now_ms, App};
use crate::db;
use crate::error::{Error, Result};
use crate::model::{parse_dsa_code, Caller, KeyInfo, Role};
use rand::RngCore;
use sha2::{Digest, Sha256};

pub fn hash_key(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The caller a presented key stands for; 401 for a missing, unknown or revoked key.
pub fn authenticate(app: &App, presented: Option<&str>) -> Result<Caller> {
    authenticate_hash(app, presented_hash(presented).as_deref())
}

/// The hash `authenticate` looks a presented key up by; `None` for a missing or blank one.
pub fn presented_hash(presented: Option<&str>) -> Option<String> {
    presented
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(hash_key)
}

/// `authenticate`, given the presented key's hash (from `presented_hash`).
pub fn authenticate_hash(app: &App, hash: Option<&str>) -> Result<Caller> {
    let hash = hash.ok_or(Error::Unauthorized)?;
    app.db
        .read(|c| db::keys::find_live(c, hash))?
        .ok_or(Error::Unauthorized)
}

pub struct NewKey {
    pub id: i64,
    pub secret: String,
}

fn new_secret() -> String {
    let mut bytes = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("dk_{}", hex::encode(bytes))
}

/// Creates a key for `partner` (creating the partner if new).
pub fn create_key(app: &App, role: Role, partner: &str, dsa_code: Option<&str>) -> Result<NewKey> {
    let partner = partner.trim().to_string();
    if partner.is_empty() || partner.chars().count() > 100 {
        return Err(Error::field("name", "must be 1-100 characters"));
    }
    let dsa_code = match dsa_code {
        Some(d) => Some(
            parse_dsa_code(&serde_json::Value::String(d.to_string()))
                .map_err(|m| Error::field("dsa_code", m))?,
        ),
        None => None,
    };
    let secret = new_secret();
    let hash = hash_key(&secret);
    let id = app.db.write(move |c| {
        let now = now_ms();
        let partner_id = db::keys::ensure_partner(c, &partner, now)?;
        db::keys::insert(c, partner_id, role, dsa_code.as_deref(), &hash, now)
    })?;
    Ok(NewKey { id, secret })
}

/// Makes sure `secret` is a key (an admin key of partner `admin` when it is new). Returns
/// `true` when it was added.
pub fn ensure_key(app: &App, secret: &str) -> Result<bool> {
    let hash = hash_key(secret);
    app.db.write(move |c| {
        if db::keys::hash_exists(c, &hash)? {
            return Ok(false);
        }
        let now = now_ms();
        let partner_id = db::keys::ensure_partner(c, "admin", now)?;
        db::keys::insert(c, partner_id, Role::Admin, None, &hash, now)?;
        Ok(true)
    })
}

/// On a first run with no live key at all, creates an admin key and returns its secret.
pub fn first_run_key(app: &App) -> Result<Option<NewKey>> {
    if app.db.read(db::keys::count_live)? > 0 {
        return Ok(None);
    }
    create_key(app, Role::Admin, "admin", None).map(Some)
}

pub fn list_keys(app: &App) -> Result<Vec<KeyInfo>> {
    app.db.read(db::keys::list)
}

pub fn revoke_key(app: &App, id: i64) -> Result<()> {
    let done = app.db.write(move |c| db::keys::revoke(c, id, now_ms()))?;
    if done {
        Ok(())
    } else {
        Err(Error::NotFound(format!("no live key with id {id}")))
    }
}

/// Issues a new secret for key `id` (same partner, role and DSA code) and revokes the old.
pub fn rotate_key(app: &App, id: i64) -> Result<NewKey> {
    let secret = new_secret();
    let hash = hash_key(&secret);
    let new_id = app
        .db
        .write(move |c| db::keys::rotate(c, id, &hash, now_ms()))?;
    match new_id {
        Some(id) => Ok(NewKey { id, secret }),
        None => Err(Error::NotFound(format!("no live key with id {id}"))),
    }
}
