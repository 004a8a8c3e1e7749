//! Photo metadata with `kamadak-exif`: when it was taken (with its UTC offset), camera and
//! lens, exposure, GPS, orientation and pixel dimensions. Everything is optional: a file with
//! no or broken EXIF yields an empty [`MediaInfo`], and the asset keeps its file times.

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
use exif::{In, Tag, Value};
use std::io::Cursor;

/// When a photo or video was taken.
#[derive(Debug, Clone, PartialEq)]
pub struct Taken {
    /// The instant (UTC). Without an offset in the file the local time is read as UTC, as Immich does.
    pub utc: DateTime<Utc>,
    /// The wall-clock time where it was taken.
    pub local: NaiveDateTime,
    /// Seconds east of UTC, when the file says.
    pub offset_secs: Option<i32>,
}

impl Taken {
    pub fn from_local(local: NaiveDateTime, offset_secs: Option<i32>) -> Option<Taken> {
        let utc = match offset_secs {
            Some(o) => FixedOffset::east_opt(o)?
                .from_local_datetime(&local)
                .single()?
                .with_timezone(&Utc),
            None => Utc.from_utc_datetime(&local),
        };
        Some(Taken {
            utc,
            local,
            offset_secs,
        })
    }

    pub fn from_utc(utc: DateTime<Utc>) -> Taken {
        Taken {
            utc,
            local: utc.naive_utc(),
            offset_secs: None,
        }
    }

    /// Immich's `timeZone` for a fixed offset: `UTC+1`, `UTC-9:30`, `UTC`.
    pub fn time_zone(&self) -> Option<String> {
        let o = self.offset_secs?;
        let sign = if o < 0 { '-' } else { '+' };
        let (h, m) = (o.abs() / 3600, (o.abs() % 3600) / 60);
        Some(match (h, m) {
            (0, 0) => "UTC".to_owned(),
            (h, 0) => format!("UTC{sign}{h}"),
            (h, m) => format!("UTC{sign}{h}:{m:02}"),
        })
    }
}

/// What the pipeline learnt about a file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MediaInfo {
    pub make: Option<String>,
    pub model: Option<String>,
    pub lens_model: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub orientation: Option<u16>,
    pub taken: Option<Taken>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub f_number: Option<f64>,
    pub focal_length: Option<f64>,
    pub iso: Option<u32>,
    pub exposure_time: Option<String>,
    pub duration_secs: Option<f64>,
}

/// Reads EXIF from an image's bytes (JPEG, TIFF/DNG, HEIF, PNG, WebP). Missing or malformed
/// EXIF is not an error: the result is simply empty.
pub fn read(bytes: &[u8]) -> MediaInfo {
    let Ok(ex) = exif::Reader::new().read_from_container(&mut Cursor::new(bytes)) else {
        return MediaInfo::default();
    };
    let text = |tag| ex.get_field(tag, In::PRIMARY).and_then(|f| ascii(&f.value));
    let taken = [
        (
            Tag::DateTimeOriginal,
            Tag::OffsetTimeOriginal,
            Tag::SubSecTimeOriginal,
        ),
        (
            Tag::DateTimeDigitized,
            Tag::OffsetTimeDigitized,
            Tag::SubSecTimeDigitized,
        ),
        (Tag::DateTime, Tag::OffsetTime, Tag::SubSecTime),
    ]
    .into_iter()
    .find_map(|(dt, off, sub)| {
        let local = parse_exif_datetime(&text(dt)?, text(sub).as_deref())?;
        let offset = text(off).and_then(|o| parse_offset(&o));
        Taken::from_local(local, offset)
    });
    MediaInfo {
        make: text(Tag::Make),
        model: text(Tag::Model),
        lens_model: text(Tag::LensModel),
        width: uint(&ex, Tag::PixelXDimension).or_else(|| uint(&ex, Tag::ImageWidth)),
        height: uint(&ex, Tag::PixelYDimension).or_else(|| uint(&ex, Tag::ImageLength)),
        orientation: uint(&ex, Tag::Orientation)
            .and_then(|o| u16::try_from(o).ok())
            .filter(|o| (1..=8).contains(o)),
        taken,
        latitude: gps(&ex, Tag::GPSLatitude, Tag::GPSLatitudeRef, 'S', 90.0),
        longitude: gps(&ex, Tag::GPSLongitude, Tag::GPSLongitudeRef, 'W', 180.0),
        f_number: rational(&ex, Tag::FNumber),
        focal_length: rational(&ex, Tag::FocalLength),
        iso: uint(&ex, Tag::PhotographicSensitivity),
        exposure_time: exposure(&ex),
        duration_secs: None,
    }
}

/// Only the orientation (1–8), for the thumbnailer.
pub fn orientation(bytes: &[u8]) -> Option<u16> {
    read(bytes).orientation
}

fn ascii(v: &Value) -> Option<String> {
    let Value::Ascii(parts) = v else { return None };
    let s: String = parts
        .iter()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let s: String = s.chars().filter(|c| !c.is_control()).take(255).collect();
    let s = s.trim().to_owned();
    (!s.is_empty()).then_some(s)
}

fn uint(ex: &exif::Exif, tag: Tag) -> Option<u32> {
    ex.get_field(tag, In::PRIMARY)?.value.get_uint(0)
}

fn rational(ex: &exif::Exif, tag: Tag) -> Option<f64> {
    match &ex.get_field(tag, In::PRIMARY)?.value {
        Value::Rational(v) if v.first().is_some_and(|r| r.denom != 0) => {
            Some(v[0].to_f64()).filter(|x| x.is_finite())
        }
        _ => None,
    }
}

fn exposure(ex: &exif::Exif) -> Option<String> {
    let Value::Rational(v) = &ex.get_field(Tag::ExposureTime, In::PRIMARY)?.value else {
        return None;
    };
    let r = v.first().filter(|r| r.denom != 0 && r.num != 0)?;
    let secs = r.to_f64();
    Some(if secs < 1.0 {
        format!("1/{}", (1.0 / secs).round() as u64)
    } else {
        format!("{}", (secs * 10.0).round() / 10.0)
    })
}

fn gps(ex: &exif::Exif, tag: Tag, reference: Tag, negative: char, limit: f64) -> Option<f64> {
    let Value::Rational(v) = &ex.get_field(tag, In::PRIMARY)?.value else {
        return None;
    };
    if v.len() < 3 || v.iter().take(3).any(|r| r.denom == 0) {
        return None;
    }
    let mut deg = v[0].to_f64() + v[1].to_f64() / 60.0 + v[2].to_f64() / 3600.0;
    let r = ex
        .get_field(reference, In::PRIMARY)
        .and_then(|f| ascii(&f.value));
    if r.is_some_and(|r| r.starts_with(negative)) {
        deg = -deg;
    }
    (deg.is_finite() && deg.abs() <= limit).then_some(deg)
}

/// `2024:03:01 10:00:00` (plus optional sub-seconds) → a naive local time.
pub fn parse_exif_datetime(s: &str, subsec: Option<&str>) -> Option<NaiveDateTime> {
    let s = s.trim().trim_end_matches('\0');
    let base = s.get(..19)?;
    let t = NaiveDateTime::parse_from_str(base, "%Y:%m:%d %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(base, "%Y-%m-%d %H:%M:%S"))
        .ok()?;
    let ms = subsec
        .map(|d| d.trim())
        .filter(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()))
        .and_then(|d| format!("{:0<3}", &d[..d.len().min(3)]).parse::<i64>().ok())
        .unwrap_or(0);
    Some(t + chrono::Duration::milliseconds(ms))
}

/// `+01:00` / `-09:30` / `Z` → seconds east of UTC.
pub fn parse_offset(s: &str) -> Option<i32> {
    let s = s.trim().trim_end_matches('\0');
    if s == "Z" {
        return Some(0);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    ((0..=14).contains(&h) && (0..60).contains(&m)).then_some(sign * (h * 3600 + m * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_offsets_and_zones() {
        let t = parse_exif_datetime("2024:03:01 10:00:00", Some("5")).unwrap();
        assert_eq!(t.to_string(), "2024-03-01 10:00:00.500");
        assert!(parse_exif_datetime("0000:00:00 00:00:00", None).is_none());
        assert!(parse_exif_datetime("garbage", None).is_none());
        assert_eq!(parse_offset("+01:00"), Some(3600));
        assert_eq!(parse_offset("-09:30"), Some(-34200));
        assert_eq!(parse_offset("+99:00"), None);
        let k = Taken::from_local(t, Some(3600)).unwrap();
        assert_eq!(k.utc.to_rfc3339(), "2024-03-01T09:00:00.500+00:00");
        assert_eq!(k.time_zone().as_deref(), Some("UTC+1"));
        let k = Taken::from_local(t, Some(-34200)).unwrap();
        assert_eq!(k.time_zone().as_deref(), Some("UTC-9:30"));
    }

    #[test]
    fn no_exif_is_empty_not_an_error() {
        assert_eq!(read(b""), MediaInfo::default());
        assert_eq!(
            read(&[0xFF, 0xD8, 0xFF, 0xE1, 0, 4, 1, 2]),
            MediaInfo::default()
        );
    }
}
