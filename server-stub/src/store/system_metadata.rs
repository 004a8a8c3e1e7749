//! Server-wide flags kept in `server_meta` (one row per name): whether the admin finished
//! onboarding. Immich keeps the same facts in its `system_metadata` table.

use super::StoreResult;
use crate::db::optional;
use rusqlite::Connection;

const ADMIN_ONBOARDED: &str = "admin_onboarded";

/// Whether the admin has finished (or skipped) the first-run onboarding.
pub fn admin_onboarded(c: &Connection) -> StoreResult<bool> {
    let v: Option<String> = optional(c.query_row(
        "SELECT value FROM server_meta WHERE name = ?1",
        [ADMIN_ONBOARDED],
        |r| r.get(0),
    ))?;
    Ok(v.as_deref() == Some("true"))
}

pub fn set_admin_onboarded(c: &Connection, done: bool) -> StoreResult<()> {
    c.execute(
        "INSERT INTO server_meta (name, value) VALUES (?1, ?2) \
         ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        rusqlite::params![ADMIN_ONBOARDED, if done { "true" } else { "false" }],
    )?;
    Ok(())
}
