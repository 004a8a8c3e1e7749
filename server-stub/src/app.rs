//! The application: shared state handed to every handler, and the router that mounts each
//! module's routes under `/api` plus Immich's discovery document.

use crate::auth::rate_limit::Throttle;
use crate::config::Config;
use crate::db::Db;
use crate::routes;
use crate::storage::Storage;
use crate::upload;
use axum::Router;
use axum::routing::get;
use std::sync::Arc;
use tower_http::trace::TraceLayer;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub storage: Storage,
    pub config: Arc<Config>,
    /// Wrong-password backoff for logins and shared-link passwords.
    pub throttle: Arc<Throttle>,
    pub uploads: Arc<upload::tus::LiveUploads>,
    pub workers: Arc<crate::jobs::worker::Workers>,
    pub ml: Arc<crate::ml::Ml>,
}

/// Every route the server mounts, before the state is attached. Each (method, path) has its
/// access policy declared in [`crate::policy::POLICIES`]; a method without one answers 405.
pub fn routes() -> Router<AppState> {
    routes_with(true)
}

/// The routes, with or without tus at `/api/upload` (`--tus off` leaves it unmounted, so it
/// answers 404 as on a stock Immich server).
fn routes_with(tus: bool) -> Router<AppState> {
    let api = Router::new()
        .merge(routes::server_info::routes())
        .merge(routes::auth::routes())
        .merge(routes::api_keys::routes())
        .merge(routes::users::routes())
        .merge(routes::admin::routes())
        .merge(routes::stats::routes())
        .merge(routes::partners::routes())
        .merge(routes::people::routes())
        .merge(routes::shared_links::routes())
        .merge(routes::assets::routes())
        .merge(routes::albums::routes())
        .merge(routes::jobs::routes())
        .merge(routes::map::routes())
        .merge(routes::search::routes())
        .merge(routes::thumbnails::routes())
        .merge(routes::timeline::routes())
        .merge(routes::trash::routes())
        .merge(routes::devices::routes())
        .merge(routes::sync::routes())
        .merge(routes::system_metadata::routes());
    let api = if tus {
        api.merge(upload::tus::routes())
    } else {
        api
    };
    Router::new()
        .route("/.well-known/immich", get(routes::server_info::well_known))
        .merge(crate::web::share_page::routes())
        .nest("/api", api)
        .route_layer(axum::middleware::from_fn(crate::policy::require_declared))
        .fallback(routes::not_found)
        .layer(TraceLayer::new_for_http())
}

pub fn router(state: AppState) -> Router {
    routes_with(state.config.tus).with_state(state)
}
