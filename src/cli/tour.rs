//! `basalt hfile tour`: the first command to run. Writes a realistic sample HFile and walks
//! through the HFile tool on it (info, cells, Bloom-filtered gets, check, rewrite), printing
//! each command it stands for so the reader can run them next. Grows into
//! `basalt quickstart` once the engine lands.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use std::sync::atomic::Ordering;

use hfile::{
    BlockCache, BloomType, Cell, CellView, Compression, DataBlockEncoding, Reader, Writer,
    WriterOptions,
};

use crate::cli::hfile::{cells, check, info, rewrite, FormatArg};
use crate::display;
use crate::error::{Error, Result};
use crate::sample::SampleCells;

/// Arguments of `basalt hfile tour`.
#[derive(Debug, Args)]
pub struct TourArgs {
    /// Directory for the sample files (created if missing; default: <temp dir>/basalt-tour).
    #[arg(long, value_name = "D")]
    pub dir: Option<PathBuf>,
    /// Number of sample cells to write.
    #[arg(long, value_name = "N", default_value_t = 200_000)]
    pub cells: u64,
}

fn step(out: &mut dyn Write, n: u32, title: &str) -> Result<()> {
    writeln!(out)?;
    writeln!(out, "[{n}/6] {title}")?;
    writeln!(out, "{}", "-".repeat(title.len() + 6))?;
    Ok(())
}

/// Runs the tour.
pub fn run(args: &TourArgs, out: &mut dyn Write) -> Result<()> {
    let started = Instant::now();
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("basalt-tour"));
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let sample = dir.join("users.hfile");
    let gz = dir.join("users-gz.hfile");
    let exe = "basalt";

    writeln!(out, "Basalt HFile tour")?;
    writeln!(out, "=================")?;
    writeln!(
        out,
        "Basalt reads and writes HBase's own store-file format (HFile v3, and v2 for reading)."
    )?;
    writeln!(
        out,
        "This tour writes a sample file, looks inside it, verifies it and rewrites it,"
    )?;
    writeln!(
        out,
        "using the same `basalt hfile` commands you can run yourself afterwards."
    )?;

    // 1. Write.
    step(
        out,
        1,
        &format!(
            "Write {} sample cells (LZ4, FAST_DIFF, ROW bloom)",
            display::count(args.cells)
        ),
    )?;
    out.flush()?;
    let (summary, elapsed, probe_row) = write_sample(&sample, args.cells)?;
    let secs = elapsed.as_secs_f64();
    writeln!(out, "table `users`, family `d`: name, email, city, plan, last_login (8-byte long), visits (up to 3 versions),")?;
    writeln!(out, "plus DeleteColumn and DeleteFamily markers")?;
    writeln!(
        out,
        "wrote {} -> {} ({} of cell data) in {:.3} s, {}",
        display::count(summary.entries),
        display::size(summary.file_size),
        display::size(summary.raw_bytes),
        secs,
        display::mb_per_s(summary.raw_bytes, secs)
    )?;
    writeln!(out, "file: {}", sample.display())?;

    // 2. Info.
    step(out, 2, &format!("{exe} hfile info {}", sample.display()))?;
    let reader = Reader::open(&sample, None)?;
    info::print_info(&reader, out)?;

    // 3. Cells.
    step(
        out,
        3,
        &format!("{exe} hfile cells {} --limit 12", sample.display()),
    )?;
    cells::print_cells(&reader, Some(12), FormatArg::Table, out)?;

    // 4. Gets.
    step(
        out,
        4,
        "Point gets: the Bloom filter answers before any data block is read",
    )?;
    let cached = Reader::open(&sample, Some(BlockCache::new(64 << 20)))?;
    for row in [probe_row.as_slice(), b"user99999999x".as_slice()] {
        // Read the Bloom chunk first (the reader keeps it), so the count below is data blocks.
        let may = cached.may_contain_row(row)?;
        let before = cached.stats().blocks_read.load(Ordering::Relaxed);
        let got = cached.get_row(row)?;
        let blocks = cached.stats().blocks_read.load(Ordering::Relaxed) - before;
        writeln!(
            out,
            "get {:<14} bloom: {:<12} -> {} cells, {blocks} data block(s) read",
            display::binary(row),
            if may { "may contain" } else { "absent" },
            got.len()
        )?;
        for cell in got.iter().take(2) {
            writeln!(out, "{}", cells::cell_line(cell))?;
        }
    }

    // 5. Check.
    step(out, 5, &format!("{exe} hfile check {}", sample.display()))?;
    let report = hfile::verify::check(&sample);
    check::print_report(&report, out)?;
    if !report.is_sound() {
        return Err(Error::Failed(format!(
            "the sample file {} did not pass its check",
            sample.display()
        )));
    }

    // 6. Rewrite.
    step(
        out,
        6,
        &format!(
            "{exe} hfile rewrite {} {} --compression gz --force",
            sample.display(),
            gz.display()
        ),
    )?;
    out.flush()?;
    let opts = rewrite::RewriteOptions {
        compression: Some(Compression::Gz),
        encoding: None,
        bloom: None,
        block_size: 64 * 1024,
        force: true,
        progress: false,
    };
    let stats = rewrite::rewrite(&sample, &gz, &opts)?;
    rewrite::print_summary(&stats, out)?;
    let gz_report = hfile::verify::check(&gz);
    check::print_report(&gz_report, out)?;
    if !gz_report.is_sound() {
        return Err(Error::Failed(format!(
            "the rewritten file {} did not pass its check",
            gz.display()
        )));
    }
    let same = same_cells(&sample, &gz)?;
    writeln!(
        out,
        "cells identical after the rewrite: {}",
        if same { "yes" } else { "NO" }
    )?;
    if !same {
        return Err(Error::Failed("the rewrite changed cells".into()));
    }

    writeln!(out)?;
    writeln!(out, "Summary")?;
    writeln!(out, "-------")?;
    writeln!(
        out,
        "{} cells written, inspected, checked and rewritten in {:.2} s.",
        display::count(summary.entries),
        started.elapsed().as_secs_f64()
    )?;
    writeln!(
        out,
        "LZ4 + FAST_DIFF: {}   GZ + FAST_DIFF: {}   (cell data: {})",
        display::size(summary.file_size),
        display::size(stats.bytes_out),
        display::size(summary.raw_bytes)
    )?;
    writeln!(out)?;
    writeln!(out, "Try next")?;
    writeln!(out, "--------")?;
    let s = sample.display();
    let d = dir.display();
    for line in [
        format!("{exe} hfile cells {s} --limit 20"),
        format!("{exe} hfile cells {s} --format json --limit 3"),
        format!("{exe} hfile check {d}/*.hfile"),
        format!("{exe} hfile rewrite {s} {d}/plain.hfile --compression none --encoding none --bloom rowcol"),
        "basalt hfile info ../shared/fixtures/hbase-0.94/table-dir/-ROOT-/70236052/info/*   (files HBase 0.94 wrote)".to_string(),
        "basalt hfile --help".to_string(),
    ] {
        writeln!(out, "  {line}")?;
    }
    writeln!(
        out,
        "(from a checkout, `cargo run --release --` stands for `basalt`)"
    )?;
    Ok(())
}

/// Writes the sample file; returns its summary, the time taken and one row that exists.
fn write_sample(
    path: &Path,
    cells: u64,
) -> Result<(hfile::WriteSummary, std::time::Duration, Vec<u8>)> {
    let opts = WriterOptions {
        compression: Compression::Lz4,
        encoding: DataBlockEncoding::FastDiff,
        bloom_type: BloomType::Row,
        compress_threads: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        ..WriterOptions::default()
    };
    let start = Instant::now();
    let mut w = Writer::create(path, opts)?;
    let probe_at = cells / 3;
    let mut probe: Vec<u8> = Vec::new();
    for (i, cell) in SampleCells::new(cells).enumerate() {
        if i as u64 == probe_at {
            probe = cell.row().to_vec();
        }
        w.append(&cell)?;
    }
    let summary = w.finish()?;
    Ok((summary, start.elapsed(), probe))
}

/// Whether two files hold exactly the same cells (every field, in order).
fn same_cells(a: &Path, b: &Path) -> Result<bool> {
    let ra = Reader::open(a, None)?;
    let rb = Reader::open(b, None)?;
    let mut ia = ra.cells();
    let mut ib = rb.cells();
    loop {
        match (ia.next(), ib.next()) {
            (None, None) => return Ok(true),
            (Some(x), Some(y)) => {
                let (x, y): (Cell, Cell) = (x?, y?);
                if x != y {
                    return Ok(false);
                }
            }
            _ => return Ok(false),
        }
    }
}
