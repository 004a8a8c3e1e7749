//! `shoebox-server analyze [--detector scrfd|blazeface] FILE...`: the per-photo ML pipeline
//! of the server, timed stage by stage, for benchmarks (`benches/ml`) and debugging. Each FILE
//! gets the thumbnail job's preview (`media::thumbs::render`: decode, 1440-px resize, JPEG),
//! which is decoded again as the ML jobs do, then faces (with their JPEG person thumbnails),
//! labels and the MiniLM embedding of a caption made from them. One JSON line per file on
//! stdout, with wall and CPU (user + system, all threads) milliseconds per stage, the labels,
//! and each face's box, landmarks and best match (cosine) among the faces of the files before
//! it; a last line sums up. Models are loaded and warmed up before the first file.

use crate::media::thumbs;
use crate::ml::{self, Ml};
use anyhow::{Context, Result};
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

use super::{DetectedFace, FaceDetectorKind, Label, cosine, face_crop_jpeg};

/// Side of the person thumbnail, as the face job makes it.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Face detector.
    #[arg(long, env = "SHOEBOX_FACE_DETECTOR", default_value = "scrfd",
          value_parser = FaceDetectorKind::parse)]
    detector: FaceDetectorKind,
    /// Model directory (default: the server's).
    #[arg(long, env = "SHOEBOX_MODELS")]
    models: Option<PathBuf>,
    /// Threads the models compute on (default: the server's).
    #[arg(long, env = "SHOEBOX_ML_THREADS")]
    threads: Option<usize>,
    files: Vec<PathBuf>,
}

/// Process CPU time (user + system, every thread) in ms.
fn cpu_ms() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given; RUSAGE_SELF is always valid.
    let usage = unsafe {
        if libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) != 0 {
            return 0.0;
        }
        usage.assume_init()
    };
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1e3 + t.tv_usec as f64 / 1e3;
    ms(usage.ru_utime) + ms(usage.ru_stime)
}

/// Runs `f`, returning its result with wall and CPU milliseconds.
fn timed<T>(f: impl FnOnce() -> T) -> (T, f64, f64) {
    let (wall, cpu) = (Instant::now(), cpu_ms());
    let out = f();
    (out, wall.elapsed().as_secs_f64() * 1e3, cpu_ms() - cpu)
}

/// To 0.1 (milliseconds, pixels).
fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// To 0.01 (scores, cosines), printed without float noise.
fn round2(v: f32) -> f64 {
    format!("{v:.2}").parse().unwrap_or(0.0)
}

pub fn run(args: &Args) -> Result<()> {
    let threads = args.threads.unwrap_or_else(ml::default_threads);
    let dir = args.models.clone().unwrap_or_else(ml::default_dir);
    let ml = Ml::new(true, dir, threads).with_face_detector(args.detector);
    let loading = Instant::now();
    let faces = ml.faces().map_err(anyhow::Error::msg)?;
    let objects = ml.objects().map_err(anyhow::Error::msg)?;
    let embedder = ml.embedder().map_err(anyhow::Error::msg)?;
    // The first run of each model allocates its buffers; keep that out of the numbers.
    let warm = image::RgbImage::from_pixel(320, 240, image::Rgb([120, 120, 120]));
    faces.analyze(&warm)?;
    objects.labels(&warm)?;
    embedder.embed("warm up")?;
    eprintln!(
        "analyze: {} + w600k_mbf, nanodet, minilm on {threads} thread(s); loaded and warmed up in {:.0} ms",
        args.detector.as_str(),
        loading.elapsed().as_secs_f64() * 1e3
    );
    let scratch = tempfile_dir()?;
    let (mut count, mut failed, mut ml_total, mut cpu_total) = (0usize, 0usize, 0.0, 0.0);
    // Every face seen so far, to show which earlier face each new one would match.
    let mut seen: Vec<(String, Vec<f32>)> = Vec::new();
    let started = Instant::now();
    for file in &args.files {
        let result = (|| -> Result<serde_json::Value> {
            let (rendered, render_ms, render_cpu) = timed(|| thumbs::render(file, false, &scratch));
            let rendered = rendered.map_err(|e| anyhow::anyhow!("{e}"))?;
            let (img, decode_ms, decode_cpu) =
                timed(|| image::load_from_memory(&rendered.preview.bytes).map(|i| i.to_rgb8()));
            let img = img.context("decoding the preview")?;
            let (found, faces_ms, faces_cpu) = timed(|| ml.bounded(|| faces.analyze(&img)));
            let found = found?;
            // The face job also stores a JPEG person thumbnail of every face.
            let (crops, crops_ms, crops_cpu) = timed(|| -> Result<usize> {
                let mut bytes = 0;
                for f in &found {
                    bytes += face_crop_jpeg(&img, f.bbox)?.len();
                }
                Ok(bytes)
            });
            crops?;
            let (labels, labels_ms, labels_cpu) = timed(|| ml.bounded(|| objects.labels(&img)));
            let labels = labels?;
            let names = names(&labels);
            let caption = format!(
                "A photo with {} and {} face(s), taken in Paris, France",
                if names.is_empty() {
                    "nothing recognised".to_string()
                } else {
                    names.join(", ")
                },
                found.len()
            );
            let (vector, caption_ms, caption_cpu) =
                timed(|| ml.bounded(|| embedder.embed(&caption)));
            vector?;
            let ml_ms = decode_ms + faces_ms + crops_ms + labels_ms + caption_ms;
            let ml_cpu = decode_cpu + faces_cpu + crops_cpu + labels_cpu + caption_cpu;
            ml_total += ml_ms;
            cpu_total += ml_cpu;
            let name = file.display().to_string();
            let detail: Vec<_> = found.iter().map(|f| face_json(f, &seen)).collect();
            seen.extend(found.iter().map(|f| (name.clone(), f.embedding.clone())));
            Ok(json!({
                "file": name,
                "face_model": faces.model_name(),
                "threads": threads,
                "width": img.width(),
                "height": img.height(),
                "render_ms": round(render_ms),
                "decode_ms": round(decode_ms),
                "faces_ms": round(faces_ms),
                "crops_ms": round(crops_ms),
                "labels_ms": round(labels_ms),
                "caption_ms": round(caption_ms),
                "ml_ms": round(ml_ms),
                "render_cpu_ms": round(render_cpu),
                "decode_cpu_ms": round(decode_cpu),
                "faces_cpu_ms": round(faces_cpu),
                "crops_cpu_ms": round(crops_cpu),
                "labels_cpu_ms": round(labels_cpu),
                "caption_cpu_ms": round(caption_cpu),
                "ml_cpu_ms": round(ml_cpu),
                "faces": found.len(),
                "labels": labels.iter().map(|l| json!({"name": l.name, "score": round2(l.score)})).collect::<Vec<_>>(),
                "face_detail": detail,
            }))
        })();
        match result {
            Ok(line) => {
                println!("{line}");
                count += 1;
            }
            Err(e) => {
                eprintln!("{}: {e:#}", file.display());
                failed += 1;
            }
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    if count > 0 {
        let mean = ml_total / count as f64;
        println!(
            "{}",
            json!({
                "summary": true,
                "face_model": faces.model_name(),
                "threads": threads,
                "images": count,
                "wall_s": round(started.elapsed().as_secs_f64()),
                "ml_ms_mean": round(mean),
                "ml_cpu_ms_mean": round(cpu_total / count as f64),
                "ml_photos_per_minute": round(60_000.0 / mean),
            })
        );
    }
    match failed {
        0 => Ok(()),
        n => anyhow::bail!("{n} file(s) failed"),
    }
}

/// A face's box, landmarks and the earlier face it is most similar to.
fn face_json(f: &DetectedFace, seen: &[(String, Vec<f32>)]) -> serde_json::Value {
    let best = seen
        .iter()
        .map(|(file, e)| (file, cosine(e, &f.embedding)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    json!({
        "bbox": f.bbox.map(|v| round(v as f64)),
        "score": round2(f.score),
        "landmarks": f.landmarks.iter().map(|p| p.map(|v| round(v as f64))).collect::<Vec<_>>(),
        "best_match": best.map(|(file, c)| json!({"file": file, "cosine": round2(c)})),
    })
}

fn names(labels: &[Label]) -> Vec<&'static str> {
    labels.iter().map(|l| l.name).collect()
}

/// A private scratch directory for `thumbs::render`'s tool output (HEIC, video).
fn tempfile_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("shoebox-analyze-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}
