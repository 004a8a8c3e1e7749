//! Browsing by month, as Immich's web and mobile apps do: `GET /api/timeline/buckets` (month
//! buckets with counts, newest first) and `GET /api/timeline/bucket?timeBucket=YYYY-MM-01`
//! (that month's assets, newest first, in Immich's columnar `TimeBucketAssetResponseDto`).
//! Both take the same filters: `albumId`, `isFavorite`, `isTrashed`, `visibility`, `deviceId`,
//! camera `make` / `model`, `personId` (photos of one of the caller's people) and `label` (ours:
//! an object label). Months are those of the asset's local (taken) time.

use crate::access::{self, Principal};
use crate::app::AppState;
use crate::assets::VISIBILITIES;
use crate::error::{ApiError, ApiResult};
use crate::ids;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use rusqlite::types::Value as Sql;
use serde::Deserialize;
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/timeline/buckets", get(buckets))
        .route("/timeline/bucket", get(bucket))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Filters {
    album_id: Option<String>,
    is_favorite: Option<bool>,
    is_trashed: Option<bool>,
    visibility: Option<String>,
    device_id: Option<String>,
    make: Option<String>,
    model: Option<String>,
    user_id: Option<String>,
    with_partners: Option<bool>,
    person_id: Option<String>,
    label: Option<String>,
    order: Option<String>,
    time_bucket: Option<String>,
}

/// A WHERE clause (over `assets a`) and its parameters, built from validated filters only.
struct Where {
    sql: String,
    params: Vec<Sql>,
    descending: bool,
    /// An album filter: the caller must be able to see the album (404 otherwise).
    album: Option<String>,
    /// `userId` of another user: the caller must be their partner (404 otherwise).
    partner: Option<String>,
    principal: Principal,
}

/// The checks `build` could not make without the database.
fn check_access(c: &rusqlite::Connection, w: &Where) -> ApiResult<()> {
    if let Some(album) = &w.album {
        access::album(c, &w.principal, album)?;
    }
    if let (Some(other), Principal::User(me)) = (&w.partner, &w.principal)
        && !access::is_partner_of(c, &me.id, other)?
    {
        return Err(ApiError::not_found("User"));
    }
    Ok(())
}

/// A scope's SQL, its parameters, the album to check and the partner to check.
type Scope = (String, Vec<Sql>, Option<String>, Option<String>);

/// Which assets the caller may browse, before the filters: their own (the default), a
/// partner's (`userId`), their own plus partners' (`withPartners`), an album they can see
/// (`albumId`), or what a shared link shares. Others' assets never include hidden, archived
/// (partners), locked or trashed ones.
fn scope(f: &Filters, p: &Principal) -> ApiResult<Scope> {
    let album = f
        .album_id
        .as_deref()
        .map(|a| ids::parse("albumId", a))
        .transpose()?;
    let me = match p {
        Principal::User(u) => u.id.clone(),
        Principal::Link { link, .. } => {
            let sql = "a.owner_id = ?1 AND a.deleted_at IS NULL AND a.visibility != 'locked' \
                 AND (a.id IN (SELECT x.asset_id FROM album_assets x WHERE x.album_id = ?2) \
                 OR a.id IN (SELECT s.asset_id FROM shared_link_assets s WHERE s.link_id = ?3))";
            let params = vec![
                Sql::Text(link.user_id.clone()),
                link.album_id.clone().map(Sql::Text).unwrap_or(Sql::Null),
                Sql::Text(link.id.clone()),
            ];
            return Ok((sql.into(), params, album, None));
        }
    };
    let mut params = vec![Sql::Text(me.clone())];
    if let Some(album) = album {
        params.push(Sql::Text(album.clone()));
        let sql = "a.id IN (SELECT x.asset_id FROM album_assets x WHERE x.album_id = ?2) \
             AND (a.owner_id = ?1 OR (a.deleted_at IS NULL AND a.visibility != 'locked'))";
        return Ok((sql.into(), params, Some(album), None));
    }
    if let Some(u) = &f.user_id {
        let other = ids::parse("userId", u)?;
        if other != me {
            let sql = "a.owner_id = ?1 AND a.visibility = 'timeline' AND a.deleted_at IS NULL";
            return Ok((
                sql.into(),
                vec![Sql::Text(other.clone())],
                None,
                Some(other),
            ));
        }
    }
    if f.with_partners == Some(true) {
        let sql = "(a.owner_id = ?1 OR (a.owner_id IN (SELECT p.shared_by FROM partners p \
             JOIN users u ON u.id = p.shared_by WHERE p.shared_with = ?1 AND p.in_timeline = 1 \
             AND u.deleted_at IS NULL) AND a.visibility = 'timeline' AND a.deleted_at IS NULL))";
        return Ok((sql.into(), params, None, None));
    }
    Ok(("a.owner_id = ?1".into(), params, None, None))
}

fn build(f: &Filters, p: &Principal) -> ApiResult<Where> {
    let (mut sql, mut params, album_filter, partner) = scope(f, p)?;
    if f.is_trashed == Some(true) {
        sql.push_str(" AND a.deleted_at IS NOT NULL");
    } else {
        sql.push_str(" AND a.deleted_at IS NULL");
    }
    match f.visibility.as_deref() {
        Some(v) if VISIBILITIES.contains(&v) => push(
            &mut sql,
            " AND a.visibility = ?#",
            Sql::Text(v.to_owned()),
            &mut params,
        ),
        Some(_) => {
            return Err(ApiError::bad_request(format!(
                "visibility must be one of {}",
                VISIBILITIES.join(", ")
            )));
        }
        // Immich's default: the timeline and the archive, not hidden or locked assets.
        None => sql.push_str(" AND a.visibility IN ('timeline', 'archive')"),
    }
    if let Some(fav) = f.is_favorite {
        push(
            &mut sql,
            " AND a.is_favorite = ?#",
            Sql::Integer(fav.into()),
            &mut params,
        );
    }
    for (field, value, column) in [
        ("deviceId", &f.device_id, "a.device_id"),
        (
            "make",
            &f.make,
            "(SELECT e.make FROM exif e WHERE e.asset_id = a.id)",
        ),
        (
            "model",
            &f.model,
            "(SELECT e.model FROM exif e WHERE e.asset_id = a.id)",
        ),
    ] {
        if let Some(v) = value {
            if v.len() > 255 || v.chars().any(char::is_control) {
                return Err(ApiError::bad_request(format!("{field} is not valid")));
            }
            push(
                &mut sql,
                &format!(" AND {column} = ?#"),
                Sql::Text(v.clone()),
                &mut params,
            );
        }
    }
    if let Some(person) = &f.person_id {
        // People are their owner's: only a signed-in user filters by them, and only by a person
        // of the library in scope (`?1` is its owner).
        if !matches!(p, Principal::User(_)) {
            return Err(ApiError::bad_request("personId needs a signed-in user"));
        }
        push(
            &mut sql,
            " AND a.id IN (SELECT x.asset_id FROM faces x WHERE x.person_id = ?# \
             AND x.owner_id = ?1)",
            Sql::Text(ids::parse("personId", person)?),
            &mut params,
        );
    }
    if let Some(label) = &f.label {
        if label.len() > 255 || label.chars().any(char::is_control) {
            return Err(ApiError::bad_request("label is not valid"));
        }
        push(
            &mut sql,
            " AND a.id IN (SELECT l.asset_id FROM asset_labels l WHERE l.label = ?#)",
            Sql::Text(label.clone()),
            &mut params,
        );
    }
    let descending = match f.order.as_deref() {
        None | Some("desc") => true,
        Some("asc") => false,
        Some(_) => return Err(ApiError::bad_request("order must be asc or desc")),
    };
    Ok(Where {
        sql,
        params,
        descending,
        album: album_filter,
        partner,
        principal: p.clone(),
    })
}

/// Appends `clause` with its one `?#` bound to `v`.
fn push(sql: &mut String, clause: &str, v: Sql, params: &mut Vec<Sql>) {
    params.push(v);
    sql.push_str(&clause.replace("?#", &format!("?{}", params.len())));
}

/// `2024-03-01` or `2024-03-01T00:00:00.000Z` → `2024-03`.
fn parse_bucket(raw: &str) -> ApiResult<String> {
    let bad = || ApiError::bad_request("timeBucket must be a date such as 2024-03-01");
    let month = raw.get(..7).ok_or_else(bad)?;
    let b = month.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if !(digits(0..4) && b[4] == b'-' && digits(5..7)) {
        return Err(bad());
    }
    let m: u32 = month[5..7].parse().map_err(|_| bad())?;
    if !(1..=12).contains(&m) || raw.len() > 40 {
        return Err(bad());
    }
    let rest = &raw[7..];
    if !(rest.is_empty() || rest.starts_with('-')) {
        return Err(bad());
    }
    Ok(month.to_owned())
}

async fn buckets(
    State(state): State<AppState>,
    principal: Principal,
    query: Result<Query<Filters>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(f) = query?;
    let w = build(&f, &principal)?;
    let dir = if w.descending { "DESC" } else { "ASC" };
    let rows = state
        .db
        .call(move |c| {
            check_access(c, &w)?;
            let sql = format!(
                "SELECT substr(a.local_date_time, 1, 7) AS m, COUNT(*) FROM assets a \
                 WHERE {} GROUP BY m ORDER BY m {dir}",
                w.sql
            );
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(w.params.iter()), |r| {
                Ok((r.get::<_, Option<String>>(0)?, r.get::<_, i64>(1)?))
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await?;
    let out: Vec<Value> = rows
        .into_iter()
        .filter_map(|(m, n)| m.map(|m| json!({"timeBucket": format!("{m}-01"), "count": n})))
        .collect();
    Ok(Json(Value::Array(out)))
}

/// One row of a bucket, before it is turned into columns.
struct Row {
    id: String,
    owner_id: String,
    asset_type: String,
    is_favorite: bool,
    visibility: String,
    trashed: bool,
    thumbhash: Option<Vec<u8>>,
    file_created_at: String,
    local_date_time: String,
    created_at: String,
    duration: Option<String>,
    width: Option<i64>,
    height: Option<i64>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    city: Option<String>,
    country: Option<String>,
}

async fn bucket(
    State(state): State<AppState>,
    principal: Principal,
    query: Result<Query<Filters>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(f) = query?;
    let month = parse_bucket(
        f.time_bucket
            .as_deref()
            .ok_or_else(|| ApiError::bad_request("timeBucket is required"))?,
    )?;
    // A link that hides metadata shows no owner and no GPS.
    let withhold = matches!(&principal, Principal::Link { link, .. } if !link.show_metadata);
    let mut w = build(&f, &principal)?;
    w.params.push(Sql::Text(month));
    let dir = if w.descending { "DESC" } else { "ASC" };
    let rows = state
        .db
        .call(move |c| {
            check_access(c, &w)?;
            let sql = format!(
                "SELECT a.id, a.owner_id, a.asset_type, a.is_favorite, a.visibility, \
                 a.deleted_at IS NOT NULL, a.thumbhash, a.file_created_at, \
                 COALESCE(a.local_date_time, a.file_created_at), a.created_at, a.duration, \
                 a.width, a.height, e.latitude, e.longitude, e.city, e.country \
                 FROM assets a LEFT JOIN exif e ON e.asset_id = a.id \
                 WHERE {} AND substr(a.local_date_time, 1, 7) = ?{} \
                 ORDER BY a.local_date_time {dir}, a.id {dir}",
                w.sql,
                w.params.len()
            );
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(w.params.iter()), |r| {
                Ok(Row {
                    id: r.get(0)?,
                    owner_id: r.get(1)?,
                    asset_type: r.get(2)?,
                    is_favorite: r.get(3)?,
                    visibility: r.get(4)?,
                    trashed: r.get(5)?,
                    thumbhash: r.get(6)?,
                    file_created_at: r.get(7)?,
                    local_date_time: r.get(8)?,
                    created_at: r.get(9)?,
                    duration: r.get(10)?,
                    width: r.get(11)?,
                    height: r.get(12)?,
                    latitude: r.get(13)?,
                    longitude: r.get(14)?,
                    city: r.get(15)?,
                    country: r.get(16)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await?;
    Ok(Json(columns(&rows, withhold)))
}

fn offset_hours(utc: &str, local: &str) -> f64 {
    match (
        chrono::DateTime::parse_from_rfc3339(utc),
        chrono::DateTime::parse_from_rfc3339(local),
    ) {
        (Ok(u), Ok(l)) => (l.timestamp() - u.timestamp()) as f64 / 3600.0,
        _ => 0.0,
    }
}

/// `H:MM:SS.ffffff` → milliseconds.
fn duration_ms(d: &str) -> Option<i64> {
    let mut parts = d.split(':');
    let h: f64 = parts.next()?.parse().ok()?;
    let m: f64 = parts.next()?.parse().ok()?;
    let s: f64 = parts.next()?.parse().ok()?;
    let ms = ((h * 3600.0 + m * 60.0 + s) * 1000.0).round();
    (ms.is_finite() && ms > 0.0).then_some(ms as i64)
}

/// Immich's `TimeBucketAssetResponseDto`; `withhold` empties owner ids, GPS and places.
fn columns(rows: &[Row], withhold: bool) -> Value {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let col = |f: &dyn Fn(&Row) -> Value| Value::Array(rows.iter().map(f).collect());
    json!({
        "id": col(&|r| json!(r.id)),
        "ownerId": col(&|r| json!(if withhold { "" } else { r.owner_id.as_str() })),
        "ratio": col(&|r| json!(match (r.width, r.height) {
            (Some(w), Some(h)) if w > 0 && h > 0 => w as f64 / h as f64,
            _ => 1.0,
        })),
        "isFavorite": col(&|r| json!(r.is_favorite)),
        "isImage": col(&|r| json!(r.asset_type == "IMAGE")),
        "isTrashed": col(&|r| json!(r.trashed)),
        "visibility": col(&|r| json!(r.visibility)),
        "thumbhash": col(&|r| json!(r.thumbhash.as_ref().map(|h| b64.encode(h)))),
        "fileCreatedAt": col(&|r| json!(r.file_created_at)),
        "localOffsetHours": col(&|r| json!(offset_hours(&r.file_created_at, &r.local_date_time))),
        "createdAt": col(&|r| json!(r.created_at)),
        "duration": col(&|r| json!(if r.asset_type == "VIDEO" {
            r.duration.as_deref().and_then(duration_ms)
        } else {
            None
        })),
        "projectionType": col(&|_| Value::Null),
        "livePhotoVideoId": col(&|_| Value::Null),
        "city": col(&|r| json!(if withhold { None } else { r.city.as_deref() })),
        "country": col(&|r| json!(if withhold { None } else { r.country.as_deref() })),
        "latitude": col(&|r| json!(if withhold { None } else { r.latitude })),
        "longitude": col(&|r| json!(if withhold { None } else { r.longitude })),
        "stack": col(&|_| Value::Null),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_are_strict() {
        assert_eq!(parse_bucket("2024-03-01").unwrap(), "2024-03");
        assert_eq!(parse_bucket("2024-03-01T00:00:00.000Z").unwrap(), "2024-03");
        for bad in [
            "",
            "2024",
            "2024-13-01",
            "2024-00-01",
            "abcd-ef-gh",
            "2024-03x",
            "2024/03/01",
        ] {
            assert!(parse_bucket(bad).is_err(), "{bad}");
        }
        assert!(parse_bucket("2024-0é-01").is_err());
        assert_eq!(duration_ms("0:00:02.500000"), Some(2500));
        assert_eq!(duration_ms("junk"), None);
        assert_eq!(
            offset_hours("2024-03-01T09:00:00Z", "2024-03-01T10:30:00Z"),
            1.5
        );
    }
}
