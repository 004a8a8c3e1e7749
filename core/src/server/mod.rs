//! The HTTP client for a Shoebox (or stock Immich) server's REST API: who am I, SHA-1 bulk
//! dedup check, albums, and the multipart upload used when the server has no tus endpoint.
//! Every non-success answer becomes a typed `CoreError`.

use crate::error::{CoreError, CoreResult};
use base64::Engine;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

#[derive(Clone)]
pub struct ServerApi {
    http: reqwest::Client,
    /// `https://host:port/api`
    api: String,
    key: String,
}

/// Immich's bulk check answers at most this many per request in its own CLI.
pub const BULK_CHECK_BATCH: usize = 1000;

impl ServerApi {
    /// `url` is the server address, with or without a trailing `/api`.
    pub fn new(url: &str, key: &str) -> CoreResult<Self> {
        let base = url.trim().trim_end_matches('/');
        let base = base.strip_suffix("/api").unwrap_or(base);
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(CoreError::Config(format!(
                "server address must start with http:// or https://: {url}"
            )));
        }
        if key.trim().is_empty() {
            return Err(CoreError::Auth("no API key given".into()));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(15))
            .read_timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| CoreError::Config(e.to_string()))?;
        Ok(Self {
            http,
            api: format!("{base}/api"),
            key: key.trim().to_owned(),
        })
    }

    /// Logs in with email and password and creates an API key named `key_name` for this
    /// client, so the password itself is never stored.
    pub async fn create_key_with_password(
        url: &str,
        email: &str,
        password: &str,
        key_name: &str,
    ) -> CoreResult<String> {
        let probe = Self::new(url, "login")?;
        #[derive(Deserialize)]
        struct Login {
            #[serde(rename = "accessToken")]
            access_token: String,
        }
        #[derive(Deserialize)]
        struct NewKey {
            secret: String,
        }
        let login: Login = probe
            .json(
                probe
                    .http
                    .post(format!("{}/auth/login", probe.api))
                    .json(&json!({"email": email, "password": password})),
            )
            .await?;
        let key: NewKey = probe
            .json(
                probe
                    .http
                    .post(format!("{}/api-keys", probe.api))
                    .bearer_auth(&login.access_token)
                    .json(&json!({"name": key_name, "permissions": ["all"]})),
            )
            .await?;
        Ok(key.secret)
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn api_url(&self) -> &str {
        &self.api
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.api))
            .header("x-api-key", &self.key)
    }

    pub fn unreachable(&self, e: reqwest::Error) -> CoreError {
        CoreError::ServerUnreachable {
            url: self.api.clone(),
            reason: e.to_string(),
        }
    }

    async fn send(&self, rb: RequestBuilder) -> CoreResult<Response> {
        let resp = rb.send().await.map_err(|e| self.unreachable(e))?;
        if resp.status().is_success() {
            Ok(resp)
        } else {
            Err(error_from(resp).await)
        }
    }

    async fn json<T: for<'de> Deserialize<'de>>(&self, rb: RequestBuilder) -> CoreResult<T> {
        self.send(rb)
            .await?
            .json()
            .await
            .map_err(|e| CoreError::Server {
                status: 200,
                message: format!("unexpected answer: {e}"),
            })
    }

    /// The logged-in user; proves the address and key work.
    pub async fn me(&self) -> CoreResult<Value> {
        self.json(self.req(Method::GET, "/users/me")).await
    }

    /// Whether the server speaks tus 1.0.0 at `/api/upload`.
    pub async fn supports_tus(&self) -> bool {
        let resp = self
            .http
            .request(Method::OPTIONS, self.upload_endpoint())
            .send()
            .await;
        matches!(resp, Ok(r) if r.status().is_success()
            && r.headers().get(crate::wire::TUS_VERSION_HEADER).and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.split(',').any(|s| s.trim() == crate::wire::TUS_VERSION)))
    }

    pub fn upload_endpoint(&self) -> String {
        format!("{}/upload", self.api)
    }

    /// For each (id, sha1): `Some(asset id)` when the server already has those bytes.
    pub async fn bulk_check(
        &self,
        items: &[(String, [u8; 20])],
    ) -> CoreResult<Vec<(String, Option<String>)>> {
        #[derive(Deserialize)]
        struct Item {
            id: String,
            action: String,
            #[serde(rename = "assetId")]
            asset_id: Option<String>,
        }
        #[derive(Deserialize)]
        struct Answer {
            results: Vec<Item>,
        }
        let mut out = Vec::with_capacity(items.len());
        for batch in items.chunks(BULK_CHECK_BATCH) {
            let assets: Vec<Value> = batch
                .iter()
                .map(|(id, sha)| json!({"id": id, "checksum": hex::encode(sha)}))
                .collect();
            let answer: Answer = self
                .json(
                    self.req(Method::POST, "/assets/bulk-upload-check")
                        .json(&json!({ "assets": assets })),
                )
                .await?;
            for item in answer.results {
                let dup = (item.action == "reject").then_some(item.asset_id).flatten();
                out.push((item.id, dup));
            }
        }
        Ok(out)
    }

    /// Which of this device's assets the server already has (Immich's `POST /api/assets/exist`),
    /// with the size, modification time and SHA-1 a Shoebox server adds, so a reinstalled app
    /// adopts what it backed up before without reading the files. Empty when the server does
    /// not say (a stock Immich answers only ids; an old server has no such endpoint).
    pub async fn exist(&self, device_id: &str, local_ids: &[String]) -> CoreResult<Vec<Existing>> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Item {
            device_asset_id: String,
            id: String,
            checksum: String,
            file_size: u64,
            file_modified_at: String,
        }
        #[derive(Deserialize)]
        struct Answer {
            #[serde(default)]
            assets: Vec<Item>,
        }
        let mut out = Vec::new();
        for batch in local_ids.chunks(BULK_CHECK_BATCH) {
            let resp = self
                .req(Method::POST, "/assets/exist")
                .json(&json!({"deviceId": device_id, "deviceAssetIds": batch}))
                .send()
                .await
                .map_err(|e| self.unreachable(e))?;
            if matches!(
                resp.status(),
                StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
            ) {
                return Ok(Vec::new());
            }
            if !resp.status().is_success() {
                return Err(error_from(resp).await);
            }
            let answer: Answer = resp.json().await.map_err(|e| CoreError::Server {
                status: 200,
                message: format!("unexpected answer: {e}"),
            })?;
            for item in answer.assets {
                let Some(sha1) = decode_sha1(&item.checksum) else {
                    continue;
                };
                let Ok(when) = chrono::DateTime::parse_from_rfc3339(&item.file_modified_at) else {
                    continue;
                };
                out.push(Existing {
                    local_id: item.device_asset_id,
                    remote_id: item.id,
                    sha1,
                    size: item.file_size,
                    modified_ms: when.timestamp_millis(),
                });
            }
        }
        Ok(out)
    }

    /// `GET` a JSON document under `/api`.
    pub async fn get_json<T: for<'de> Deserialize<'de>>(&self, path: &str) -> CoreResult<T> {
        self.json(self.req(Method::GET, path)).await
    }

    /// Ids of the assets in an album.
    pub async fn album_asset_ids(&self, album_id: &str) -> CoreResult<Vec<String>> {
        #[derive(Deserialize)]
        struct Asset {
            id: String,
        }
        #[derive(Deserialize)]
        struct Album {
            #[serde(default)]
            assets: Vec<Asset>,
        }
        let a: Album = self.get_json(&format!("/albums/{album_id}")).await?;
        Ok(a.assets.into_iter().map(|a| a.id).collect())
    }

    pub async fn set_favorite(&self, asset_id: &str, favorite: bool) -> CoreResult<()> {
        self.send(
            self.req(Method::PUT, "/assets")
                .json(&json!({"ids": [asset_id], "isFavorite": favorite})),
        )
        .await
        .map(|_| ())
    }

    /// Moves an asset to the server's trash.
    pub async fn trash(&self, asset_id: &str) -> CoreResult<()> {
        self.send(
            self.req(Method::DELETE, "/assets")
                .json(&json!({"ids": [asset_id]})),
        )
        .await
        .map(|_| ())
    }

    /// The bytes of an asset's `thumbnail` or `preview`.
    pub async fn thumbnail(&self, asset_id: &str, size: &str) -> CoreResult<bytes::Bytes> {
        self.send(self.req(
            Method::GET,
            &format!("/assets/{asset_id}/thumbnail?size={size}"),
        ))
        .await?
        .bytes()
        .await
        .map_err(|e| self.unreachable(e))
    }

    /// The user's albums: (id, name).
    pub async fn albums(&self) -> CoreResult<Vec<(String, String)>> {
        #[derive(Deserialize)]
        struct Album {
            id: String,
            #[serde(rename = "albumName")]
            album_name: String,
        }
        let albums: Vec<Album> = self.json(self.req(Method::GET, "/albums")).await?;
        Ok(albums.into_iter().map(|a| (a.id, a.album_name)).collect())
    }

    pub async fn create_album(&self, name: &str) -> CoreResult<String> {
        #[derive(Deserialize)]
        struct Created {
            id: String,
        }
        let c: Created = self
            .json(
                self.req(Method::POST, "/albums")
                    .json(&json!({ "albumName": name })),
            )
            .await?;
        Ok(c.id)
    }

    pub async fn add_to_album(&self, album_id: &str, asset_ids: &[String]) -> CoreResult<()> {
        for batch in asset_ids.chunks(BULK_CHECK_BATCH) {
            self.send(
                self.req(Method::PUT, &format!("/albums/{album_id}/assets"))
                    .json(&json!({ "ids": batch })),
            )
            .await?;
        }
        Ok(())
    }

    /// `POST /api/assets` with a streamed multipart body (for servers without tus). Returns the
    /// asset id and whether it was a duplicate.
    pub async fn upload_multipart(
        &self,
        file_name: &str,
        fields: &[(&str, String)],
        body: reqwest::Body,
        size: u64,
        sha1: &[u8; 20],
    ) -> CoreResult<(String, bool)> {
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in fields {
            form = form.text(k.to_string(), v.clone());
        }
        let part = reqwest::multipart::Part::stream_with_length(body, size)
            .file_name(file_name.to_owned())
            .mime_str("application/octet-stream")
            .map_err(|e| CoreError::Config(e.to_string()))?;
        form = form.part("assetData", part);
        #[derive(Deserialize)]
        struct Created {
            id: String,
            status: String,
        }
        let c: Created = self
            .json(
                self.req(Method::POST, "/assets")
                    .header(
                        "x-immich-checksum",
                        base64::engine::general_purpose::STANDARD.encode(sha1),
                    )
                    .multipart(form),
            )
            .await?;
        Ok((c.id, c.status == "duplicate"))
    }
}

/// One of this device's assets that the server has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Existing {
    pub local_id: String,
    pub remote_id: String,
    pub sha1: [u8; 20],
    pub size: u64,
    pub modified_ms: i64,
}

/// A SHA-1 as hex (40 characters) or base64 (Immich's spelling).
fn decode_sha1(s: &str) -> Option<[u8; 20]> {
    let bytes = if s.len() == 40 {
        hex::decode(s).ok()?
    } else {
        base64::engine::general_purpose::STANDARD.decode(s).ok()?
    };
    bytes.try_into().ok()
}

/// Turns an error answer into a typed error, with the server's message when it sent one.
pub async fn error_from(resp: Response) -> CoreError {
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    let message = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str().map(str::to_owned)))
        .unwrap_or_else(|| text.chars().take(200).collect());
    status_error(status, message)
}

pub fn status_error(status: StatusCode, message: String) -> CoreError {
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => CoreError::Auth(message),
        StatusCode::PAYLOAD_TOO_LARGE | StatusCode::INSUFFICIENT_STORAGE => {
            CoreError::QuotaExceeded(message)
        }
        s => CoreError::Server {
            status: s.as_u16(),
            message,
        },
    }
}
