//! Background work: a persistent job queue in the database ([`queue`]), a pool of workers with
//! bounded concurrency that drains it ([`worker`]), and the per-queue handlers ([`handlers`]).
//! Jobs are keyed by (queue, asset) and every handler is idempotent, so running a job twice
//! (after a crash, or a re-queue) is harmless.

pub mod faces;
pub mod handlers;
pub mod ml;
pub mod queue;
pub mod worker;

/// The queues, named as Immich names them in `GET /api/jobs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    MetadataExtraction,
    ThumbnailGeneration,
    /// GPS → city/state/country; queued by metadata extraction for assets with GPS.
    ReverseGeocoding,
    /// The search text and its embedding; queued after the jobs whose results it describes.
    SmartSearch,
    /// Faces on the preview: boxes, embeddings, and their people; queued by thumbnails.
    FaceDetection,
    /// Object and scene labels on the preview; queued by thumbnails.
    ObjectTagging,
}

impl Queue {
    pub const ALL: [Queue; 6] = [
        Queue::MetadataExtraction,
        Queue::ThumbnailGeneration,
        Queue::ReverseGeocoding,
        Queue::SmartSearch,
        Queue::FaceDetection,
        Queue::ObjectTagging,
    ];
    /// The queues that need the models (refused when ML is off).
    pub const ML: [Queue; 3] = [
        Queue::SmartSearch,
        Queue::FaceDetection,
        Queue::ObjectTagging,
    ];
    /// The queues every new asset starts in; the others are queued by these as they finish.
    pub const ENTRY: [Queue; 2] = [Queue::MetadataExtraction, Queue::ThumbnailGeneration];

    pub fn as_str(self) -> &'static str {
        match self {
            Queue::MetadataExtraction => "metadataExtraction",
            Queue::ThumbnailGeneration => "thumbnailGeneration",
            Queue::ReverseGeocoding => "reverseGeocoding",
            Queue::SmartSearch => "smartSearch",
            Queue::FaceDetection => "faceDetection",
            Queue::ObjectTagging => "objectTagging",
        }
    }

    pub fn parse(s: &str) -> Option<Queue> {
        Queue::ALL.into_iter().find(|q| q.as_str() == s)
    }
}

/// Why a job did not succeed. A permanent failure (a corrupt file) is recorded at once; a
/// transient one (I/O, a tool that could not start) is retried with backoff.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("{0}")]
    Permanent(String),
    #[error("{0}")]
    Transient(String),
}

impl From<crate::error::ApiError> for JobError {
    fn from(e: crate::error::ApiError) -> Self {
        JobError::Transient(e.to_string())
    }
}

impl From<std::io::Error> for JobError {
    fn from(e: std::io::Error) -> Self {
        JobError::Transient(format!("i/o: {e}"))
    }
}
