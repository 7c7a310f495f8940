//! Measures brotli and gzip levels on real pages, to choose the levels the page cache keeps
//! (a miss pays for one of each) and the compression layer uses for uncached responses.
//!
//!   cargo run --release --example compression-levels -- PAGE.html [PAGE.xml ...]
//!
//! `bench/compression-levels` saves pages from a demo blog and writes bench/COMPRESSION.md.

use std::{io::Write, time::Instant};

/// Each level compresses each page this many times; the median is reported.
const RUNS: usize = 15;

fn main() {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() {
        eprintln!("usage: compression-levels PAGE [PAGE ...]");
        std::process::exit(2);
    }
    let (chosen_br, chosen_gzip) = folio::page_cache::COMPRESSION_LEVELS;
    for path in paths {
        let page = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        println!();
        println!("### {path}: {} bytes", page.len());
        println!();
        println!("| encoding | level | bytes | ratio | µs per page (median of {RUNS}) | MB/s |");
        println!("| --- | --- | --- | --- | --- | --- |");
        for quality in 1..=11 {
            row("br", quality, quality == chosen_br, &page, brotli);
        }
        for level in 1..=9 {
            row("gzip", level, level == chosen_gzip, &page, gzip);
        }
    }
}

fn row(name: &str, level: u32, chosen: bool, page: &[u8], compress: fn(&[u8], u32) -> Vec<u8>) {
    let mut times = Vec::with_capacity(RUNS);
    let mut size = 0;
    for _ in 0..RUNS {
        let started = Instant::now();
        size = compress(page, level).len();
        times.push(started.elapsed().as_secs_f64() * 1e6);
    }
    times.sort_by(f64::total_cmp);
    let micros = times[RUNS / 2];
    println!(
        "| {name} | {level}{} | {size} | {:.1}% | {micros:.0} | {:.0} |",
        if chosen { " (chosen)" } else { "" },
        100.0 * size as f64 / page.len() as f64,
        page.len() as f64 / micros,
    );
}

fn brotli(page: &[u8], quality: u32) -> Vec<u8> {
    let mut writer = brotli::CompressorWriter::new(Vec::new(), 4096, quality, 22);
    writer.write_all(page).unwrap();
    writer.into_inner()
}

fn gzip(page: &[u8], level: u32) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
    encoder.write_all(page).unwrap();
    encoder.finish().unwrap()
}
