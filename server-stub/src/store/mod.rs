//! The store owns the SQL. Each function takes the connection (so a caller can compose several
//! in one transaction), binds typed arguments, and returns typed rows or a [`StoreError`]; no
//! HTTP type appears here, and handlers never write SQL against the tables this module covers.
//!
//! New SQL goes here; older modules still hold some of theirs and move it here when touched.

pub mod api_keys;
pub mod assets;
pub mod faces;
pub mod snapshot;
pub mod system_metadata;

/// What can go wrong below the domain: the database refused, or its worker thread failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("database task: {0}")]
    Task(String),
}

pub type StoreResult<T> = Result<T, StoreError>;
