//! Access control: the one place that answers "who is calling" (a signed-in user, or a guest
//! holding a shared-link key) and "may this caller see this asset / album". Owners see and change
//! everything of theirs; partners see the sharer's non-archived, non-hidden, non-locked assets;
//! album members (viewer/editor) and album owners see the album's assets; a link holder sees only
//! what the link shares. Anything else is a 404, indistinguishable from a missing id.

use crate::app::AppState;
use crate::assets::{self, Asset};
use crate::auth::Auth;
use crate::db::optional;
use crate::error::{ApiError, ApiResult};
use crate::users::{self, User};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Uri};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rusqlite::{Connection, Row};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Cookie a guest gets after unlocking a password-protected link.
pub const LINK_TOKEN_COOKIE: &str = "immich_shared_link_token";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkType {
    Album,
    Individual,
}

impl LinkType {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkType::Album => "ALBUM",
            LinkType::Individual => "INDIVIDUAL",
        }
    }
}

/// One row of `shared_links`.
#[derive(Debug, Clone)]
pub struct SharedLink {
    pub id: String,
    pub user_id: String,
    pub key: String,
    pub link_type: LinkType,
    pub album_id: Option<String>,
    pub description: Option<String>,
    pub password_hash: Option<String>,
    pub expires_at: Option<String>,
    pub allow_upload: bool,
    pub allow_download: bool,
    pub show_metadata: bool,
    pub created_at: String,
}

pub const LINK_COLUMNS: &str = "id, user_id, key, link_type, album_id, description, \
    password_hash, expires_at, allow_upload, allow_download, show_metadata, created_at";

impl SharedLink {
    pub fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        let t: String = r.get(3)?;
        Ok(Self {
            id: r.get(0)?,
            user_id: r.get(1)?,
            key: r.get(2)?,
            link_type: if t == "ALBUM" {
                LinkType::Album
            } else {
                LinkType::Individual
            },
            album_id: r.get(4)?,
            description: r.get(5)?,
            password_hash: r.get(6)?,
            expires_at: r.get(7)?,
            allow_upload: r.get(8)?,
            allow_download: r.get(9)?,
            show_metadata: r.get(10)?,
            created_at: r.get(11)?,
        })
    }

    /// Whether guests may download originals: the link allows it *and* shows metadata (an
    /// original carries its EXIF and GPS inside the file, so hiding metadata hides originals,
    /// as Immich's link dialog couples the two).
    pub fn may_download(&self) -> bool {
        self.allow_download && self.show_metadata
    }

    pub fn is_expired(&self) -> bool {
        self.expires_at
            .as_deref()
            .and_then(crate::clock::parse_client)
            .is_some_and(|t| t <= crate::clock::now())
    }

    /// The token that proves the password was given: bound to the server's secret, the link
    /// and its current password hash, so changing the password revokes every token.
    pub fn unlock_token(&self, secret: &str) -> String {
        let mut h = Sha256::new();
        h.update(b"shoebox-share-token\0");
        h.update(secret.as_bytes());
        h.update(b"\0");
        h.update(self.id.as_bytes());
        h.update(b"\0");
        h.update(self.password_hash.as_deref().unwrap_or("").as_bytes());
        URL_SAFE_NO_PAD.encode(h.finalize())
    }
}

/// The caller of an endpoint that guests may use too.
#[derive(Debug, Clone)]
pub enum Principal {
    User(User),
    /// A shared-link holder; `owner` is the user who made the link.
    Link {
        link: Box<SharedLink>,
        owner: Box<User>,
    },
}

impl Principal {
    /// The account uploads are stored under, and the link they are filed into (if a guest).
    pub fn uploader(&self) -> ApiResult<(&User, Option<&SharedLink>)> {
        match self {
            Principal::User(u) => Ok((u, None)),
            Principal::Link { link, owner } if link.allow_upload => Ok((owner, Some(link))),
            Principal::Link { .. } => Err(ApiError::Forbidden(
                "This shared link does not allow uploads".into(),
            )),
        }
    }
}

/// A shared-link key as the client presented it, and the unlock token if any.
pub struct LinkCredentials {
    pub key: String,
    pub token: Option<String>,
}

fn query_param(uri: &Uri, name: &str) -> Option<String> {
    let q = uri.query()?;
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or(""), 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The shared-link key of a request: `?key=` or `x-immich-share-key`, with the unlock token
/// from `?token=`, `x-immich-share-token` or the cookie.
pub fn link_credentials(uri: &Uri, headers: &HeaderMap) -> Option<LinkCredentials> {
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let key = query_param(uri, "key").or_else(|| header("x-immich-share-key"))?;
    let token = query_param(uri, "token")
        .or_else(|| header("x-immich-share-token"))
        .or_else(|| cookie(headers, LINK_TOKEN_COOKIE));
    Some(LinkCredentials { key, token })
}

/// Whether `key` could be a key this server made (alphanumeric, or base64url from older
/// versions; bounded): anything else is a 404 without touching the database.
pub fn plausible_key(key: &str) -> bool {
    (16..=128).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The per-data-directory secret behind unlock tokens.
pub fn share_secret(c: &Connection) -> rusqlite::Result<String> {
    let mut fresh = [0u8; 32];
    if getrandom::fill(&mut fresh).is_err() {
        return Err(rusqlite::Error::InvalidQuery);
    }
    c.execute(
        "INSERT OR IGNORE INTO server_meta (name, value) VALUES ('share_secret', ?1)",
        [hex::encode(fresh)],
    )?;
    c.query_row(
        "SELECT value FROM server_meta WHERE name = 'share_secret'",
        [],
        |r| r.get(0),
    )
}

/// Finds the live link with `key` and its owner: 404 for an unknown or revoked key (or an owner
/// who was deleted), 410 for an expired one. The password is not checked here.
pub fn find_link(c: &Connection, key: &str) -> ApiResult<(SharedLink, User)> {
    if !plausible_key(key) {
        return Err(ApiError::not_found("Shared link"));
    }
    let hash = crate::auth::secrets::hash(key);
    let sql = format!(
        "SELECT {}, {} FROM shared_links l JOIN users u ON u.id = l.user_id \
         WHERE l.key_hash = ?1 AND u.deleted_at IS NULL",
        crate::db::qualified(LINK_COLUMNS, "l"),
        crate::db::qualified(users::COLUMNS, "u"),
    );
    let found = optional(c.query_row(&sql, [&hash], |r| {
        Ok((SharedLink::from_row(r)?, User::from_row_offset(r, 12)?))
    }))?;
    let (link, owner) = found.ok_or_else(|| ApiError::not_found("Shared link"))?;
    // The lookup was by hash; compare the stored key in constant time all the same.
    if !bool::from(subtle::ConstantTimeEq::ct_eq(
        link.key.as_bytes(),
        key.as_bytes(),
    )) {
        return Err(ApiError::not_found("Shared link"));
    }
    if link.is_expired() {
        return Err(ApiError::Gone("This shared link has expired".into()));
    }
    Ok((link, owner))
}

/// Resolves link credentials to a principal; a password-protected link also needs its token.
pub async fn resolve_link(state: &AppState, creds: LinkCredentials) -> ApiResult<Principal> {
    let LinkCredentials { key, token } = creds;
    let (link, owner, secret) = state
        .db
        .call(move |c| {
            let (link, owner) = find_link(c, &key)?;
            let secret = share_secret(c)?;
            Ok((link, owner, secret))
        })
        .await?;
    if link.password_hash.is_some() {
        let expected = link.unlock_token(&secret);
        let ok = token.is_some_and(|t| {
            bool::from(subtle::ConstantTimeEq::ct_eq(
                t.as_bytes(),
                expected.as_bytes(),
            ))
        });
        if !ok {
            return Err(ApiError::Unauthorized(
                "This shared link needs its password".into(),
            ));
        }
    }
    Ok(Principal::Link {
        link: Box::new(link),
        owner: Box::new(owner),
    })
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match link_credentials(&parts.uri, &parts.headers) {
            Some(creds) => resolve_link(state, creds).await,
            None => Ok(Principal::User(
                Auth::from_request_parts(parts, state).await?.user,
            )),
        }
    }
}

/// What a non-owner may do with an asset it can see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Owner,
    Viewer {
        show_metadata: bool,
        allow_download: bool,
    },
}

/// An asset the caller may see, and how.
pub struct Granted {
    pub asset: Asset,
    pub level: Level,
}

impl Granted {
    /// The asset JSON this caller may see (EXIF, GPS and file names stripped when the link
    /// hides metadata).
    pub fn to_json(&self) -> Value {
        match self.level {
            Level::Viewer {
                show_metadata: false,
                ..
            } => sanitized_json(&self.asset),
            _ => self.asset.to_json(),
        }
    }

    pub fn may_download(&self) -> bool {
        match self.level {
            Level::Owner => true,
            Level::Viewer { allow_download, .. } => allow_download,
        }
    }
}

/// Immich's `SanitizedAssetResponseDto`: enough to lay out and show the photo, nothing else
/// (no checksum, owner, file name, EXIF, GPS or file dates; `localDateTime` places it).
pub fn sanitized_json(a: &Asset) -> Value {
    let full = a.to_json();
    json!({
        "id": a.id,
        "type": a.asset_type,
        "thumbhash": full["thumbhash"],
        "originalMimeType": a.mime_type,
        "localDateTime": a.local_date_time(),
        "duration": full["duration"],
        "livePhotoVideoId": null,
        "hasMetadata": false,
        "width": a.width,
        "height": a.height,
        "isFavorite": false,
        "isArchived": false,
        "isTrashed": false,
        "visibility": "timeline",
    })
}

/// Whether `asset` may be seen through `link` (it is in the link's album or its asset list,
/// and neither trashed nor locked).
fn link_covers(c: &Connection, link: &SharedLink, asset: &Asset) -> rusqlite::Result<bool> {
    if asset.deleted_at.is_some() || asset.visibility == "locked" || asset.owner_id != link.user_id
    {
        return Ok(false);
    }
    c.query_row(
        "SELECT EXISTS(SELECT 1 FROM album_assets WHERE album_id = ?1 AND asset_id = ?3) \
             OR EXISTS(SELECT 1 FROM shared_link_assets WHERE link_id = ?2 AND asset_id = ?3)",
        rusqlite::params![link.album_id, link.id, asset.id],
        |r| r.get(0),
    )
}

/// Whether `user` sees `asset` of another owner as a partner or through an album.
fn shared_with_user(c: &Connection, user: &str, asset: &Asset) -> rusqlite::Result<bool> {
    if asset.deleted_at.is_some() || asset.visibility == "locked" {
        return Ok(false);
    }
    c.query_row(
        "SELECT (?3 = 'timeline' AND EXISTS(SELECT 1 FROM partners \
                    WHERE shared_by = ?2 AND shared_with = ?1)) \
             OR EXISTS(SELECT 1 FROM album_assets x JOIN albums b ON b.id = x.album_id \
                    WHERE x.asset_id = ?4 AND (b.owner_id = ?1 OR EXISTS(SELECT 1 FROM album_users au \
                        WHERE au.album_id = b.id AND au.user_id = ?1)))",
        rusqlite::params![user, asset.owner_id, asset.visibility, asset.id],
        |r| r.get(0),
    )
}

/// Loads an asset if `p` may see it (404 otherwise), with its metadata.
pub fn asset(c: &Connection, p: &Principal, id: &str) -> ApiResult<Granted> {
    let sql = format!(
        "SELECT {} FROM assets a JOIN users u ON u.id = a.owner_id \
         WHERE a.id = ?1 AND u.deleted_at IS NULL",
        crate::db::qualified(assets::COLUMNS, "a")
    );
    let found = optional(c.query_row(&sql, [id], Asset::from_row))?;
    let asset = found.ok_or_else(|| ApiError::not_found("Asset"))?;
    let level = match p {
        Principal::User(u) if u.id == asset.owner_id => Some(Level::Owner),
        Principal::User(u) => shared_with_user(c, &u.id, &asset)?.then_some(Level::Viewer {
            show_metadata: true,
            allow_download: true,
        }),
        Principal::Link { link, .. } => link_covers(c, link, &asset)?.then_some(Level::Viewer {
            show_metadata: link.show_metadata,
            allow_download: link.may_download(),
        }),
    };
    let level = level.ok_or_else(|| ApiError::not_found("Asset"))?;
    let mut a = [asset];
    assets::attach_exif(c, &mut a)?;
    let [asset] = a;
    Ok(Granted { asset, level })
}

/// The caller's relation to an album.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlbumRole {
    Owner,
    Editor,
    Viewer,
    /// A guest holding a link to this album.
    Link,
}

impl AlbumRole {
    /// Whether this caller may add assets to the album.
    pub fn may_add(self) -> bool {
        matches!(self, AlbumRole::Owner | AlbumRole::Editor)
    }
}

/// How `p` relates to album `id`: 404 when it may not know the album exists.
pub fn album(c: &Connection, p: &Principal, id: &str) -> ApiResult<AlbumRole> {
    let role = match p {
        Principal::User(u) => optional(c.query_row(
            "SELECT CASE WHEN b.owner_id = ?2 THEN 'owner' ELSE \
                 (SELECT role FROM album_users au WHERE au.album_id = b.id AND au.user_id = ?2) END \
             FROM albums b JOIN users o ON o.id = b.owner_id \
             WHERE b.id = ?1 AND o.deleted_at IS NULL",
            [id, &u.id],
            |r| r.get::<_, Option<String>>(0),
        ))?
        .flatten()
        .and_then(|r| match r.as_str() {
            "owner" => Some(AlbumRole::Owner),
            "editor" => Some(AlbumRole::Editor),
            "viewer" => Some(AlbumRole::Viewer),
            _ => None,
        }),
        Principal::Link { link, .. } => {
            (link.album_id.as_deref() == Some(id)).then_some(AlbumRole::Link)
        }
    };
    role.ok_or_else(|| ApiError::not_found("Album"))
}

/// Whether `user` may see `other`'s library as a partner.
pub fn is_partner_of(c: &Connection, user: &str, other: &str) -> rusqlite::Result<bool> {
    c.query_row(
        "SELECT EXISTS(SELECT 1 FROM partners WHERE shared_by = ?1 AND shared_with = ?2)",
        [other, user],
        |r| r.get(0),
    )
}

/// Files a freshly uploaded asset into the link a guest uploaded through.
pub fn attach_to_link(c: &Connection, link: &SharedLink, asset_id: &str) -> rusqlite::Result<()> {
    let now = crate::clock::now_api();
    match (&link.link_type, &link.album_id) {
        (LinkType::Album, Some(album)) => {
            c.execute(
                "INSERT OR IGNORE INTO album_assets (album_id, asset_id, added_at) VALUES (?1, ?2, ?3)",
                rusqlite::params![album, asset_id, now],
            )?;
        }
        _ => {
            c.execute(
                "INSERT OR IGNORE INTO shared_link_assets (link_id, asset_id) VALUES (?1, ?2)",
                [&link.id, asset_id],
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked_before_the_database() {
        assert!(plausible_key(&"a".repeat(43)));
        assert!(!plausible_key("short"));
        assert!(!plausible_key(&"a".repeat(200)));
        assert!(!plausible_key(&format!("{}'--", "a".repeat(40))));
    }

    #[test]
    fn percent_decoding_is_total() {
        assert_eq!(percent_decode("a%2Db"), "a-b");
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("a+b"), "a b");
        assert_eq!(percent_decode("%4"), "%4");
    }
}
