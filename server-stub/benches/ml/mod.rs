//! Machine-learning benchmarks (part of `make bench`, run by `ingest.rs`;
//! `SHOEBOX_BENCH_ONLY=ml` runs only these). They need `make models` (the models and the
//! sample photos in `${SHOEBOX_MODELS:-${SHOEBOX_CACHE:-~/.cache/shoebox}/models}`).
//!
//! Input: 12 previews at the server's 1440-px long side — the sample photos (astronaut, cat,
//! coffee, Yao Ming, the players group) upscaled to 1440 px plus `players.jpg` as it is
//! (1237×800), each also mirrored — run through `shoebox-server analyze` (the server's code:
//! the thumbnail job's preview, decoded as the ML jobs do, then faces, labels and the MiniLM
//! embedding of a caption) with `SHOEBOX_ML_THREADS=2`, once per face detector. Every model
//! computes on the one 2-thread ML pool, one photo at a time.
//!
//! - `ml_faces_scrfd_1440` / `ml_faces_blazeface_1440`: median CPU ms (user + system, both
//!   threads) per image for face detection, alignment and the ArcFace embedding of every face
//!   found; the wall-clock median is in the line's note.
//! - `ml_labels_1440`: the same for the NanoDet labels.
//! - `ml_pipeline_2cores`: photos per minute through the whole per-photo ML work (preview
//!   decode, faces with SCRFD and their JPEG person thumbnails, labels, caption embedding),
//!   from the mean wall time over the 12 images, one photo at a time. The note adds the CPU
//!   per photo and the rate that CPU cost allows when both cores are kept busy.
//!
//! Baselines: this bench runs no onnxruntime (the server does not use it). `docs/notes/ml.md`
//! §3 has ORT/tract/rten timings of the same models on this kind of machine for a comparison
//! in prose (rten was 1.5–3× slower than ORT there). Instead each line is set against a step
//! of the server's own media pipeline on the same machine and images, so the ratio stays
//! meaningful across machines: faces and labels against decoding the same 1440-px preview JPEG
//! (CPU ms; ratio = how many preview decodes a stage costs), the pipeline against the
//! thumbnail job's rate (`thumbs::render`; ratio = ML photos per thumbnailed photo).
//!
//! Targets: the whole ML pipeline keeps ≥ 30 photos/min on 2 cores (a 10,000-photo import is
//! analysed in under 6 hours); faces ≤ 500 CPU ms and labels ≤ 500 CPU ms per preview.

use super::{Result, median};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const THREADS: &str = "2";
const PIPELINE_TARGET: f64 = 30.0;
const STAGE_TARGET_MS: f64 = 500.0;

pub struct Outcome {
    pub lines: Vec<(bool, String)>,
}

fn models_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("SHOEBOX_MODELS") {
        return d.into();
    }
    let cache = std::env::var_os("SHOEBOX_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/shoebox")))
        .unwrap_or_else(|| PathBuf::from(".cache/shoebox"));
    cache.join("models")
}

/// Writes the 12 bench previews into `dir`.
fn previews(samples: &Path, dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut files = Vec::new();
    let mut save = |name: &str, img: &image::RgbImage| -> Result<()> {
        for (suffix, img) in [
            ("", img.clone()),
            ("-mirrored", image::imageops::flip_horizontal(img)),
        ] {
            let path = dir.join(format!("{name}{suffix}.jpg"));
            let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90).encode_image(&img)?;
            files.push(path);
        }
        Ok(())
    };
    for name in [
        "astronaut.png",
        "chelsea.png",
        "coffee.png",
        "yaoming.jpg",
        "players.jpg",
    ] {
        let path = samples.join(name);
        let img = image::open(&path)
            .map_err(|e| format!("{}: {e}; run `make models`", path.display()))?
            .to_rgb8();
        let (w, h) = img.dimensions();
        let f = 1440.0 / w.max(h) as f64;
        let (nw, nh) = ((w as f64 * f).round() as u32, (h as f64 * f).round() as u32);
        let big = image::imageops::resize(&img, nw, nh, image::imageops::FilterType::CatmullRom);
        let stem = name.split('.').next().unwrap_or(name);
        save(&format!("{stem}-1440"), &big)?;
        if name == "players.jpg" {
            save(stem, &img)?;
        }
    }
    Ok(files)
}

/// `shoebox-server analyze` over `files`: the per-image JSON lines and the summary line.
fn analyze(bin: &Path, detector: &str, files: &[PathBuf]) -> Result<(Vec<Value>, Value)> {
    let out = Command::new(bin)
        .args(["analyze", "--detector", detector])
        .args(files)
        .env("SHOEBOX_ML_THREADS", THREADS)
        .env("SHOEBOX_MODELS", models_dir())
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "shoebox-server analyze --detector {detector} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    let mut images = Vec::new();
    let mut summary = Value::Null;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: Value = serde_json::from_str(line)?;
        if v["summary"] == true {
            summary = v;
        } else {
            images.push(v);
        }
    }
    if images.len() != files.len() {
        return Err(format!(
            "analyze reported {} of {} images",
            images.len(),
            files.len()
        )
        .into());
    }
    Ok((images, summary))
}

fn med(images: &[Value], key: &str) -> f64 {
    median(images.iter().filter_map(|v| v[key].as_f64()).collect())
}

fn mean(images: &[Value], key: &str) -> f64 {
    let v: Vec<f64> = images.iter().filter_map(|v| v[key].as_f64()).collect();
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

pub fn run(bin: &Path, tmp: &Path) -> Result<Outcome> {
    let samples = models_dir().join("samples");
    let files = previews(&samples, &tmp.join("ml-previews"))?;
    let mut lines = Vec::new();
    let (scrfd, _) = analyze(bin, "scrfd", &files)?;
    let (blaze, _) = analyze(bin, "blazeface", &files)?;
    for v in scrfd.iter().chain(&blaze) {
        eprintln!("bench: {v}");
    }
    let decode = med(&scrfd, "decode_cpu_ms");
    for (name, images, key) in [
        ("ml_faces_scrfd_1440", &scrfd, "faces"),
        ("ml_faces_blazeface_1440", &blaze, "faces"),
        ("ml_labels_1440", &scrfd, "labels"),
    ] {
        let cpu = med(images, &format!("{key}_cpu_ms"));
        let wall = med(images, &format!("{key}_ms"));
        let faces: u64 = images.iter().filter_map(|v| v["faces"].as_u64()).sum();
        let note = if key == "faces" {
            format!("wall={wall:.1}ms faces_found={faces}")
        } else {
            format!("wall={wall:.1}ms")
        };
        println!(
            "bench {name}: ours={cpu:.1}ms baseline={decode:.1}ms ratio={:.1} ({note})",
            cpu / decode
        );
        lines.push((
            cpu <= STAGE_TARGET_MS,
            format!(
                "target {name}: {cpu:.0}ms <= {STAGE_TARGET_MS:.0}ms: {}",
                ok(cpu <= STAGE_TARGET_MS)
            ),
        ));
    }
    let per_min = 60_000.0 / mean(&scrfd, "ml_ms");
    let thumbs_per_min = 60_000.0 / mean(&scrfd, "render_ms");
    let blaze_per_min = 60_000.0 / mean(&blaze, "ml_ms");
    let cpu = mean(&scrfd, "ml_cpu_ms");
    println!(
        "bench ml_pipeline_2cores: ours={per_min:.0}photos/min baseline={thumbs_per_min:.0}photos/min \
         ratio={:.2} (blazeface: {blaze_per_min:.0}photos/min; cpu={cpu:.0}ms/photo, \
         {:.0}photos/min on 2 busy cores)",
        per_min / thumbs_per_min,
        2.0 * 60_000.0 / cpu,
    );
    lines.push((
        per_min >= PIPELINE_TARGET,
        format!(
            "target ml_pipeline_2cores: {per_min:.0} >= {PIPELINE_TARGET:.0} photos/min: {}",
            ok(per_min >= PIPELINE_TARGET)
        ),
    ));
    Ok(Outcome { lines })
}

fn ok(b: bool) -> &'static str {
    if b { "ok" } else { "MISSED" }
}
