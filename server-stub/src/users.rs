//! The user record: loading it from a row, and its JSON as Immich's `UserResponseDto` /
//! `UserAdminResponseDto`.

use rusqlite::Row;
use serde_json::{Value, json};

/// The date shown where a date is withheld but the schema requires one.
pub const WITHHELD_DATE: &str = "1970-01-01T00:00:00.000Z";

pub const COLUMNS: &str = "id, email, name, is_admin, quota_size_bytes, usage_bytes, \
                           should_change_password, created_at, updated_at, deleted_at";

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub email: String,
    pub name: String,
    pub is_admin: bool,
    pub quota_size_bytes: Option<i64>,
    pub usage_bytes: i64,
    pub should_change_password: bool,
    pub created_at: String,
    pub updated_at: String,
    /// Set while the account is soft-deleted (restorable until the grace period ends).
    pub deleted_at: Option<String>,
}

impl User {
    /// Maps a row selected with [`COLUMNS`] (in that order).
    pub fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Self::from_row_offset(r, 0)
    }

    /// Maps [`COLUMNS`] starting at column `o` (for joins that select other columns first).
    pub fn from_row_offset(r: &Row<'_>, o: usize) -> rusqlite::Result<Self> {
        Ok(Self {
            id: r.get(o)?,
            email: r.get(o + 1)?,
            name: r.get(o + 2)?,
            is_admin: r.get(o + 3)?,
            quota_size_bytes: r.get(o + 4)?,
            usage_bytes: r.get(o + 5)?,
            should_change_password: r.get(o + 6)?,
            created_at: r.get(o + 7)?,
            updated_at: r.get(o + 8)?,
            deleted_at: r.get(o + 9)?,
        })
    }

    /// Bytes this user may still store, `None` when unlimited.
    pub fn quota_remaining(&self) -> Option<i64> {
        self.quota_size_bytes
            .map(|q| q.saturating_sub(self.usage_bytes).max(0))
    }

    /// Immich's `UserResponseDto`: what other users (partners, album members) see.
    pub fn to_public_json(&self) -> Value {
        json!({
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "avatarColor": "primary",
            "profileImagePath": "",
            "profileChangedAt": self.created_at,
        })
    }

    /// [`Self::to_public_json`] for a shared link that hides metadata: the schema's fields, with
    /// the id, email, name and dates withheld.
    pub fn to_withheld_json(&self) -> Value {
        json!({
            "id": "",
            "email": "",
            "name": "",
            "avatarColor": "primary",
            "profileImagePath": "",
            "profileChangedAt": WITHHELD_DATE,
        })
    }

    /// `UserAdminResponseDto` (a superset of `UserResponseDto`); the caller's own view.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "isAdmin": self.is_admin,
            "avatarColor": "primary",
            "profileImagePath": "",
            "profileChangedAt": self.created_at,
            "shouldChangePassword": self.should_change_password,
            "status": if self.deleted_at.is_some() { "deleted" } else { "active" },
            "storageLabel": null,
            "oauthId": "",
            "quotaSizeInBytes": self.quota_size_bytes,
            "quotaUsageInBytes": self.usage_bytes,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "deletedAt": self.deleted_at,
            "license": null,
        })
    }
}
