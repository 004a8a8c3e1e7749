//! API keys and the credential lookup behind every authenticated request.

use super::StoreResult;
use crate::db::{optional, qualified};
use crate::users::{self, User};
use rusqlite::{Connection, Row, params};

/// One key as its owner sees it (never the secret, which is stored only as a hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    /// Immich permission names, as given when the key was made.
    pub permissions: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

const COLUMNS: &str = "id, name, permissions, created_at, updated_at";

/// The stored JSON array of names; a row that is not one (never written by this server) is
/// read as no permissions at all, so it fails closed.
fn parse_permissions(raw: &str) -> Vec<String> {
    serde_json::from_str(raw).unwrap_or_default()
}

fn key_row(r: &Row<'_>) -> rusqlite::Result<ApiKey> {
    let perms: String = r.get(2)?;
    Ok(ApiKey {
        id: r.get(0)?,
        name: r.get(1)?,
        permissions: parse_permissions(&perms),
        created_at: r.get(3)?,
        updated_at: r.get(4)?,
    })
}

/// Who presented the secret whose hash is `hash`.
#[derive(Debug, Clone)]
pub enum Found {
    /// An API key: its id and permissions.
    Key {
        id: String,
        permissions: Vec<String>,
    },
    /// A login session: its id.
    Session { id: String },
}

/// The live (not deleted) user behind a key or session secret hash, if any.
pub fn credential(c: &Connection, hash: &[u8]) -> StoreResult<Option<(Found, User)>> {
    let sql = format!(
        "SELECT k.id, 'key', k.permissions, {cols} FROM api_keys k JOIN users u ON u.id = k.user_id \
         WHERE k.key_hash = ?1 AND u.deleted_at IS NULL \
         UNION ALL \
         SELECT s.id, 'session', NULL, {cols} FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.token_hash = ?1 AND u.deleted_at IS NULL LIMIT 1",
        cols = qualified(users::COLUMNS, "u")
    );
    Ok(optional(c.prepare_cached(&sql)?.query_row([hash], |r| {
        let id: String = r.get(0)?;
        let kind: String = r.get(1)?;
        let perms: Option<String> = r.get(2)?;
        let user = User::from_row_offset(r, 3)?;
        let found = if kind == "key" {
            Found::Key {
                id,
                permissions: parse_permissions(perms.as_deref().unwrap_or("")),
            }
        } else {
            Found::Session { id }
        };
        Ok((found, user))
    }))?)
}

/// Stores a new key for `user_id` and returns it.
pub fn insert(
    c: &Connection,
    id: &str,
    user_id: &str,
    name: &str,
    key_hash: &[u8],
    permissions: &[String],
    now: &str,
) -> StoreResult<ApiKey> {
    let perms = serde_json::to_string(permissions)
        .map_err(|e| super::StoreError::Task(format!("permissions: {e}")))?;
    c.execute(
        "INSERT INTO api_keys (id, user_id, name, key_hash, permissions, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        params![id, user_id, name, key_hash, perms, now],
    )?;
    Ok(c.query_row(
        &format!("SELECT {COLUMNS} FROM api_keys WHERE id = ?1"),
        [id],
        key_row,
    )?)
}

/// The user's keys, oldest first.
pub fn list(c: &Connection, user_id: &str) -> StoreResult<Vec<ApiKey>> {
    let mut stmt = c.prepare(&format!(
        "SELECT {COLUMNS} FROM api_keys WHERE user_id = ?1 ORDER BY created_at, id"
    ))?;
    let rows = stmt.query_map([user_id], key_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// The user's key `id`, if it is theirs.
pub fn get(c: &Connection, user_id: &str, id: &str) -> StoreResult<Option<ApiKey>> {
    Ok(optional(c.query_row(
        &format!("SELECT {COLUMNS} FROM api_keys WHERE id = ?1 AND user_id = ?2"),
        [id, user_id],
        key_row,
    ))?)
}
