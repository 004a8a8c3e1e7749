//! The rten side of the vision models: loading an `.onnx` file, running it on the shared,
//! size-capped thread pool, and turning an RGB image into the input tensor a model wants
//! (stretched or letterboxed resize, NCHW or NHWC, `(pixel - mean) / std`).

use super::VisionError;
use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::RgbImage;
use rten::{Model, NodeId, RunOptions, ThreadPool};
use rten_tensor::prelude::*;
use rten_tensor::{NdTensor, Tensor};
use std::path::Path;
use std::sync::Arc;

/// One loaded ONNX model and the pool it runs on.
pub struct Net {
    model: Model,
    name: String,
    input: NodeId,
    pool: Arc<ThreadPool>,
}

/// A model output: its graph name, shape and values in row-major order.
pub struct Output {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl Net {
    /// Loads `path`; a missing file is [`VisionError::Missing`] (the fix is `make models`).
    pub fn load(path: &Path, pool: Arc<ThreadPool>) -> Result<Self, VisionError> {
        let missing = |reason: String| VisionError::Missing {
            path: path.display().to_string(),
            reason,
        };
        let meta = std::fs::metadata(path).map_err(|e| missing(e.to_string()))?;
        if !meta.is_file() {
            return Err(missing("not a file".into()));
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let model = Model::load_file(path)
            .map_err(|e| VisionError::Model(format!("loading {name}: {e}")))?;
        let input = *model
            .input_ids()
            .first()
            .ok_or_else(|| VisionError::Model(format!("{name} has no input")))?;
        tracing::debug!(model = %name, outputs = ?Self::names(&model), "vision model loaded");
        Ok(Self {
            model,
            name,
            input,
            pool,
        })
    }

    fn names(model: &Model) -> Vec<String> {
        model
            .output_ids()
            .iter()
            .map(|id| {
                model
                    .node_info(*id)
                    .and_then(|n| n.name())
                    .unwrap_or("?")
                    .to_string()
            })
            .collect()
    }

    /// Runs the model on `input` and returns every output, in the graph's output order.
    pub fn run(&self, input: NdTensor<f32, 4>) -> Result<Vec<Output>, VisionError> {
        let ids = self.model.output_ids().to_vec();
        let names = Self::names(&self.model);
        let opts = RunOptions::default().with_thread_pool(Some(self.pool.clone()));
        let values = self
            .model
            .run(vec![(self.input, input.into())], &ids, Some(opts))
            .map_err(|e| VisionError::Model(format!("running {}: {e}", self.name)))?;
        values
            .into_iter()
            .zip(names)
            .map(|(v, name)| {
                let t: Tensor<f32> = v
                    .try_into()
                    .map_err(|e| VisionError::Model(format!("{} output {name}: {e}", self.name)))?;
                Ok(Output {
                    name,
                    shape: t.shape().to_vec(),
                    data: t.to_vec(),
                })
            })
            .collect()
    }
}

/// Resizes `img` to exactly `w`×`h` (bilinear; aspect ratio not kept).
pub fn resize(img: &RgbImage, w: u32, h: u32) -> Result<RgbImage, VisionError> {
    if img.dimensions() == (w, h) {
        return Ok(img.clone());
    }
    let bad = |e: &dyn std::fmt::Display| VisionError::Image(format!("resize: {e}"));
    let src = ImageRef::new(img.width(), img.height(), img.as_raw(), PixelType::U8x3)
        .map_err(|e| bad(&e))?;
    let mut dst = Image::new(w, h, PixelType::U8x3);
    Resizer::new()
        .resize(
            &src,
            &mut dst,
            &ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear)),
        )
        .map_err(|e| bad(&e))?;
    RgbImage::from_raw(w, h, dst.into_vec()).ok_or_else(|| bad(&"bad pixel buffer"))
}

/// `img` scaled so its long side is `size`, placed in a black `size`×`size` square: at the
/// top-left, or centred when `centre`. Returns the square and the scale (model pixels per image
/// pixel); with `centre` the offset is `((size − w·scale) / 2, (size − h·scale) / 2)`.
pub fn letterbox(img: &RgbImage, size: u32, centre: bool) -> Result<(RgbImage, f32), VisionError> {
    let (w, h) = img.dimensions();
    if w == 0 || h == 0 {
        return Err(VisionError::Image("empty image".into()));
    }
    let scale = size as f32 / w.max(h) as f32;
    let sw = ((w as f32 * scale).round() as u32).clamp(1, size);
    let sh = ((h as f32 * scale).round() as u32).clamp(1, size);
    let scaled = resize(img, sw, sh)?;
    let mut square = RgbImage::new(size, size);
    let (x, y) = if centre {
        ((size - sw) / 2, (size - sh) / 2)
    } else {
        (0, 0)
    };
    image::imageops::replace(&mut square, &scaled, x as i64, y as i64);
    // The scale actually applied per axis differs from `scale` by rounding; use the mean.
    let applied = (sw as f32 / w as f32 + sh as f32 / h as f32) / 2.0;
    Ok((square, applied))
}

/// `[1, 3, H, W]` with `(pixel - mean) / std`, RGB planes.
pub fn nchw(img: &RgbImage, mean: f32, std: f32) -> NdTensor<f32, 4> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let plane = w * h;
    let mut data = vec![0f32; 3 * plane];
    for (i, px) in img.as_raw().chunks_exact(3).enumerate() {
        for c in 0..3 {
            data[c * plane + i] = (px[c] as f32 - mean) / std;
        }
    }
    NdTensor::from_data([1, 3, h, w], data)
}

/// `[N, 3, H, W]` of same-sized images, each as [`nchw`] makes it.
pub fn nchw_batch(imgs: &[RgbImage], mean: f32, std: f32) -> Result<NdTensor<f32, 4>, VisionError> {
    let Some(first) = imgs.first() else {
        return Err(VisionError::Image("empty batch".into()));
    };
    let (w, h) = first.dimensions();
    let mut data = Vec::with_capacity(imgs.len() * 3 * (w * h) as usize);
    for img in imgs {
        if img.dimensions() != (w, h) {
            return Err(VisionError::Image("batch images differ in size".into()));
        }
        data.extend(nchw(img, mean, std).into_data());
    }
    Ok(NdTensor::from_data(
        [imgs.len(), 3, h as usize, w as usize],
        data,
    ))
}

/// `[1, 3, H, W]` with B, G, R planes, each `(pixel - mean[c]) / std[c]` (`mean`, `std` in
/// B, G, R order).
pub fn nchw_bgr(img: &RgbImage, mean: [f32; 3], std: [f32; 3]) -> NdTensor<f32, 4> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let plane = w * h;
    let mut data = vec![0f32; 3 * plane];
    for (i, px) in img.as_raw().chunks_exact(3).enumerate() {
        for c in 0..3 {
            data[c * plane + i] = (px[2 - c] as f32 - mean[c]) / std[c];
        }
    }
    NdTensor::from_data([1, 3, h, w], data)
}

/// `[1, H, W, 3]` with `(pixel - mean) / std`.
pub fn nhwc(img: &RgbImage, mean: f32, std: f32) -> NdTensor<f32, 4> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let data: Vec<f32> = img
        .as_raw()
        .iter()
        .map(|&v| (v as f32 - mean) / std)
        .collect();
    NdTensor::from_data([1, h, w, 3], data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letterbox_keeps_aspect_and_pads_black() {
        let img = RgbImage::from_pixel(200, 100, image::Rgb([200, 100, 50]));
        let (sq, scale) = letterbox(&img, 64, false).unwrap();
        assert_eq!(sq.dimensions(), (64, 64));
        assert!((scale - 0.32).abs() < 1e-3, "{scale}");
        assert_eq!(sq.get_pixel(10, 10).0, [200, 100, 50]);
        assert_eq!(sq.get_pixel(10, 40).0, [0, 0, 0]);
        let t = nchw(&sq, 127.5, 128.0);
        assert_eq!(t.shape(), [1, 3, 64, 64]);
        assert!((t[[0, 0, 10, 10]] - (200.0 - 127.5) / 128.0).abs() < 1e-6);
        assert!((t[[0, 2, 10, 10]] - (50.0 - 127.5) / 128.0).abs() < 1e-6);
        let t = nchw_bgr(&sq, [1.0, 2.0, 3.0], [2.0, 2.0, 2.0]);
        assert_eq!(t[[0, 0, 10, 10]], (50.0 - 1.0) / 2.0);
        assert_eq!(t[[0, 2, 10, 10]], (200.0 - 3.0) / 2.0);
        let (sq, _) = letterbox(&img, 64, true).unwrap();
        assert_eq!(sq.get_pixel(10, 5).0, [0, 0, 0]);
        assert_eq!(sq.get_pixel(10, 32).0, [200, 100, 50]);
        let t = nhwc(&sq, 127.5, 127.5);
        assert_eq!(t.shape(), [1, 64, 64, 3]);
        assert!((t[[0, 32, 10, 1]] - (100.0 - 127.5) / 127.5).abs() < 1e-6);
    }
}
