//! A tus 1.0.0 client: create (with `Upload-Metadata`), HEAD for the server's offset, PATCH a
//! chunk, terminate. It speaks plain tus, so it works against any tus server (the npm
//! `@tus/server` reference included); Shoebox's asset headers are read when present.

use crate::error::{CoreError, CoreResult};
use crate::server::{error_from, status_error};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::HeaderMap;
use reqwest::{Method, Response, StatusCode, Url};
use std::time::Duration;

use crate::wire::{
    ASSET_ID, ASSET_STATUS, PATCH_CONTENT_TYPE, TUS_RESUMABLE, TUS_VERSION, UPLOAD_LENGTH,
    UPLOAD_METADATA, UPLOAD_OFFSET,
};

#[derive(Clone)]
pub struct TusClient {
    http: reqwest::Client,
    endpoint: Url,
    headers: HeaderMap,
}

/// The asset an upload became (Shoebox servers say so on the last PATCH and on HEAD).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub asset_id: String,
    pub duplicate: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    pub url: String,
    pub offset: u64,
    pub finished: Option<Finished>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub offset: u64,
    pub length: Option<u64>,
    pub finished: Option<Finished>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Patched {
    /// 204: the server now holds `offset` bytes.
    Advanced {
        offset: u64,
        finished: Option<Finished>,
    },
    /// 409: our offset was wrong; ask HEAD.
    OffsetMismatch,
    /// 413: the chunk was too large for the server (or a proxy).
    TooLarge,
    /// 460: the chunk arrived corrupted and was discarded.
    ChecksumMismatch,
    /// 404/410: the upload expired or was removed; start again.
    Gone,
}

impl TusClient {
    pub fn new(http: reqwest::Client, endpoint: &str, headers: HeaderMap) -> CoreResult<Self> {
        let endpoint = Url::parse(endpoint)
            .map_err(|e| CoreError::Config(format!("bad upload endpoint {endpoint}: {e}")))?;
        Ok(Self {
            http,
            endpoint,
            headers,
        })
    }

    fn req(&self, method: Method, url: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, url)
            .headers(self.headers.clone())
            .header(TUS_RESUMABLE, TUS_VERSION)
    }

    fn unreachable(&self, e: reqwest::Error) -> CoreError {
        CoreError::ServerUnreachable {
            url: self.endpoint.to_string(),
            reason: e.to_string(),
        }
    }

    /// `POST` a new upload of `length` bytes. The URL comes back before any byte is sent, so the
    /// caller can persist it first.
    pub async fn create(&self, length: u64, metadata: &[(&str, String)]) -> CoreResult<Created> {
        let meta = metadata
            .iter()
            .map(|(k, v)| format!("{k} {}", STANDARD.encode(v)))
            .collect::<Vec<_>>()
            .join(",");
        let resp = self
            .req(Method::POST, self.endpoint.as_str())
            .header(UPLOAD_LENGTH, length)
            .header(UPLOAD_METADATA, meta)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        if resp.status() != StatusCode::CREATED {
            return Err(error_from(resp).await);
        }
        let location = header(&resp, "location").ok_or_else(|| CoreError::Server {
            status: 201,
            message: "tus creation answered without a Location".into(),
        })?;
        let url = self
            .endpoint
            .join(&location)
            .map_err(|e| CoreError::Server {
                status: 201,
                message: format!("bad Location {location}: {e}"),
            })?
            .to_string();
        Ok(Created {
            url,
            offset: header_u64(&resp, UPLOAD_OFFSET).unwrap_or(0),
            finished: finished(&resp),
        })
    }

    /// The server's view of an upload; `None` when it no longer exists.
    pub async fn head(&self, url: &str) -> CoreResult<Option<Head>> {
        let resp = self
            .req(Method::HEAD, url)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        match resp.status() {
            s if s.is_success() => {
                let offset = header_u64(&resp, UPLOAD_OFFSET).ok_or_else(|| CoreError::Server {
                    status: s.as_u16(),
                    message: "HEAD answered without Upload-Offset".into(),
                })?;
                Ok(Some(Head {
                    offset,
                    length: header_u64(&resp, UPLOAD_LENGTH),
                    finished: finished(&resp),
                }))
            }
            StatusCode::NOT_FOUND | StatusCode::GONE | StatusCode::FORBIDDEN => Ok(None),
            s => Err(status_error(s, "HEAD failed".into())),
        }
    }

    /// `PATCH` `len` bytes of `body` at `offset`.
    pub async fn patch(
        &self,
        url: &str,
        offset: u64,
        len: u64,
        body: reqwest::Body,
    ) -> CoreResult<Patched> {
        let resp = self
            .req(Method::PATCH, url)
            .header(UPLOAD_OFFSET, offset)
            .header("content-type", PATCH_CONTENT_TYPE)
            .header("content-length", len)
            .body(body)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        match resp.status().as_u16() {
            200 | 204 => {
                let offset = header_u64(&resp, UPLOAD_OFFSET).ok_or_else(|| CoreError::Server {
                    status: 204,
                    message: "PATCH answered without Upload-Offset".into(),
                })?;
                Ok(Patched::Advanced {
                    offset,
                    finished: finished(&resp),
                })
            }
            409 => Ok(Patched::OffsetMismatch),
            413 => Ok(Patched::TooLarge),
            460 => Ok(Patched::ChecksumMismatch),
            404 | 410 => Ok(Patched::Gone),
            _ => Err(error_from(resp).await),
        }
    }

    /// Best-effort `DELETE` of an upload we will not finish.
    pub async fn terminate(&self, url: &str) {
        if let Err(e) = self.req(Method::DELETE, url).send().await {
            tracing::debug!(%url, %e, "terminating an upload failed");
        }
    }
}

fn header(resp: &Response, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn header_u64(resp: &Response, name: &str) -> Option<u64> {
    header(resp, name).and_then(|v| v.trim().parse().ok())
}

fn finished(resp: &Response) -> Option<Finished> {
    let asset_id = header(resp, ASSET_ID)?;
    let duplicate = header(resp, ASSET_STATUS).is_some_and(|s| s == "duplicate");
    Some(Finished {
        asset_id,
        duplicate,
    })
}
