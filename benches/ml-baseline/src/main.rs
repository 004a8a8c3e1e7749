//! `shoebox-ml-baseline`: the per-image CPU cost of the server's vision models under rten (the
//! pure-Rust ONNX runtime the server uses) against ONNX Runtime (the `ort` crate with
//! `load-dynamic`, loading `libonnxruntime.so.1.31.1` from the PyPI `onnxruntime` 1.31.1 wheel,
//! fetched by `fetch-onnxruntime.sh`). Part of `make bench`; see README.md.
//!
//! For each model (SCRFD-500M at 640², ArcFace MobileFaceNet at 112², BlazeFace back at 256²
//! NHWC, NanoDet COCO-80 at 416²) both runtimes load the same `.onnx` file from
//! `${SHOEBOX_MODELS:-${SHOEBOX_CACHE:-~/.cache/shoebox}/models}` and run it on the same
//! constant input: deterministic pseudo-random pixels (xorshift64*) normalised the way the
//! server feeds that model. Both are capped at the same number of threads (`SHOEBOX_ML_THREADS`,
//! default 2): rten through its own `ThreadPool::with_num_threads(n)` in `RunOptions`, ONNX
//! Runtime through `intra_op_num_threads = n` (sequential execution, all graph optimisations).
//! Each runtime gets `SHOEBOX_ML_BENCH_RUNS` (default 10) timed runs, in two blocks per runtime
//! (rten, onnxruntime, onnxruntime, rten), each block after a 200 ms pause and 3 warm-up runs
//! (see [`time`] for why not run by run); the median wall time is reported, with the mean
//! process CPU time per run (all threads) in the note.
//!
//! Output lines, in the format of the other `make bench` lines:
//!
//! ```text
//! bench ml_scrfd_640: ours=<rten ms> baseline=<onnxruntime ms> ratio=<baseline/ours> (...)
//! target ml_scrfd_640: ratio R >= 0.67 (rten within 1.5x of onnxruntime): ok|MISSED
//! target ml_scrfd_640_agree: max_abs_diff D <= T: ok|MISSED
//! ```
//!
//! plus `ml_per_photo` = SCRFD + one ArcFace embedding + NanoDet (the per-photo work when the
//! photo has one face). The outputs of the two runtimes are compared tensor by tensor (same
//! shapes, max |rten − onnxruntime| ≤ 1e-3 × max(1, max |onnxruntime|)); a disagreement is a
//! MISSED `_agree` line and makes the process exit 1 (it would mean a runtime or a converted
//! model is wrong, e.g. the tf2onnx-converted NanoDet). A missed speed target exits 1 only
//! with `SHOEBOX_BENCH_STRICT=1`.
//!
//! `SHOEBOX_ML_BENCH_PROFILE=1` also prints rten's per-operator time table for one run of each
//! model (to stdout, before that model's lines), to see where rten loses time.
//!
//! Without the ONNX Runtime library (not fetched, or not Linux x86_64) the bench still prints
//! the rten timings, with `baseline=n/a` and the reason. `SHOEBOX_ONNXRUNTIME` overrides the
//! library path.

use anyhow::{Context, Result, anyhow, bail};
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::TensorRef;
use rten::{Model, NodeId, RunOptions, ThreadPool};
use rten_tensor::prelude::*;
use rten_tensor::{NdTensorView, Tensor};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

const ORT_VERSION: &str = "1.31.1";
/// Must match the `=` pin in Cargo.toml.
const RTEN_VERSION: &str = "0.27.0";
const WARMUP: usize = 3;
/// Idle time before each timed block, so the other runtime's threads have stopped spinning.
const PAUSE: std::time::Duration = std::time::Duration::from_millis(200);
/// rten may take this much longer than onnxruntime: ratio = onnxruntime ms / rten ms ≥ 1/1.5.
const MAX_SLOWDOWN: f64 = 1.5;
/// Outputs agree when max |rten − onnxruntime| ≤ AGREE_REL × max(1, max |onnxruntime|).
const AGREE_REL: f32 = 1e-3;

/// How a model wants its pixels: channel order, layout and `(pixel − mean[c]) / std[c]`.
#[derive(Clone, Copy)]
enum PixelLayout {
    /// `[1, 3, H, W]`, planes in the order the means/stds are given.
    Nchw,
    /// `[1, H, W, 3]`.
    Nhwc,
}

struct Spec {
    name: &'static str,
    file: &'static str,
    layout: PixelLayout,
    /// Height = width.
    size: usize,
    mean: [f32; 3],
    std: [f32; 3],
    seed: u64,
}

const MODELS: [Spec; 4] = [
    // The server: letterboxed RGB, (p − 127.5) / 128.
    Spec {
        name: "ml_scrfd_640",
        file: "faces/scrfd_500m_bnkps.onnx",
        layout: PixelLayout::Nchw,
        size: 640,
        mean: [127.5; 3],
        std: [128.0; 3],
        seed: 0x5c7f_d640,
    },
    // Aligned 112×112 face crops, RGB, (p − 127.5) / 127.5.
    Spec {
        name: "ml_arcface_112",
        file: "faces/w600k_mbf.onnx",
        layout: PixelLayout::Nchw,
        size: 112,
        mean: [127.5; 3],
        std: [127.5; 3],
        seed: 0xa4cf_0112,
    },
    // MediaPipe BlazeFace (back camera), NHWC RGB in [−1, 1].
    Spec {
        name: "ml_blazeface_256",
        file: "faces/blazeface_back_256.onnx",
        layout: PixelLayout::Nhwc,
        size: 256,
        mean: [127.5; 3],
        std: [127.5; 3],
        seed: 0xb1a2_e256,
    },
    // NanoDet: BGR planes with the ImageNet mean/std in B, G, R order.
    Spec {
        name: "ml_nanodet_416",
        file: "objects/nanodet.onnx",
        layout: PixelLayout::Nchw,
        size: 416,
        mean: [103.53, 116.28, 123.675],
        std: [57.375, 57.12, 58.395],
        seed: 0x0a0d_e416,
    },
];

/// Models summed into the `ml_per_photo` line: detection, one embedding, labels.
const PER_PHOTO: [&str; 3] = ["ml_scrfd_640", "ml_arcface_112", "ml_nanodet_416"];

impl Spec {
    fn shape(&self) -> [usize; 4] {
        match self.layout {
            PixelLayout::Nchw => [1, 3, self.size, self.size],
            PixelLayout::Nhwc => [1, self.size, self.size, 3],
        }
    }

    /// Pseudo-random 8-bit pixels, normalised for this model.
    fn input(&self) -> Vec<f32> {
        let plane = self.size * self.size;
        let mut rng = XorShift(self.seed);
        (0..3 * plane)
            .map(|i| {
                let c = match self.layout {
                    PixelLayout::Nchw => i / plane,
                    PixelLayout::Nhwc => i % 3,
                };
                let pixel = (rng.next() >> 56) as f32;
                (pixel - self.mean[c]) / self.std[c]
            })
            .collect()
    }
}

/// xorshift64*, as in the server's bench support code.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// One named output tensor: shape and row-major values.
struct Output {
    name: String,
    shape: Vec<usize>,
    data: Vec<f32>,
}

#[derive(Clone, Copy)]
struct Timing {
    /// Median wall milliseconds per run.
    ms: f64,
    /// Mean process CPU milliseconds per run (user + system, all threads).
    cpu_ms: f64,
}

/// Process CPU time (all threads) in milliseconds.
fn cpu_ms() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_PROCESS_CPUTIME_ID is always available
    // on Linux. On failure `ts` stays zero and the CPU note reads 0.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1e3 + ts.tv_nsec as f64 / 1e6
}

/// The 1/5/15-minute load averages, or "unknown".
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".to_owned())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// One closure per runtime, each running one inference.
type Runner<'a> = Box<dyn FnMut() -> Result<()> + 'a>;

/// Times each runner `runs` times, one runtime at a time: never interleaved run by run, because
/// ONNX Runtime's worker threads spin-wait for a while after each run and would steal a core from
/// rten's next run (measured: +60% on SCRFD). The runs are split in two blocks per runner in
/// A B … B A order, so a steady change in machine load hits every runtime alike. Each block
/// starts after a `PAUSE` (spinning threads go to sleep) with `WARMUP` untimed runs.
fn time(runs: usize, mut runners: Vec<Runner<'_>>) -> Result<Vec<Timing>> {
    let n = runners.len();
    let first = runs.div_ceil(2);
    let order = (0..n)
        .map(|i| (i, first))
        .chain((0..n).rev().map(|i| (i, runs - first)));
    let mut wall = vec![Vec::with_capacity(runs); n];
    let mut cpu = vec![0f64; n];
    for (i, count) in order {
        if count == 0 {
            continue;
        }
        std::thread::sleep(PAUSE);
        for _ in 0..WARMUP {
            runners[i]()?;
        }
        for _ in 0..count {
            let (cpu_start, start) = (cpu_ms(), Instant::now());
            runners[i]()?;
            wall[i].push(start.elapsed().as_secs_f64() * 1e3);
            cpu[i] += cpu_ms() - cpu_start;
        }
    }
    Ok(wall
        .into_iter()
        .zip(cpu)
        .map(|(w, c)| Timing {
            ms: median(w),
            cpu_ms: c / runs as f64,
        })
        .collect())
}

// ---- rten ------------------------------------------------------------------------------------

struct RtenNet {
    model: Model,
    input: NodeId,
    outputs: Vec<NodeId>,
    names: Vec<String>,
    pool: Arc<ThreadPool>,
}

impl RtenNet {
    fn load(path: &Path, pool: Arc<ThreadPool>) -> Result<Self> {
        let model =
            Model::load_file(path).with_context(|| format!("rten: loading {}", path.display()))?;
        let input = *model
            .input_ids()
            .first()
            .ok_or_else(|| anyhow!("{} has no input", path.display()))?;
        let outputs = model.output_ids().to_vec();
        let names = outputs
            .iter()
            .map(|id| {
                model
                    .node_info(*id)
                    .and_then(|n| n.name().map(str::to_owned))
                    .unwrap_or_default()
            })
            .collect();
        Ok(Self {
            model,
            input,
            outputs,
            names,
            pool,
        })
    }

    fn run(&self, shape: [usize; 4], data: &[f32]) -> Result<Vec<rten::Value>> {
        self.run_with(shape, data, false)
    }

    /// `timing`: rten prints its per-operator time table (to stdout).
    fn run_with(&self, shape: [usize; 4], data: &[f32], timing: bool) -> Result<Vec<rten::Value>> {
        let view = NdTensorView::from_data(shape, data);
        let opts = RunOptions::default()
            .with_thread_pool(Some(self.pool.clone()))
            .with_timing(timing);
        self.model
            .run(vec![(self.input, view.into())], &self.outputs, Some(opts))
            .map_err(|e| anyhow!("rten: {e}"))
    }

    fn outputs(&self, values: Vec<rten::Value>) -> Result<Vec<Output>> {
        values
            .into_iter()
            .zip(&self.names)
            .map(|(v, name)| {
                let t: Tensor<f32> = v
                    .try_into()
                    .map_err(|e| anyhow!("rten output {name}: {e}"))?;
                Ok(Output {
                    name: name.clone(),
                    shape: t.shape().to_vec(),
                    data: t.to_vec(),
                })
            })
            .collect()
    }
}

// ---- onnxruntime -----------------------------------------------------------------------------

/// `ort::Error<SessionBuilder>` is not `Send`, so anyhow cannot hold it; keep its message.
fn ort_err<R>(e: ort::Error<R>) -> anyhow::Error {
    anyhow!("onnxruntime: {e}")
}

fn ort_library() -> PathBuf {
    if let Some(p) = std::env::var_os("SHOEBOX_ONNXRUNTIME") {
        return p.into();
    }
    cache_dir()
        .join("onnxruntime")
        .join(format!("libonnxruntime.so.{ORT_VERSION}"))
}

fn ort_env(lib: &Path) -> Result<ort::environment::Environment> {
    if !lib.is_file() {
        bail!(
            "{} is missing (run benches/ml-baseline/fetch-onnxruntime.sh)",
            lib.display()
        );
    }
    ort::init_from(lib)
        .map_err(|e| anyhow!("loading {}: {e}", lib.display()))?
        .with_name("shoebox-ml-baseline")
        .build()
        .map_err(ort_err)
}

fn ort_session(
    env: &ort::environment::Environment,
    path: &Path,
    threads: usize,
) -> Result<Session> {
    Session::builder(env)
        .map_err(ort_err)?
        .with_optimization_level(GraphOptimizationLevel::All)
        .map_err(ort_err)?
        .with_intra_threads(threads)
        .map_err(ort_err)?
        .with_inter_threads(1)
        .map_err(ort_err)?
        .commit_from_file(path)
        .map_err(ort_err)
        .with_context(|| format!("onnxruntime: loading {}", path.display()))
}

/// One timed inference: the input tensor wraps `data` (no copy), the outputs are dropped.
fn ort_infer(session: &mut Session, shape: [usize; 4], data: &[f32]) -> Result<()> {
    let input = TensorRef::from_array_view((shape, data)).map_err(ort_err)?;
    session.run(ort::inputs![input]).map_err(ort_err)?;
    Ok(())
}

/// One inference with every output copied out, for the comparison.
fn ort_run(session: &mut Session, shape: [usize; 4], data: &[f32]) -> Result<Vec<Output>> {
    let names: Vec<String> = session
        .outputs()
        .iter()
        .map(|o| o.name().to_owned())
        .collect();
    let input = TensorRef::from_array_view((shape, data)).map_err(ort_err)?;
    let outs = session.run(ort::inputs![input]).map_err(ort_err)?;
    names
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            let (shape, data) = outs[i]
                .try_extract_tensor::<f32>()
                .map_err(|e| anyhow!("onnxruntime output {name}: {e}"))?;
            Ok(Output {
                name,
                shape: shape.iter().map(|&d| d.max(0) as usize).collect(),
                data: data.to_vec(),
            })
        })
        .collect()
}

// ---- comparison ------------------------------------------------------------------------------

struct Agreement {
    max_abs_diff: f32,
    tolerance: f32,
    problem: Option<String>,
}

impl Agreement {
    fn ok(&self) -> bool {
        self.problem.is_none() && self.max_abs_diff <= self.tolerance
    }
}

/// Compares every onnxruntime output with rten's output of the same name (or position).
fn compare(rten: &[Output], ort: &[Output]) -> Agreement {
    let mut max_abs_diff = 0f32;
    let mut max_ref = 0f32;
    let mut problem = None;
    if rten.len() != ort.len() {
        problem = Some(format!(
            "{} rten outputs vs {} onnxruntime",
            rten.len(),
            ort.len()
        ));
    }
    for (i, o) in ort.iter().enumerate() {
        let Some(r) = rten
            .iter()
            .find(|r| r.name == o.name)
            .or_else(|| rten.get(i))
        else {
            problem = Some(format!("rten has no output {}", o.name));
            continue;
        };
        if r.shape != o.shape {
            problem = Some(format!(
                "output {}: rten shape {:?} vs onnxruntime {:?}",
                o.name, r.shape, o.shape
            ));
            continue;
        }
        for (a, b) in r.data.iter().zip(&o.data) {
            let d = (a - b).abs();
            // NaN anywhere is a disagreement.
            max_abs_diff = if d.is_nan() {
                f32::INFINITY
            } else {
                max_abs_diff.max(d)
            };
            max_ref = max_ref.max(b.abs());
        }
    }
    Agreement {
        max_abs_diff,
        tolerance: AGREE_REL * max_ref.max(1.0),
        problem,
    }
}

// ---- main ------------------------------------------------------------------------------------

fn cache_dir() -> PathBuf {
    std::env::var_os("SHOEBOX_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/shoebox")))
        .unwrap_or_else(|| PathBuf::from(".cache/shoebox"))
}

fn models_dir() -> PathBuf {
    std::env::var_os("SHOEBOX_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache_dir().join("models"))
}

fn env_usize(name: &str, default: usize) -> Result<usize> {
    match std::env::var(name) {
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => bail!("{name}={v:?} is not a positive integer"),
        },
        Err(_) => Ok(default),
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "ok" } else { "MISSED" }
}

struct Measured {
    name: &'static str,
    rten: Timing,
    ort: Option<Timing>,
}

fn main() {
    if let Err(e) = run() {
        eprintln!("bench ml-baseline failed: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let threads = env_usize("SHOEBOX_ML_THREADS", 2)?;
    let runs = env_usize("SHOEBOX_ML_BENCH_RUNS", 10)?;
    let strict = std::env::var("SHOEBOX_BENCH_STRICT").is_ok_and(|v| v == "1");
    let profile = std::env::var("SHOEBOX_ML_BENCH_PROFILE").is_ok_and(|v| v == "1");
    let models = models_dir();
    let pool = Arc::new(ThreadPool::with_num_threads(threads));

    let lib = ort_library();
    let (env, baseline_name) = match ort_env(&lib) {
        Ok(env) => {
            eprintln!("bench: onnxruntime from {}", lib.display());
            (Some(env), format!("onnxruntime {ORT_VERSION}"))
        }
        Err(e) => {
            eprintln!("bench: no onnxruntime baseline, rten only: {e:#}");
            (None, format!("onnxruntime unavailable: {e:#}"))
        }
    };
    eprintln!("bench: load average at start: {}", loadavg());
    eprintln!(
        "bench: {threads} threads per runtime, {WARMUP} warm-up + {runs} timed runs per model"
    );

    let mut measured = Vec::new();
    let mut targets: Vec<(bool, String)> = Vec::new();
    let mut disagreed = false;
    for spec in &MODELS {
        let path = models.join(spec.file);
        if !path.is_file() {
            bail!("{} is missing; run `make models`", path.display());
        }
        let shape = spec.shape();
        let input = spec.input();

        let net = RtenNet::load(&path, pool.clone())?;
        let rten_out = net.outputs(net.run(shape, &input)?)?;
        if profile {
            println!("profile {}: rten per-operator times for one run", spec.name);
            net.run_with(shape, &input, true)?;
        }
        let mut session = match &env {
            Some(env) => Some(ort_session(env, &path, threads)?),
            None => None,
        };
        let mut agreement = None;
        if let Some(session) = session.as_mut() {
            let ort_out = ort_run(session, shape, &input)?;
            agreement = Some(compare(&rten_out, &ort_out));
        }
        let mut runners: Vec<Runner<'_>> = vec![Box::new(|| net.run(shape, &input).map(drop))];
        if let Some(session) = session.as_mut() {
            let input = &input;
            runners.push(Box::new(move || ort_infer(session, shape, input)));
        }
        let timings = time(runs, runners)?;
        let rten_time = timings[0];
        let ort_time = timings.get(1).copied();

        let sum: f32 = rten_out.iter().flat_map(|o| &o.data).sum();
        match (ort_time, &agreement) {
            (Some(ort), Some(agree)) => {
                let ratio = ort.ms / rten_time.ms;
                println!(
                    "bench {}: ours={:.2}ms baseline={:.2}ms ratio={ratio:.2} (rten {RTEN_VERSION} vs {baseline_name}, \
                     threads={threads}, cpu ours={:.1}ms baseline={:.1}ms, max_abs_diff={:.2e})",
                    spec.name,
                    rten_time.ms,
                    ort.ms,
                    rten_time.cpu_ms,
                    ort.cpu_ms,
                    agree.max_abs_diff,
                );
                let fast = ratio >= 1.0 / MAX_SLOWDOWN;
                targets.push((
                    fast,
                    format!(
                        "target {}: ratio {ratio:.2} >= {:.2} (rten within {MAX_SLOWDOWN}x of onnxruntime): {}",
                        spec.name,
                        1.0 / MAX_SLOWDOWN,
                        verdict(fast)
                    ),
                ));
                let detail = match &agree.problem {
                    Some(p) => format!("{p}; "),
                    None => String::new(),
                };
                targets.push((
                    agree.ok(),
                    format!(
                        "target {}_agree: {detail}max_abs_diff {:.2e} <= {:.2e}: {}",
                        spec.name,
                        agree.max_abs_diff,
                        agree.tolerance,
                        verdict(agree.ok())
                    ),
                ));
                disagreed |= !agree.ok();
            }
            _ => println!(
                "bench {}: ours={:.2}ms baseline=n/a ({baseline_name}; threads={threads}, cpu ours={:.1}ms)",
                spec.name, rten_time.ms, rten_time.cpu_ms
            ),
        }
        eprintln!(
            "bench: {}: {} outputs {:?}, rten output sum {sum:.4}",
            spec.name,
            rten_out.len(),
            rten_out
                .iter()
                .map(|o| (&o.name, &o.shape))
                .collect::<Vec<_>>()
        );
        measured.push(Measured {
            name: spec.name,
            rten: rten_time,
            ort: ort_time,
        });
    }

    // ---- per photo: SCRFD + one ArcFace embedding + NanoDet -----------------------------------
    let parts: Vec<&Measured> = PER_PHOTO
        .iter()
        .filter_map(|n| measured.iter().find(|m| m.name == *n))
        .collect();
    let ours: f64 = parts.iter().map(|m| m.rten.ms).sum();
    let ours_cpu: f64 = parts.iter().map(|m| m.rten.cpu_ms).sum();
    let base: Option<(f64, f64)> = parts
        .iter()
        .map(|m| m.ort.map(|t| (t.ms, t.cpu_ms)))
        .collect::<Option<Vec<_>>>()
        .map(|v| v.iter().fold((0.0, 0.0), |(a, b), (c, d)| (a + c, b + d)));
    match base {
        Some((base, base_cpu)) => {
            let ratio = base / ours;
            println!(
                "bench ml_per_photo: ours={ours:.2}ms baseline={base:.2}ms ratio={ratio:.2} \
                 (SCRFD 640 + 1 ArcFace + NanoDet 416, sum of medians; {:.0} vs {:.0} photos/min; \
                 cpu ours={ours_cpu:.1}ms baseline={base_cpu:.1}ms)",
                60_000.0 / ours,
                60_000.0 / base
            );
            let fast = ratio >= 1.0 / MAX_SLOWDOWN;
            targets.push((
                fast,
                format!(
                    "target ml_per_photo: ratio {ratio:.2} >= {:.2} (rten within {MAX_SLOWDOWN}x of onnxruntime): {}",
                    1.0 / MAX_SLOWDOWN,
                    verdict(fast)
                ),
            ));
        }
        None => println!(
            "bench ml_per_photo: ours={ours:.2}ms baseline=n/a (SCRFD 640 + 1 ArcFace + NanoDet 416, \
             sum of medians; {:.0} photos/min; cpu ours={ours_cpu:.1}ms; {baseline_name})",
            60_000.0 / ours
        ),
    }
    for (_, line) in &targets {
        println!("{line}");
    }
    // Timings from a busy machine are not comparable with a quiet one's; say how busy it was.
    eprintln!("bench: load average at end: {}", loadavg());
    if disagreed {
        bail!("rten and onnxruntime outputs disagree (see the _agree lines)");
    }
    if strict && targets.iter().any(|(ok, _)| !ok) {
        bail!("a target was missed (SHOEBOX_BENCH_STRICT=1)");
    }
    Ok(())
}
