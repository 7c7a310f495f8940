//! How long an upload waits for `processing::process` (upright, metadata stripped, 480/960/1600 px
//! copies) on phone-sized photos, and how big the copies are.
//!
//!   cargo run --release --example image-processing
//!
//! `bench/images` runs it and writes bench/IMAGES.md.

use std::time::Instant;

use folio::{domain::image::ImageKind, media::processing};
use image::{DynamicImage, Rgb, RgbImage, codecs::jpeg::JpegEncoder};

const RUNS: usize = 5;

/// A photo-like picture: smooth light with fine grain, which JPEG cannot squeeze away.
fn grainy_photo(width: u32, height: u32) -> Vec<u8> {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let image = RgbImage::from_fn(width, height, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let grain = (seed % 24) as u8;
        Rgb([
            ((x * 200 / width) as u8).saturating_add(grain),
            ((y * 180 / height) as u8).saturating_add(grain),
            (((x + y) * 120 / (width + height)) as u8).saturating_add(grain),
        ])
    });
    let mut jpeg = Vec::new();
    DynamicImage::ImageRgb8(image)
        .write_with_encoder(JpegEncoder::new_with_quality(&mut jpeg, 88))
        .unwrap();
    jpeg
}

/// The photo with a phone's EXIF (orientation and a GPS block) in front of its pixels.
fn with_exif(photo: &[u8], orientation: u16) -> Vec<u8> {
    let tagged = processing::samples::phone_jpeg(16, 16, orientation);
    // The sample's EXIF and comment segments sit between its SOI and its own JFIF APP0.
    let app0 = tagged
        .windows(2)
        .position(|w| w == [0xFF, 0xE0])
        .expect("JFIF");
    let mut out = tagged[..app0].to_vec();
    out.extend_from_slice(&photo[2..]);
    out
}

fn main() {
    println!(
        "| photo | orientation | upload | stored | copies (bytes) | ms per image (median of {RUNS}) |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    for (width, height) in [(4000u32, 3000u32), (3024, 4032), (1200, 900)] {
        let photo = grainy_photo(width, height);
        for orientation in [1u16, 6] {
            let upload = with_exif(&photo, orientation);
            let mut times = Vec::new();
            let mut last = None;
            for _ in 0..RUNS {
                let started = Instant::now();
                let done = processing::process(&upload, ImageKind::Jpeg).expect("processed");
                times.push(started.elapsed().as_secs_f64() * 1000.0);
                last = Some(done);
            }
            times.sort_by(f64::total_cmp);
            let done = last.unwrap();
            let copies = done
                .variants
                .iter()
                .map(|v| format!("{} px: {}", v.width, v.bytes.len()))
                .collect::<Vec<_>>()
                .join(", ");
            println!(
                "| {width}×{height} JPEG | {orientation} | {} | {}×{}, {} | {copies} | {:.0} |",
                upload.len(),
                done.width,
                done.height,
                done.bytes.len(),
                times[RUNS / 2]
            );
        }
    }
}
