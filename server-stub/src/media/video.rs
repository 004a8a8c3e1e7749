//! Videos through Debian's `ffmpeg` tools: `ffprobe` for duration, creation time, dimensions,
//! rotation and GPS (QuickTime `location`), and `ffmpeg` for a poster frame. The tools run as
//! child processes with the file path as a separate argument (never through a shell), bounded
//! in time.

use super::exif::{MediaInfo, Taken};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Longest one ffprobe / ffmpeg run may take.
const TOOL_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The tool ran and rejected the file.
    #[error("{0}")]
    Rejected(String),
    /// The tool could not run (missing, killed, timed out).
    #[error("{0}")]
    Unavailable(String),
}

/// Runs `program args…`, returning stdout; stderr's tail becomes the error.
pub fn run_tool(program: &str, args: &[&std::ffi::OsStr]) -> Result<Vec<u8>, ToolError> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| ToolError::Unavailable(format!("cannot run {program}: {e}")))?;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let out = std::thread::spawn(move || read_all(stdout));
    let err = std::thread::spawn(move || read_all(stderr));
    let started = std::time::Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if started.elapsed() > TOOL_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ToolError::Unavailable(format!("{program} timed out")));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(ToolError::Unavailable(format!("{program}: {e}"))),
        }
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    if status.success() {
        Ok(stdout)
    } else {
        let msg = String::from_utf8_lossy(&stderr);
        let tail: String = msg
            .trim()
            .lines()
            .last()
            .unwrap_or("")
            .chars()
            .take(300)
            .collect();
        Err(ToolError::Rejected(format!(
            "{program} failed ({status}): {tail}"
        )))
    }
}

fn read_all(r: Option<impl std::io::Read>) -> Vec<u8> {
    let mut buf = Vec::new();
    if let Some(mut r) = r {
        let _ = r.read_to_end(&mut buf);
    }
    buf
}

/// Metadata of a video file.
pub fn probe(path: &Path) -> Result<MediaInfo, ToolError> {
    let out = run_tool(
        "ffprobe",
        &[
            "-v".as_ref(),
            "error".as_ref(),
            "-print_format".as_ref(),
            "json".as_ref(),
            "-show_format".as_ref(),
            "-show_streams".as_ref(),
            path.as_os_str(),
        ],
    )?;
    let v: Value = serde_json::from_slice(&out)
        .map_err(|e| ToolError::Rejected(format!("ffprobe output: {e}")))?;
    Ok(parse_probe(&v))
}

/// Reads ffprobe's JSON (`-show_format -show_streams`).
pub fn parse_probe(v: &Value) -> MediaInfo {
    let format = &v["format"];
    let video = v["streams"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["codec_type"] == "video"));
    let num = |x: &Value| {
        x.as_f64()
            .or_else(|| x.as_str().and_then(|s| s.parse().ok()))
    };
    let mut info = MediaInfo {
        duration_secs: num(&format["duration"]).filter(|d| d.is_finite() && *d >= 0.0),
        ..MediaInfo::default()
    };
    let tag = |name: &str| {
        format["tags"][name]
            .as_str()
            .or_else(|| video.and_then(|s| s["tags"][name].as_str()))
            .map(str::to_owned)
    };
    info.taken = tag("creation_time")
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| Taken::from_utc(t.with_timezone(&chrono::Utc)))
        .filter(|t| t.utc.timestamp() > 0);
    info.make = tag("com.apple.quicktime.make");
    info.model = tag("com.apple.quicktime.model");
    if let Some((lat, lon)) = tag("location")
        .or_else(|| tag("com.apple.quicktime.location.ISO6709"))
        .and_then(|l| parse_iso6709(&l))
    {
        info.latitude = Some(lat);
        info.longitude = Some(lon);
    }
    if let Some(s) = video {
        let (w, h) = (
            s["width"].as_u64().and_then(|w| u32::try_from(w).ok()),
            s["height"].as_u64().and_then(|h| u32::try_from(h).ok()),
        );
        let rotation = s["tags"]["rotate"]
            .as_str()
            .and_then(|r| r.parse::<i64>().ok())
            .or_else(|| {
                s["side_data_list"]
                    .as_array()?
                    .iter()
                    .find_map(|d| d["rotation"].as_i64())
            })
            .unwrap_or(0);
        // Displayed dimensions: a portrait phone video is stored landscape plus a rotation.
        if rotation.rem_euclid(180) == 90 {
            (info.width, info.height) = (h, w);
        } else {
            (info.width, info.height) = (w, h);
        }
    }
    info
}

/// `+48.8577+002.2950/` (ISO 6709) → (lat, lon).
fn parse_iso6709(s: &str) -> Option<(f64, f64)> {
    let s = s.trim().trim_end_matches('/');
    if !s.starts_with(['+', '-']) {
        return None;
    }
    let second = s[1..].find(['+', '-'])? + 1;
    let lat: f64 = s[..second].parse().ok()?;
    let rest = &s[second..];
    let end = rest[1..]
        .find(['+', '-'])
        .map(|i| i + 1)
        .unwrap_or(rest.len());
    let lon: f64 = rest[..end].parse().ok()?;
    (lat.abs() <= 90.0 && lon.abs() <= 180.0).then_some((lat, lon))
}

/// Writes one frame of the video as PNG to `out` (rotation applied by ffmpeg). Tries one second
/// in first (the first frame is often black), then the very first frame for short clips.
pub fn poster(path: &Path, out: &Path) -> Result<(), ToolError> {
    let mut last = None;
    for seek in ["1", "0"] {
        let r = run_tool(
            "ffmpeg",
            &[
                "-v".as_ref(),
                "error".as_ref(),
                "-nostdin".as_ref(),
                "-y".as_ref(),
                "-ss".as_ref(),
                seek.as_ref(),
                "-i".as_ref(),
                path.as_os_str(),
                "-frames:v".as_ref(),
                "1".as_ref(),
                "-f".as_ref(),
                "image2".as_ref(),
                "-c:v".as_ref(),
                "png".as_ref(),
                out.as_os_str(),
            ],
        );
        match r {
            Ok(_) if std::fs::metadata(out).is_ok_and(|m| m.len() > 0) => return Ok(()),
            Ok(_) => last = Some(ToolError::Rejected("ffmpeg produced no frame".into())),
            Err(e @ ToolError::Unavailable(_)) => return Err(e),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| ToolError::Rejected("no frame".into())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn probe_json_is_read_defensively() {
        let v = json!({
            "format": {"duration": "2.500000", "tags": {
                "creation_time": "2024-05-06T07:08:09.000000Z", "location": "+48.8577+002.2950/"}},
            "streams": [{"codec_type": "video", "width": 1920, "height": 1080,
                         "side_data_list": [{"rotation": -90}]}]
        });
        let m = parse_probe(&v);
        assert_eq!(m.duration_secs, Some(2.5));
        assert_eq!((m.width, m.height), (Some(1080), Some(1920)));
        assert_eq!(m.latitude, Some(48.8577));
        assert_eq!(m.longitude, Some(2.295));
        assert_eq!(
            m.taken.unwrap().utc.to_rfc3339(),
            "2024-05-06T07:08:09+00:00"
        );
        assert_eq!(parse_probe(&json!("nonsense")), MediaInfo::default());
        assert_eq!(parse_iso6709("junk"), None);
        assert_eq!(parse_iso6709(""), None);
        assert_eq!(parse_iso6709("+é"), None);
    }
}
