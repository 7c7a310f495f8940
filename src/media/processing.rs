//! What an uploaded image becomes before it is stored: upright (its EXIF orientation applied),
//! without metadata (EXIF with its GPS position, XMP, IPTC, comments), and with smaller copies
//! for phones. CPU-bound: callers run it on the blocking pool, never on a request's thread.

use std::io::Cursor;

use image::{
    DynamicImage, ImageDecoder, ImageEncoder, ImageFormat, ImageReader, Limits,
    codecs::{jpeg::JpegEncoder, png::PngEncoder, webp::WebPEncoder},
    imageops::FilterType,
    metadata::Orientation,
};
use tokio::sync::Semaphore;

use crate::domain::image::ImageKind;

/// The widths of the smaller copies; only those narrower than the original are made.
pub const VARIANT_WIDTHS: [u32; 3] = [480, 960, 1600];
const JPEG_QUALITY: u8 = 82;
/// A JPEG re-encoded to turn it upright keeps nearly all of its quality.
const UPRIGHT_JPEG_QUALITY: u8 = 92;
/// Bigger than any camera's photo; a "decompression bomb" is refused before it is decoded.
const MAX_SIDE: u32 = 12_000;
/// 50 megapixels: more than a phone's camera makes.
const MAX_PIXELS: u64 = 50_000_000;
/// The decoded picture's bytes (width × height × channels × bytes per channel): 50 megapixels
/// of 8-bit RGBA. A 16-bit PNG counts double, so a small file cannot ask for a gigabyte.
const MAX_DECODED_BYTES: u64 = 200 * 1024 * 1024;
/// What the decoder may allocate besides the picture itself.
const MAX_DECODE_BYTES: u64 = MAX_DECODED_BYTES + 64 * 1024 * 1024;

pub use crate::domain::image::{Processed, Variant};

#[derive(Debug, thiserror::Error)]
pub enum ImagingError {
    #[error("the image could not be read: {0}")]
    Unreadable(#[from] image::ImageError),
    #[error(
        "the image is larger than {MAX_SIDE} pixels on a side, 50 megapixels or 200 MB decoded"
    )]
    TooManyPixels,
    #[error("the image could not be processed")]
    Crashed,
}

fn format_of(kind: ImageKind) -> ImageFormat {
    match kind {
        ImageKind::Jpeg => ImageFormat::Jpeg,
        ImageKind::Png => ImageFormat::Png,
        ImageKind::Gif => ImageFormat::Gif,
        ImageKind::Webp => ImageFormat::WebP,
    }
}

/// One image at a time per process: an upload must not take both cores from readers.
static WORKER: Semaphore = Semaphore::const_new(1);

/// `process` on the blocking pool, one image at a time.
pub async fn process_in_background(
    bytes: Vec<u8>,
    kind: ImageKind,
) -> Result<Processed, ImagingError> {
    let _turn = WORKER
        .acquire()
        .await
        .expect("the semaphore is never closed");
    tokio::task::spawn_blocking(move || process(&bytes, kind))
        .await
        .unwrap_or(Err(ImagingError::Crashed))
}

/// Makes an upload ready to store. An image already upright loses its metadata without being
/// re-encoded (its pixels are the camera's); one that must be turned is re-encoded upright.
pub fn process(bytes: &[u8], kind: ImageKind) -> Result<Processed, ImagingError> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format_of(kind));
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|error| match error {
        image::ImageError::Limits(_) => ImagingError::TooManyPixels,
        other => ImagingError::Unreadable(other),
    })?;
    // The decoded picture, turned and resized, is held several times over: caps on pixels (a
    // 10 MB PNG can hold 144 million) and on their bytes (16-bit channels double them) keep
    // one upload's memory to a few hundred megabytes.
    let (w, h) = decoder.dimensions();
    if u64::from(w) * u64::from(h) > MAX_PIXELS || decoder.total_bytes() > MAX_DECODED_BYTES {
        return Err(ImagingError::TooManyPixels);
    }
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let icc = decoder.icc_profile().ok().flatten();
    let mut image = DynamicImage::from_decoder(decoder).map_err(|error| match error {
        image::ImageError::Limits(_) => ImagingError::TooManyPixels,
        other => ImagingError::Unreadable(other),
    })?;
    let stripped = if orientation == Orientation::NoTransforms {
        strip_metadata(bytes, kind)
    } else {
        None
    };
    let stored = match stripped {
        Some(stripped) => stripped,
        None => {
            image.apply_orientation(orientation);
            encode(&image, kind, UPRIGHT_JPEG_QUALITY, icc.as_deref())?
        }
    };
    let (width, height) = (image.width(), image.height());
    let mut variants = Vec::new();
    // An animation's copies would be still: it is served as uploaded, at every width.
    if !is_animated(bytes, kind) {
        // Widest first, each from the one before: resizing a 12-megapixel photo once instead of
        // three times halves the wait, and a 1600 px picture loses nothing a 960 px copy shows.
        let mut source = None::<DynamicImage>;
        for target in VARIANT_WIDTHS.into_iter().rev().filter(|w| *w < width) {
            let smaller =
                source
                    .as_ref()
                    .unwrap_or(&image)
                    .resize(target, u32::MAX, FilterType::CatmullRom);
            let copy = encode(&smaller, kind, JPEG_QUALITY, icc.as_deref())?;
            // A copy that saves nothing (a lossy WebP made lossless, say) is not worth a request.
            if copy.len() < stored.len() {
                variants.push(Variant {
                    width: smaller.width(),
                    height: smaller.height(),
                    kind,
                    bytes: copy,
                });
            }
            source = Some(smaller);
        }
        variants.reverse();
        if kind == ImageKind::Png {
            variants.extend(webp_copies(&image, &stored, &variants)?);
        }
    }
    Ok(Processed {
        bytes: stored,
        kind,
        width,
        height,
        variants,
    })
}

/// A lossless WebP of a PNG at every width it has, the full one included: kept only when every
/// one is smaller than its PNG (screenshots and drawings), so a browser that takes WebP always
/// finds the width it needs. For photos the PNG's own copies stay.
fn webp_copies(
    image: &DynamicImage,
    stored: &[u8],
    pngs: &[Variant],
) -> Result<Vec<Variant>, ImagingError> {
    let full = encode(image, ImageKind::Webp, JPEG_QUALITY, None)?;
    if full.len() >= stored.len() {
        return Ok(Vec::new());
    }
    let mut webps = vec![Variant {
        width: image.width(),
        height: image.height(),
        kind: ImageKind::Webp,
        bytes: full,
    }];
    for png in pngs {
        let smaller = image.resize(png.width, u32::MAX, FilterType::CatmullRom);
        let webp = encode(&smaller, ImageKind::Webp, JPEG_QUALITY, None)?;
        if webp.len() >= png.bytes.len() {
            return Ok(Vec::new());
        }
        webps.push(Variant {
            width: png.width,
            height: png.height,
            kind: ImageKind::Webp,
            bytes: webp,
        });
    }
    Ok(webps)
}

fn encode(
    image: &DynamicImage,
    kind: ImageKind,
    quality: u8,
    icc: Option<&[u8]>,
) -> Result<Vec<u8>, ImagingError> {
    let mut out = Vec::new();
    match kind {
        ImageKind::Jpeg => {
            let mut encoder = JpegEncoder::new_with_quality(&mut out, quality);
            if let Some(icc) = icc {
                // A colour profile is not personal data, and wide-gamut photos need theirs.
                let _ = encoder.set_icc_profile(icc.to_vec());
            }
            // JPEG has no alpha channel.
            let rgb = DynamicImage::ImageRgb8(image.to_rgb8());
            let image = if image.color().has_alpha() {
                &rgb
            } else {
                image
            };
            image.write_with_encoder(encoder)?;
        }
        ImageKind::Png => {
            let mut encoder = PngEncoder::new(&mut out);
            if let Some(icc) = icc {
                let _ = encoder.set_icc_profile(icc.to_vec());
            }
            image.write_with_encoder(encoder)?;
        }
        ImageKind::Webp => {
            // The only WebP encoder without C code is lossless; it takes 8-bit RGB(A).
            match image {
                DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_) => {
                    image.write_with_encoder(WebPEncoder::new_lossless(&mut out))?;
                }
                other => DynamicImage::ImageRgba8(other.to_rgba8())
                    .write_with_encoder(WebPEncoder::new_lossless(&mut out))?,
            }
        }
        ImageKind::Gif => {
            image.write_to(&mut Cursor::new(&mut out), ImageFormat::Gif)?;
        }
    }
    Ok(out)
}

/// The same file without its metadata, byte for byte otherwise; `None` when the file's layout is
/// not understood (the caller re-encodes it instead).
pub fn strip_metadata(bytes: &[u8], kind: ImageKind) -> Option<Vec<u8>> {
    match kind {
        ImageKind::Jpeg => strip_jpeg(bytes),
        ImageKind::Png => strip_png(bytes),
        ImageKind::Webp => strip_webp(bytes),
        // GIF has no EXIF; its comment and application blocks are kept (animation lives there).
        ImageKind::Gif => Some(bytes.to_vec()),
    }
}

/// Keeps JFIF (APP0), a colour profile (APP2 `ICC_PROFILE`) and Adobe's colour transform (APP14);
/// drops every other application segment (EXIF and XMP in APP1, MPF and its second pictures in
/// APP2, IPTC in APP13, maker data, JFXX thumbnails) and comments, between scans too, and
/// everything after the end of the image (motion-photo videos, gain maps, vendor trailers).
fn strip_jpeg(bytes: &[u8]) -> Option<Vec<u8>> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&[0xFF, 0xD8]);
    let mut at = 2;
    loop {
        // Markers may be preceded by fill bytes.
        while bytes.get(at) == Some(&0xFF) && bytes.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        let (&ff, &marker) = (bytes.get(at)?, bytes.get(at + 1)?);
        if ff != 0xFF {
            return None;
        }
        match marker {
            // End of image: whatever follows is not part of the picture.
            0xD9 => {
                out.extend_from_slice(&[0xFF, 0xD9]);
                return Some(out);
            }
            0x01 | 0xD0..=0xD7 => {
                out.extend_from_slice(&[0xFF, marker]);
                at += 2;
            }
            _ => {
                let length = usize::from(u16::from_be_bytes([
                    *bytes.get(at + 2)?,
                    *bytes.get(at + 3)?,
                ]));
                if length < 2 {
                    return None;
                }
                let end = at + 2 + length;
                let segment = bytes.get(at..end)?;
                let payload = &segment[4..];
                let keep = match marker {
                    0xE0 => payload.starts_with(b"JFIF\0"),
                    0xEE => true,
                    0xE2 => payload.starts_with(b"ICC_PROFILE\0"),
                    0xE1 | 0xE3..=0xED | 0xEF | 0xFE => false,
                    _ => true,
                };
                if keep {
                    out.extend_from_slice(segment);
                }
                at = end;
                // Start of scan: its entropy-coded data runs to the next marker that is neither a
                // stuffed zero nor a restart.
                if marker == 0xDA {
                    let data_start = at;
                    loop {
                        let next = at + bytes.get(at..)?.iter().position(|b| *b == 0xFF)?;
                        match *bytes.get(next + 1)? {
                            0x00 | 0xD0..=0xD7 | 0xFF => at = next + 1,
                            _ => {
                                at = next;
                                break;
                            }
                        }
                    }
                    out.extend_from_slice(&bytes[data_start..at]);
                }
            }
        }
    }
}

/// Keeps only the chunks that make the picture (and its colour, and an animated PNG's frames):
/// text, `eXIf`, `tIME`, provenance and anything unknown are dropped.
fn strip_png(bytes: &[u8]) -> Option<Vec<u8>> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    const KEPT: [&[u8; 4]; 15] = [
        b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"cHRM", b"gAMA", b"iCCP", b"sBIT", b"sRGB",
        b"cICP", b"pHYs", b"acTL", b"fcTL", b"fdAT",
    ];
    if !bytes.starts_with(SIGNATURE) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(SIGNATURE);
    let mut at = SIGNATURE.len();
    while at < bytes.len() {
        let length = u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as usize;
        let end = at.checked_add(12)?.checked_add(length)?;
        let chunk = bytes.get(at..end)?;
        let name = &chunk[4..8];
        if KEPT.iter().any(|kept| kept.as_slice() == name) {
            out.extend_from_slice(chunk);
        }
        at = end;
        if name == b"IEND" {
            return Some(out);
        }
    }
    None
}

/// Keeps only a WebP's picture chunks (and its colour profile and animation), and clears the
/// EXIF and XMP flags in its `VP8X` header.
fn strip_webp(bytes: &[u8]) -> Option<Vec<u8>> {
    const KEPT: [&[u8; 4]; 7] = [
        b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP",
    ];
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WEBP" {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[0..12]);
    let mut at = 12;
    while at + 8 <= bytes.len() {
        let name = &bytes[at..at + 4];
        let size = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().ok()?) as usize;
        // Chunks are padded to an even size.
        let end = at
            .checked_add(8)?
            .checked_add(size)?
            .checked_add(size & 1)?
            .min(bytes.len());
        let chunk = bytes.get(at..end)?;
        if name == b"VP8X" {
            let mut chunk = chunk.to_vec();
            // Flags byte: ICC 0x20, alpha 0x10, EXIF 0x08, XMP 0x04, animation 0x02.
            if let Some(flags) = chunk.get_mut(8) {
                *flags &= !(0x08 | 0x04);
            }
            out.extend_from_slice(&chunk);
        } else if KEPT.iter().any(|kept| kept.as_slice() == name) {
            out.extend_from_slice(chunk);
        }
        at = end;
    }
    let riff_size = u32::try_from(out.len() - 8).ok()?;
    out[4..8].copy_from_slice(&riff_size.to_le_bytes());
    Some(out)
}

/// An animated PNG or WebP: its copies would be still, so none are made.
fn is_animated(bytes: &[u8], kind: ImageKind) -> bool {
    match kind {
        ImageKind::Gif => true,
        ImageKind::Png => bytes.windows(4).take(4096).any(|w| w == b"acTL"),
        ImageKind::Webp => {
            bytes.get(12..16) == Some(b"VP8X") && bytes.get(20).is_some_and(|f| f & 0x02 != 0)
        }
        ImageKind::Jpeg => false,
    }
}

#[cfg(test)]
mod tests {
    use super::samples::phone_jpeg;
    use super::*;
    use image::{Rgb, RgbImage};

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    /// A PNG's header for a picture of `side` × `side` pixels of 16-bit RGBA, with one tiny
    /// IDAT: what a decoder sees before it allocates the picture.
    fn sixteen_bit_png_header(side: u32) -> Vec<u8> {
        fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            out.extend_from_slice(kind);
            out.extend_from_slice(data);
            let mut crc = crc32fast::Hasher::new();
            crc.update(kind);
            crc.update(data);
            out.extend_from_slice(&crc.finalize().to_be_bytes());
        }
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&side.to_be_bytes());
        ihdr.extend_from_slice(&side.to_be_bytes());
        ihdr.extend_from_slice(&[16, 6, 0, 0, 0]);
        chunk(&mut png, b"IHDR", &ihdr);
        chunk(
            &mut png,
            b"IDAT",
            &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
        );
        chunk(&mut png, b"IEND", &[]);
        png
    }

    /// Security review, finding 6: a 393 KB 16-bit PNG of 7070 × 7070 pixels (under 50
    /// megapixels) decodes to 400 MB and cost about a gigabyte to process; it is refused by
    /// its decoded size before anything is allocated. A 16-bit picture of 3000 × 3000 (72 MB)
    /// is within the budget and goes on to be decoded.
    #[test]
    fn decoding_is_bounded_by_the_pictures_bytes_not_only_its_pixels() {
        let bomb = sixteen_bit_png_header(7070);
        assert!(bomb.len() < 100);
        assert!(matches!(
            process(&bomb, ImageKind::Png),
            Err(ImagingError::TooManyPixels)
        ));
        let fair = sixteen_bit_png_header(3000);
        assert!(matches!(
            process(&fair, ImageKind::Png),
            Err(ImagingError::Unreadable(_))
        ));
    }

    #[test]
    fn an_upright_photo_loses_its_exif_and_keeps_its_pixels() {
        let jpeg = phone_jpeg(2000, 1000, 1);
        assert!(contains(&jpeg, b"GPS-SECRET-PLACE") && contains(&jpeg, b"Exif\0\0"));
        let done = process(&jpeg, ImageKind::Jpeg).unwrap();
        assert!(!contains(&done.bytes, b"GPS-SECRET-PLACE"));
        assert!(!contains(&done.bytes, b"Exif\0\0"));
        assert!(!contains(&done.bytes, b"shot by Alex"));
        // Not re-encoded: the scan data is the camera's.
        let scan = |b: &[u8]| b[b.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap()..].to_vec();
        assert_eq!(scan(&done.bytes), scan(&jpeg));
        assert_eq!((done.width, done.height), (2000, 1000));
        let widths: Vec<_> = done.variants.iter().map(|v| (v.width, v.height)).collect();
        assert_eq!(widths, [(480, 240), (960, 480), (1600, 800)]);
        for variant in &done.variants {
            assert_eq!(ImageKind::sniff(&variant.bytes), Some(ImageKind::Jpeg));
            assert!(!contains(&variant.bytes, b"GPS-SECRET-PLACE"));
            assert!(variant.bytes.len() < done.bytes.len());
        }
    }

    #[test]
    fn what_follows_the_picture_and_second_pictures_are_dropped() {
        let jpeg = phone_jpeg(64, 32, 1);
        // An MPF segment (a second picture's index) after the EXIF, and a motion photo's video
        // after the end of the image, as phones write them.
        let mut mpf = vec![0xFF, 0xE2, 0x00, 0x0E];
        mpf.extend_from_slice(b"MPF\0II*\0GPS!");
        let mut tagged = jpeg[..2].to_vec();
        tagged.extend_from_slice(&mpf);
        tagged.extend_from_slice(&jpeg[2..]);
        tagged.extend_from_slice(b"ftypmp42 MOTION-VIDEO-WITH-GPS-SECRET-PLACE");
        let stripped = strip_metadata(&tagged, ImageKind::Jpeg).unwrap();
        assert!(stripped.ends_with(&[0xFF, 0xD9]));
        assert!(!contains(&stripped, b"MOTION-VIDEO"));
        assert!(!contains(&stripped, b"MPF\0"));
        assert!(!contains(&stripped, b"GPS-SECRET-PLACE"));
        assert!(image::load_from_memory(&stripped).is_ok());
        // A file that stops inside its scan is not understood: it is re-encoded instead.
        assert!(strip_metadata(&jpeg[..jpeg.len() - 40], ImageKind::Jpeg).is_none());
    }

    #[test]
    fn an_animated_png_keeps_its_animation_and_gets_no_still_copies() {
        let mut png = Vec::new();
        DynamicImage::ImageRgb8(RgbImage::from_pixel(900, 300, Rgb([10, 200, 10])))
            .write_with_encoder(PngEncoder::new(&mut png))
            .unwrap();
        // An acTL chunk after IHDR: two frames, played forever.
        let body = b"acTL\0\0\0\x02\0\0\0\0";
        let mut chunk = 8u32.to_be_bytes().to_vec();
        chunk.extend_from_slice(body);
        chunk.extend_from_slice(&crc32fast::hash(body).to_be_bytes());
        let mut animated = png[..33].to_vec();
        animated.extend_from_slice(&chunk);
        animated.extend_from_slice(&png[33..]);
        assert!(is_animated(&animated, ImageKind::Png));
        assert!(!is_animated(&png, ImageKind::Png));
        let plain = process(&png, ImageKind::Png).unwrap();
        assert!(!plain.variants.is_empty());
    }

    #[test]
    fn a_sideways_photo_is_turned_upright_first() {
        // Orientation 6: the camera was held on its side; shown turned 90° clockwise.
        let jpeg = phone_jpeg(800, 400, 6);
        let done = process(&jpeg, ImageKind::Jpeg).unwrap();
        assert!(!contains(&done.bytes, b"GPS-SECRET-PLACE"));
        assert_eq!((done.width, done.height), (400, 800));
        let upright = image::load_from_memory(&done.bytes).unwrap().to_rgb8();
        assert_eq!((upright.width(), upright.height()), (400, 800));
        // The left half (red) is now on top.
        let top = upright.get_pixel(200, 100);
        let bottom = upright.get_pixel(200, 700);
        assert!(top[0] > 150 && top[2] < 100, "{top:?}");
        assert!(bottom[2] > 150 && bottom[0] < 100, "{bottom:?}");
        // Narrower than every variant width but 480: one smaller copy.
        assert!(done.variants.is_empty(), "400 px wide needs none");
    }

    #[test]
    fn png_text_and_webp_exif_chunks_are_dropped() {
        let mut png = Vec::new();
        DynamicImage::ImageRgb8(RgbImage::from_pixel(600, 300, Rgb([10, 200, 10])))
            .write_with_encoder(PngEncoder::new(&mut png))
            .unwrap();
        // A tEXt chunk after IHDR (33 bytes in), as editors write them.
        let text = b"tEXtComment\0at home, 12 Elm St";
        let mut chunk = u32::try_from(text.len() - 4)
            .unwrap()
            .to_be_bytes()
            .to_vec();
        chunk.extend_from_slice(text);
        chunk.extend_from_slice(&crc32fast::hash(text).to_be_bytes());
        let mut tagged = png[..33].to_vec();
        tagged.extend_from_slice(&chunk);
        tagged.extend_from_slice(&png[33..]);
        let done = process(&tagged, ImageKind::Png).unwrap();
        assert!(!contains(&done.bytes, b"12 Elm St"));
        assert_eq!(done.bytes, png);
        assert_eq!((done.width, done.height), (600, 300));
        assert!(done.variants.iter().any(|v| v.width == 480));

        let mut webp = Vec::new();
        DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(
            10,
            10,
            image::Rgba([1, 2, 3, 255]),
        ))
        .write_with_encoder(WebPEncoder::new_lossless(&mut webp))
        .unwrap();
        let mut with_exif = webp.clone();
        with_exif.extend_from_slice(b"EXIF\x08\0\0\0GPS-here");
        let size = u32::try_from(with_exif.len() - 8).unwrap();
        with_exif[4..8].copy_from_slice(&size.to_le_bytes());
        let stripped = strip_metadata(&with_exif, ImageKind::Webp).unwrap();
        assert_eq!(stripped, webp);
    }

    /// The stripper reads untrusted bytes by hand: every truncation and many corruptions of a
    /// real JPEG, PNG and WebP (with metadata) must neither panic nor grow the file, and what it
    /// gives back is stripped already (`fuzz/fuzz_targets/strip_metadata.rs` goes further).
    #[test]
    fn the_stripper_survives_truncated_and_corrupted_files() {
        let jpeg = phone_jpeg(64, 48, 1);
        let mut png = Vec::new();
        DynamicImage::ImageRgb8(RgbImage::from_pixel(40, 30, Rgb([10, 200, 10])))
            .write_with_encoder(PngEncoder::new(&mut png))
            .unwrap();
        let mut webp = Vec::new();
        DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(
            8,
            8,
            image::Rgba([1, 2, 3, 255]),
        ))
        .write_with_encoder(WebPEncoder::new_lossless(&mut webp))
        .unwrap();
        for (kind, file) in [
            (ImageKind::Jpeg, jpeg),
            (ImageKind::Png, png),
            (ImageKind::Webp, webp),
        ] {
            let mut inputs: Vec<Vec<u8>> = (0..file.len()).map(|n| file[..n].to_vec()).collect();
            for at in (0..file.len()).step_by(3) {
                for value in [0x00, 0xFF, 0xD9, 0x7F] {
                    let mut broken = file.clone();
                    broken[at] = value;
                    inputs.push(broken);
                }
            }
            for input in inputs {
                if let Some(stripped) = strip_metadata(&input, kind) {
                    assert!(stripped.len() <= input.len(), "{kind:?} grew");
                    if let Some(again) = strip_metadata(&stripped, kind) {
                        assert_eq!(again, stripped, "{kind:?}: stripping twice changes it");
                    }
                }
            }
        }
    }

    #[test]
    fn a_huge_or_broken_image_is_refused() {
        assert!(process(b"\xFF\xD8\xFF\xE0 not really", ImageKind::Jpeg).is_err());
        // A PNG header claiming 50,000 × 50,000 pixels.
        let mut header = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        header.extend_from_slice(&50_000u32.to_be_bytes());
        header.extend_from_slice(&50_000u32.to_be_bytes());
        header.extend_from_slice(&[8, 2, 0, 0, 0]);
        let crc = crc32fast::hash(&header[12..]);
        header.extend_from_slice(&crc.to_be_bytes());
        assert!(matches!(
            process(&header, ImageKind::Png),
            Err(ImagingError::TooManyPixels)
        ));
    }
}

/// Images made for tests (here and in `tests/`), never used by Folio itself.
#[doc(hidden)]
pub mod samples {
    use image::{DynamicImage, Rgb, RgbImage, codecs::jpeg::JpegEncoder};

    /// A JPEG as a phone writes one: JFIF, then EXIF with a GPS position and an orientation.
    pub fn phone_jpeg(width: u32, height: u32, orientation: u16) -> Vec<u8> {
        let image = RgbImage::from_fn(width, height, |x, y| {
            // Left half red, right half blue: where the halves end up shows the rotation.
            let shade = (y % 7) as u8;
            if x < width / 2 {
                Rgb([220 + shade, 30, 30])
            } else {
                Rgb([30, 30, 220 + shade])
            }
        });
        let mut plain = Vec::new();
        DynamicImage::ImageRgb8(image)
            .write_with_encoder(JpegEncoder::new_with_quality(&mut plain, 90))
            .unwrap();
        // A little-endian TIFF with IFD0 holding Orientation and a GPS IFD pointer.
        let mut tiff = Vec::new();
        tiff.extend_from_slice(b"II*\0\x08\0\0\0");
        tiff.extend_from_slice(&2u16.to_le_bytes());
        tiff.extend_from_slice(&0x0112u16.to_le_bytes());
        tiff.extend_from_slice(&3u16.to_le_bytes());
        tiff.extend_from_slice(&1u32.to_le_bytes());
        tiff.extend_from_slice(&u32::from(orientation).to_le_bytes());
        tiff.extend_from_slice(&0x8825u16.to_le_bytes());
        tiff.extend_from_slice(&4u16.to_le_bytes());
        tiff.extend_from_slice(&1u32.to_le_bytes());
        tiff.extend_from_slice(&38u32.to_le_bytes());
        tiff.extend_from_slice(&0u32.to_le_bytes());
        // GPS IFD: GPSLatitudeRef "N" and a marker text to look for afterwards.
        tiff.extend_from_slice(&1u16.to_le_bytes());
        tiff.extend_from_slice(&0x0001u16.to_le_bytes());
        tiff.extend_from_slice(&2u16.to_le_bytes());
        tiff.extend_from_slice(&2u32.to_le_bytes());
        tiff.extend_from_slice(b"N\0\0\0");
        tiff.extend_from_slice(&0u32.to_le_bytes());
        tiff.extend_from_slice(b"GPS-SECRET-PLACE");
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend_from_slice(&tiff);
        let mut jpeg = plain[..2].to_vec();
        jpeg.extend_from_slice(&[0xFF, 0xE1]);
        jpeg.extend_from_slice(&u16::try_from(app1.len() + 2).unwrap().to_be_bytes());
        jpeg.extend_from_slice(&app1);
        jpeg.extend_from_slice(&[0xFF, 0xFE, 0x00, 0x0F]);
        jpeg.extend_from_slice(b"shot by Alex");
        jpeg.extend_from_slice(&[0]);
        jpeg.extend_from_slice(&plain[2..]);
        jpeg
    }
}
