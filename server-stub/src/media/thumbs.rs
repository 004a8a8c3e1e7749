//! Derived images: a `preview` (JPEG, long side ≤ 1440 px), a `thumbnail` (WebP, short side
//! ≈ 250 px) and a thumbhash, with EXIF orientation applied. The source is decoded once, at the
//! smallest size that still serves both (JPEG: DCT-scaled decode), then resized with
//! `fast_image_resize`. The format comes from the file's bytes, never its name. HEIC goes
//! through Debian's `heif-convert`, videos through an ffmpeg poster frame.

use super::video::{self, ToolError};
use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::DynamicImage;
use image::metadata::Orientation;
use std::io::Cursor;
use std::path::Path;

pub const PREVIEW_LONG_SIDE: u32 = 1440;
pub const THUMB_SHORT_SIDE: u32 = 250;
const PREVIEW_QUALITY: u8 = 80;
const THUMB_QUALITY: f32 = 80.0;
/// Largest source we agree to decode (pixels), against decompression bombs.
const MAX_PIXELS: u64 = 250_000_000;
const MAX_DECODE_BYTES: u64 = 1 << 30;

#[derive(Debug, thiserror::Error)]
pub enum ThumbError {
    /// The file is not an image we can read (corrupt, truncated, unknown format).
    #[error("{0}")]
    Corrupt(String),
    /// Reading the file or running a tool failed; trying again may work.
    #[error("{0}")]
    Transient(String),
}

impl From<ToolError> for ThumbError {
    fn from(e: ToolError) -> Self {
        match e {
            ToolError::Rejected(m) => ThumbError::Corrupt(m),
            ToolError::Unavailable(m) => ThumbError::Transient(m),
        }
    }
}

/// An encoded derived image.
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

pub struct Rendered {
    pub preview: Encoded,
    pub thumbnail: Encoded,
    pub thumbhash: Vec<u8>,
}

/// A decoded RGB image.
struct Rgb {
    buf: Vec<u8>,
    width: u32,
    height: u32,
}

/// What the bytes say a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    Jpeg,
    Heif,
    Other,
}

pub fn sniff(head: &[u8]) -> Sniffed {
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Sniffed::Jpeg
    } else if head.len() >= 12
        && &head[4..8] == b"ftyp"
        && [
            &b"heic"[..],
            b"heix",
            b"heim",
            b"heis",
            b"hevc",
            b"hevx",
            b"mif1",
            b"msf1",
        ]
        .contains(&&head[8..12])
    {
        Sniffed::Heif
    } else {
        Sniffed::Other
    }
}

/// Renders preview, thumbnail and thumbhash of the original at `path`. `is_video` selects the
/// poster-frame path; `scratch` is a directory for tool output (removed by the caller).
pub fn render(path: &Path, is_video: bool, scratch: &Path) -> Result<Rendered, ThumbError> {
    let (src, orientation) = if is_video {
        let png = scratch.join("poster.png");
        video::poster(path, &png)?;
        (decode_generic(&read(&png)?)?, None)
    } else {
        let bytes = read(path)?;
        match sniff(&bytes) {
            Sniffed::Jpeg => {
                let o = super::exif::orientation(&bytes);
                (decode_jpeg(&bytes)?, o)
            }
            Sniffed::Heif => {
                // heif-convert applies the container's rotation itself.
                let jpg = scratch.join("heif.jpg");
                video::run_tool(
                    "heif-convert",
                    &[
                        "-q".as_ref(),
                        "92".as_ref(),
                        path.as_os_str(),
                        jpg.as_os_str(),
                    ],
                )?;
                (decode_jpeg(&read(&jpg)?)?, None)
            }
            Sniffed::Other => {
                let o = super::exif::orientation(&bytes);
                match decode_generic(&bytes) {
                    Ok(img) => (img, o),
                    // RAW files (DNG, CR2, NEF, ARW, ORF, RW2, RAF…) are not decoded; their
                    // embedded JPEG preview stands in, as in Immich.
                    Err(e) => match embedded_preview(&bytes) {
                        Some(jpeg) => (decode_jpeg(jpeg)?, o),
                        None => return Err(e),
                    },
                }
            }
        }
    };
    from_decoded(src, orientation)
}

/// How many embedded JPEG candidates a file may make us look at.
const MAX_EMBEDDED: usize = 64;

/// The largest JPEG embedded in a (RAW) file, by pixel count: RAW formats keep a full-size or
/// screen-size preview next to a tiny thumbnail. Inside a JPEG, `FF D8 FF` only appears at its
/// start (entropy-coded `FF`s are stuffed), so every hit is a candidate image.
pub fn embedded_preview(bytes: &[u8]) -> Option<&[u8]> {
    let mut best: Option<(u64, usize)> = None;
    let mut from = 0;
    for _ in 0..MAX_EMBEDDED {
        let Some(pos) = bytes[from..]
            .windows(3)
            .position(|w| w == [0xFF, 0xD8, 0xFF])
        else {
            break;
        };
        let start = from + pos;
        let reader = image::ImageReader::with_format(
            std::io::Cursor::new(&bytes[start..]),
            image::ImageFormat::Jpeg,
        );
        if let Ok((w, h)) = reader.into_dimensions() {
            let area = u64::from(w) * u64::from(h);
            if best.is_none_or(|(a, _)| area > a) {
                best = Some((area, start));
            }
        }
        from = start + 3;
    }
    best.map(|(_, start)| &bytes[start..])
}

fn read(path: &Path) -> Result<Vec<u8>, ThumbError> {
    let bytes = std::fs::read(path)
        .map_err(|e| ThumbError::Transient(format!("reading {}: {e}", path.display())))?;
    if bytes.is_empty() {
        return Err(ThumbError::Corrupt("the file is empty".into()));
    }
    Ok(bytes)
}

/// The decode size a source needs: large enough for a 1440 px long side and a 250 px short
/// side (or the whole image when it is smaller).
fn needed(width: u32, height: u32) -> (u32, u32) {
    let (long, short) = (width.max(height) as f64, width.min(height).max(1) as f64);
    let f = (PREVIEW_LONG_SIDE as f64 / long)
        .max(THUMB_SHORT_SIDE as f64 / short)
        .min(1.0);
    (
        ((width as f64 * f).ceil() as u32).max(1),
        ((height as f64 * f).ceil() as u32).max(1),
    )
}

/// The byte offset of the first scan (SOS) of a JPEG, walking the segment lengths (so an EXIF
/// thumbnail inside APP1 is skipped).
fn first_scan(bytes: &[u8]) -> Option<usize> {
    let mut pos = 2;
    loop {
        while bytes.get(pos) == Some(&0xFF) && bytes.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        if *bytes.get(pos)? != 0xFF {
            return None;
        }
        let marker = *bytes.get(pos + 1)?;
        if marker == 0xDA {
            return Some(pos);
        }
        let len = u16::from_be_bytes([*bytes.get(pos + 2)?, *bytes.get(pos + 3)?]) as usize;
        if len < 2 {
            return None;
        }
        pos += 2 + len;
    }
}

fn decode_jpeg(bytes: &[u8]) -> Result<Rgb, ThumbError> {
    // A truncated JPEG decodes "successfully" with grey filler; refuse it instead. EOI cannot
    // occur inside entropy-coded data, so a complete file has one after its first scan.
    let sos = first_scan(bytes).ok_or_else(|| ThumbError::Corrupt("not a valid JPEG".into()))?;
    if !bytes[sos..].windows(2).any(|w| w == [0xFF, 0xD9]) {
        return Err(ThumbError::Corrupt("truncated JPEG (no end marker)".into()));
    }
    let mut dec = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    dec.set_max_decoding_buffer_size(MAX_DECODE_BYTES as usize);
    dec.read_info()
        .map_err(|e| ThumbError::Corrupt(format!("invalid JPEG: {e}")))?;
    let info = dec
        .info()
        .ok_or_else(|| ThumbError::Corrupt("JPEG without a frame header".into()))?;
    let (w, h) = (info.width as u32, info.height as u32);
    if w == 0 || h == 0 || w as u64 * h as u64 > MAX_PIXELS {
        return Err(ThumbError::Corrupt(format!(
            "unsupported JPEG size {w}x{h}"
        )));
    }
    let (nw, nh) = needed(w, h);
    let (sw, sh) = dec
        .scale(
            nw.min(u16::MAX as u32) as u16,
            nh.min(u16::MAX as u32) as u16,
        )
        .map_err(|e| ThumbError::Corrupt(format!("invalid JPEG: {e}")))?;
    let pixels = dec
        .decode()
        .map_err(|e| ThumbError::Corrupt(format!("invalid JPEG: {e}")))?;
    let (width, height) = (sw as u32, sh as u32);
    let n = width as usize * height as usize;
    let buf = match dec.info().map(|i| i.pixel_format) {
        Some(jpeg_decoder::PixelFormat::RGB24) => pixels,
        Some(jpeg_decoder::PixelFormat::L8) => pixels.iter().flat_map(|&l| [l, l, l]).collect(),
        Some(jpeg_decoder::PixelFormat::L16) => pixels
            .chunks_exact(2)
            .flat_map(|c| [c[0], c[0], c[0]])
            .collect(),
        Some(jpeg_decoder::PixelFormat::CMYK32) => pixels
            .chunks_exact(4)
            .flat_map(|c| {
                let k = c[3] as u16;
                let ch = |x: u8| ((x as u16 * k) / 255) as u8;
                [ch(c[0]), ch(c[1]), ch(c[2])]
            })
            .collect(),
        None => return Err(ThumbError::Corrupt("JPEG without pixel format".into())),
    };
    if buf.len() != n * 3 {
        return Err(ThumbError::Corrupt("JPEG decoded to the wrong size".into()));
    }
    Ok(Rgb { buf, width, height })
}

fn decode_generic(bytes: &[u8]) -> Result<Rgb, ThumbError> {
    let mut reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| ThumbError::Transient(format!("reading image: {e}")))?;
    if reader.format().is_none() {
        return Err(ThumbError::Corrupt(
            "unsupported or unknown image format".into(),
        ));
    }
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    limits.max_image_width = Some(65_535);
    limits.max_image_height = Some(65_535);
    reader.limits(limits);
    let img = reader
        .decode()
        .map_err(|e| ThumbError::Corrupt(format!("invalid image: {e}")))?;
    Ok(flatten(img))
}

/// RGB over white (transparent PNG/WebP/GIF areas would otherwise turn black).
fn flatten(img: DynamicImage) -> Rgb {
    let (width, height) = (img.width(), img.height());
    let buf = if img.color().has_alpha() {
        img.to_rgba8()
            .pixels()
            .flat_map(|p| {
                let a = p[3] as u16;
                let over = |c: u8| ((c as u16 * a + 255 * (255 - a)) / 255) as u8;
                [over(p[0]), over(p[1]), over(p[2])]
            })
            .collect()
    } else {
        img.to_rgb8().into_raw()
    };
    Rgb { buf, width, height }
}

fn resize(src: &Rgb, width: u32, height: u32) -> Result<Rgb, ThumbError> {
    if (width, height) == (src.width, src.height) {
        return Ok(Rgb {
            buf: src.buf.clone(),
            width,
            height,
        });
    }
    let from =
        fast_image_resize::images::ImageRef::new(src.width, src.height, &src.buf, PixelType::U8x3)
            .map_err(|e| ThumbError::Corrupt(format!("resize: {e}")))?;
    let mut dst = Image::new(width, height, PixelType::U8x3);
    Resizer::new()
        .resize(
            &from,
            &mut dst,
            &ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3)),
        )
        .map_err(|e| ThumbError::Corrupt(format!("resize: {e}")))?;
    Ok(Rgb {
        buf: dst.into_vec(),
        width,
        height,
    })
}

/// Scales (w, h) so the long side is at most `long` (never up).
fn fit_long(w: u32, h: u32, long: u32) -> (u32, u32) {
    scale_to(w, h, w.max(h), long)
}

/// Scales (w, h) so the short side is `short` (never up).
fn fit_short(w: u32, h: u32, short: u32) -> (u32, u32) {
    scale_to(w, h, w.min(h), short)
}

/// Scales (w, h) by `target / side` when `side` is larger than `target`.
fn scale_to(w: u32, h: u32, side: u32, target: u32) -> (u32, u32) {
    if side <= target {
        return (w, h);
    }
    let f = target as f64 / side as f64;
    (
        ((w as f64 * f).round() as u32).max(1),
        ((h as f64 * f).round() as u32).max(1),
    )
}

fn orient(img: Rgb, orientation: Option<u16>) -> Result<Rgb, ThumbError> {
    let Some(o) = orientation
        .filter(|o| *o > 1)
        .and_then(|o| Orientation::from_exif(o as u8))
    else {
        return Ok(img);
    };
    let buf = image::RgbImage::from_raw(img.width, img.height, img.buf)
        .ok_or_else(|| ThumbError::Corrupt("bad pixel buffer".into()))?;
    let mut dynamic = DynamicImage::ImageRgb8(buf);
    dynamic.apply_orientation(o);
    let (width, height) = (dynamic.width(), dynamic.height());
    Ok(Rgb {
        buf: dynamic.into_rgb8().into_raw(),
        width,
        height,
    })
}

fn from_decoded(src: Rgb, orientation: Option<u16>) -> Result<Rendered, ThumbError> {
    // Resize first (cheap on fewer pixels), then rotate the small results.
    let (pw, ph) = fit_long(src.width, src.height, PREVIEW_LONG_SIDE);
    let preview = resize(&src, pw, ph)?;
    let (tw, th) = fit_short(src.width, src.height, THUMB_SHORT_SIDE);
    let thumb_src = if preview.width.min(preview.height) >= tw.min(th) {
        &preview
    } else {
        &src
    };
    let thumb = resize(thumb_src, tw, th)?;
    drop(src);
    let preview = orient(preview, orientation)?;
    let thumb = orient(thumb, orientation)?;
    let (hw, hh) = fit_long(thumb.width, thumb.height, 100);
    let small = resize(&thumb, hw, hh)?;
    let rgba: Vec<u8> = small
        .buf
        .chunks_exact(3)
        .flat_map(|p| [p[0], p[1], p[2], 255])
        .collect();
    let thumbhash = thumbhash::rgba_to_thumb_hash(hw as usize, hh as usize, &rgba);
    Ok(Rendered {
        preview: encode_jpeg(&preview)?,
        thumbnail: encode_webp(&thumb),
        thumbhash,
    })
}

fn encode_jpeg(img: &Rgb) -> Result<Encoded, ThumbError> {
    let mut bytes = Vec::with_capacity(img.buf.len() / 8);
    let (w, h) = (
        u16::try_from(img.width).map_err(|_| ThumbError::Corrupt("too wide".into()))?,
        u16::try_from(img.height).map_err(|_| ThumbError::Corrupt("too tall".into()))?,
    );
    jpeg_encoder::Encoder::new(&mut bytes, PREVIEW_QUALITY)
        .encode(&img.buf, w, h, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| ThumbError::Corrupt(format!("encoding preview: {e}")))?;
    Ok(Encoded {
        bytes,
        width: img.width,
        height: img.height,
    })
}

fn encode_webp(img: &Rgb) -> Encoded {
    let mem = webp::Encoder::from_rgb(&img.buf, img.width, img.height).encode(THUMB_QUALITY);
    Encoded {
        bytes: mem.to_vec(),
        width: img.width,
        height: img.height,
    }
}

/// The image served when an asset has no thumbnail (its job failed or has not run yet): a
/// neutral grey square, made once.
pub fn placeholder(kind: Kind) -> &'static [u8] {
    static THUMB: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    static PREVIEW: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let grey = |side: u32| Rgb {
        buf: vec![0xC8; (side * side * 3) as usize],
        width: side,
        height: side,
    };
    match kind {
        Kind::Thumbnail => THUMB.get_or_init(|| encode_webp(&grey(THUMB_SHORT_SIDE)).bytes),
        Kind::Preview => PREVIEW.get_or_init(|| {
            encode_jpeg(&grey(PREVIEW_LONG_SIDE / 4))
                .map(|e| e.bytes)
                .unwrap_or_default()
        }),
    }
}

/// The two derived sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Thumbnail,
    Preview,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Thumbnail => "thumbnail",
            Kind::Preview => "preview",
        }
    }
    pub fn mime(self) -> &'static str {
        match self {
            Kind::Thumbnail => "image/webp",
            Kind::Preview => "image/jpeg",
        }
    }
    pub fn ext(self) -> &'static str {
        match self {
            Kind::Thumbnail => "webp",
            Kind::Preview => "jpeg",
        }
    }
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "thumbnail" => Some(Kind::Thumbnail),
            "preview" => Some(Kind::Preview),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(w: u16, h: u16) -> Vec<u8> {
        let px: Vec<u8> = (0..w as usize * h as usize)
            .flat_map(|i| [(i % 251) as u8, (i % 13 * 19) as u8, 90])
            .collect();
        let mut out = Vec::new();
        jpeg_encoder::Encoder::new(&mut out, 90)
            .encode(&px, w, h, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        out
    }

    #[test]
    fn sizes_and_orientation() {
        let bytes = jpeg(3000, 2000);
        let src = decode_jpeg(&bytes).unwrap();
        // DCT scaling: decoded at 1/2, still ≥ 1440 on the long side
        assert_eq!((src.width, src.height), (1500, 1000));
        let r = from_decoded(src, Some(6)).unwrap();
        assert_eq!((r.preview.width, r.preview.height), (960, 1440));
        assert_eq!((r.thumbnail.width, r.thumbnail.height), (250, 375));
        assert!(!r.thumbhash.is_empty());
        assert!(r.thumbnail.bytes.starts_with(b"RIFF"));
    }

    #[test]
    fn truncated_and_garbage_are_corrupt() {
        let bytes = jpeg(64, 64);
        let cut = &bytes[..bytes.len() * 2 / 3];
        assert!(matches!(decode_jpeg(cut), Err(ThumbError::Corrupt(_))));
        assert!(matches!(
            decode_generic(b"not an image at all"),
            Err(ThumbError::Corrupt(_))
        ));
        assert!(matches!(
            decode_jpeg(&[0xFF, 0xD8, 0xFF]),
            Err(ThumbError::Corrupt(_))
        ));
        assert_eq!(needed(100, 50), (100, 50));
        assert_eq!(needed(4000, 3000), (1440, 1080));
        assert_eq!(needed(10000, 200), (10000, 200));
        assert!(!placeholder(Kind::Thumbnail).is_empty());
        assert!(!placeholder(Kind::Preview).is_empty());
    }
}
