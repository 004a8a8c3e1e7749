//! XMP sidecars (`IMG_1234.jpg.xmp` / `IMG_1234.xmp` uploaded as Immich's `sidecarData`): the
//! date a photo was taken, which — as in Immich — wins over the file's own EXIF when present.
//! A deliberately small reader: the three date properties, as attributes or elements.

use super::exif::Taken;
use chrono::{DateTime, NaiveDate, NaiveDateTime};

/// Largest sidecar accepted; real ones are a few KiB.
pub const MAX_BYTES: usize = 1 << 20;

/// The properties that say when the photo was taken, most specific first.
const DATE_PROPERTIES: &[&str] = &[
    "exif:DateTimeOriginal",
    "photoshop:DateCreated",
    "xmp:CreateDate",
];

/// When the sidecar says the photo was taken, if it says so in a form we can read.
pub fn taken(xml: &str) -> Option<Taken> {
    DATE_PROPERTIES
        .iter()
        .filter_map(|p| property(xml, p))
        .find_map(|v| parse_date(&v))
}

/// The value of `name`, written either `name="v"` or `<name>v</name>`.
fn property(xml: &str, name: &str) -> Option<String> {
    let attr = format!("{name}=");
    if let Some(i) = xml.find(&attr) {
        let rest = &xml[i + attr.len()..];
        let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let rest = &rest[1..];
        return rest.find(quote).map(|end| rest[..end].trim().to_owned());
    }
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find('<')?;
    Some(xml[start..start + end].trim().to_owned())
}

/// XMP dates are ISO 8601 with optional time, fraction and offset; EXIF-style `2019:07:04
/// 10:11:12` shows up in the wild too.
fn parse_date(v: &str) -> Option<Taken> {
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Taken::from_local(t.naive_local(), Some(t.offset().local_minus_utc()));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M%:z"] {
        if let Ok(t) = DateTime::parse_from_str(v, fmt) {
            return Taken::from_local(t.naive_local(), Some(t.offset().local_minus_utc()));
        }
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y:%m:%d %H:%M:%S",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(v, fmt) {
            return Taken::from_local(t, None);
        }
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|t| Taken::from_local(t, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_dates_as_attributes_or_elements_and_prefers_the_original() {
        let attr = r#"<rdf:Description xmp:CreateDate="2001-01-01T00:00:00"
            exif:DateTimeOriginal="2015-08-09T10:11:12+02:00"/>"#;
        let t = taken(attr).unwrap();
        assert_eq!(t.utc.to_rfc3339(), "2015-08-09T08:11:12+00:00");
        assert_eq!(t.offset_secs, Some(7200));
        let elem = "<x><photoshop:DateCreated>2019-07-04</photoshop:DateCreated></x>";
        assert_eq!(
            taken(elem).unwrap().local.to_string(),
            "2019-07-04 00:00:00"
        );
        let exif_style = "<exif:DateTimeOriginal>2018:05:06 07:08:09</exif:DateTimeOriginal>";
        assert_eq!(taken(exif_style).unwrap().offset_secs, None);
        assert!(taken("<x/>").is_none());
        assert!(taken(r#"exif:DateTimeOriginal="yesterday""#).is_none());
        assert!(taken(r#"exif:DateTimeOriginal="unterminated"#).is_none());
    }
}
