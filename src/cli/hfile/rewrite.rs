//! `basalt hfile rewrite`: any readable HFile (v2 or v3) → HFile v3 with new options.
//!
//! Every cell is carried over exactly (key, value, tags, sequence id), in the input's
//! comparator order (the 0.94 catalog files keep their meta comparator). The store-file
//! metadata HBase keeps in FileInfo (`MAX_SEQ_ID_KEY`, `MAJOR_COMPACTION_KEY`,
//! `BULKLOAD_TIMESTAMP`, ...) is carried over too. The output is written next to its final
//! name and renamed into place only once complete.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use hfile::fileinfo::keys;
use hfile::{BloomType, Compression, DataBlockEncoding, Reader, Writer, WriterOptions};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{BloomArg, CompressionArg, EncodingArg};
use crate::display;
use crate::error::{Error, Result};

/// Arguments of `basalt hfile rewrite`.
#[derive(Debug, Args)]
pub struct RewriteArgs {
    /// The HFile to read (v2 or v3).
    #[arg(value_name = "IN")]
    pub input: PathBuf,
    /// Where to write the HFile v3.
    #[arg(value_name = "OUT")]
    pub output: PathBuf,
    /// Block compression (default: the input's).
    #[arg(long, value_enum)]
    pub compression: Option<CompressionArg>,
    /// Data block encoding (default: the input's).
    #[arg(long, value_enum)]
    pub encoding: Option<EncodingArg>,
    /// Bloom filter type (default: the input's).
    #[arg(long, value_enum)]
    pub bloom: Option<BloomArg>,
    /// Target uncompressed data block size, in bytes (suffixes k/m accepted: 64k).
    #[arg(long, value_name = "BYTES", default_value = "65536", value_parser = parse_size)]
    pub block_size: usize,
    /// Replace OUT if it exists.
    #[arg(long)]
    pub force: bool,
}

/// Parses a byte size: `65536`, `64k`, `64KiB`, `1m`.
pub fn parse_size(s: &str) -> std::result::Result<usize, String> {
    let t = s.trim().to_ascii_lowercase();
    let (digits, mult) = if let Some(d) = t
        .strip_suffix("kib")
        .or_else(|| t.strip_suffix("kb"))
        .or_else(|| t.strip_suffix('k'))
    {
        (d, 1024)
    } else if let Some(d) = t
        .strip_suffix("mib")
        .or_else(|| t.strip_suffix("mb"))
        .or_else(|| t.strip_suffix('m'))
    {
        (d, 1024 * 1024)
    } else {
        (t.strip_suffix('b').unwrap_or(&t), 1)
    };
    let n: usize = digits
        .trim()
        .parse()
        .map_err(|_| format!("not a byte size: {s}"))?;
    let bytes = n
        .checked_mul(mult)
        .ok_or_else(|| format!("byte size too large: {s}"))?;
    if bytes == 0 || bytes > 1 << 30 {
        return Err(format!(
            "block size must be between 1 byte and 1 GiB, got {s}"
        ));
    }
    Ok(bytes)
}

/// What to change; `None` keeps the input's setting.
#[derive(Clone, Copy, Debug)]
pub struct RewriteOptions {
    /// Block compression.
    pub compression: Option<Compression>,
    /// Data block encoding.
    pub encoding: Option<DataBlockEncoding>,
    /// Bloom filter type.
    pub bloom: Option<BloomType>,
    /// Target data block size.
    pub block_size: usize,
    /// Replace the output if it exists.
    pub force: bool,
    /// Show a progress bar on a terminal.
    pub progress: bool,
}

/// The settings of one side of a rewrite, for the summary.
#[derive(Clone, Debug)]
pub struct FileSettings {
    /// `major.minor`.
    pub version: String,
    /// Compression name.
    pub compression: &'static str,
    /// Encoding name.
    pub encoding: &'static str,
    /// Bloom filter type name.
    pub bloom: &'static str,
}

impl FileSettings {
    fn of(r: &Reader) -> Self {
        FileSettings {
            version: format!(
                "v{}.{}",
                r.trailer().major_version,
                r.trailer().minor_version
            ),
            compression: r.compression().name(),
            encoding: r.encoding().name(),
            bloom: r.bloom_type().name(),
        }
    }
}

/// What a rewrite did.
#[derive(Clone, Debug)]
pub struct RewriteStats {
    /// The input file.
    pub input: PathBuf,
    /// The output file.
    pub output: PathBuf,
    /// Cells copied.
    pub cells: u64,
    /// Input file size.
    pub bytes_in: u64,
    /// Output file size.
    pub bytes_out: u64,
    /// Key and value bytes of the cells.
    pub cell_bytes: u64,
    /// Data blocks written.
    pub data_blocks: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Settings of the input.
    pub from: FileSettings,
    /// Settings of the output.
    pub to: FileSettings,
}

/// Runs `basalt hfile rewrite`.
pub fn run(args: &RewriteArgs, out: &mut dyn Write) -> Result<()> {
    let opts = RewriteOptions {
        compression: args.compression.map(Into::into),
        encoding: args.encoding.map(Into::into),
        bloom: args.bloom.map(Into::into),
        block_size: args.block_size,
        force: args.force,
        progress: true,
    };
    let stats = rewrite(&args.input, &args.output, &opts)?;
    print_summary(&stats, out)
}

/// `OUT.tmp`: where the output is written before it is renamed into place.
fn temp_path(output: &Path) -> PathBuf {
    let mut name = output.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

/// Rewrites `input` into `output` as HFile v3.
pub fn rewrite(input: &Path, output: &Path, opts: &RewriteOptions) -> Result<RewriteStats> {
    let input = super::existing_file(input)?;
    if output.exists() {
        let a = std::fs::canonicalize(&input).map_err(|e| Error::io(&input, e))?;
        let b = std::fs::canonicalize(output).map_err(|e| Error::io(output, e))?;
        if a == b {
            return Err(Error::Usage(format!(
                "{} is the input file; write the rewrite somewhere else",
                output.display()
            )));
        }
        if !opts.force {
            return Err(Error::Usage(format!(
                "{} exists; pass --force to replace it",
                output.display()
            )));
        }
    }
    let start = Instant::now();
    let reader = Reader::open(&input, None)?;
    let writer_opts = WriterOptions {
        block_size: opts.block_size,
        compression: opts.compression.unwrap_or(reader.compression()),
        encoding: opts.encoding.unwrap_or(reader.encoding()),
        bloom_type: opts.bloom.unwrap_or(reader.bloom_type()),
        comparator: reader.comparator(),
        compress_threads: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        ..WriterOptions::default()
    };
    let tmp = temp_path(output);
    let result = copy_cells(&reader, &tmp, writer_opts, opts.progress);
    let summary = match result {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    std::fs::rename(&tmp, output).map_err(|e| Error::io(output, e))?;
    let written = Reader::open(output, None)?;
    Ok(RewriteStats {
        input: input.clone(),
        output: output.to_path_buf(),
        cells: summary.entries,
        bytes_in: reader.file_size(),
        bytes_out: summary.file_size,
        cell_bytes: summary.raw_bytes,
        data_blocks: summary.data_blocks,
        elapsed: start.elapsed(),
        from: FileSettings::of(&reader),
        to: FileSettings::of(&written),
    })
}

/// Streams every cell of `reader` into a new file at `path`, with the store-file metadata.
fn copy_cells(
    reader: &std::sync::Arc<Reader>,
    path: &Path,
    opts: WriterOptions,
    progress: bool,
) -> Result<hfile::WriteSummary> {
    let mut w = Writer::create(path, opts)?;
    let fi = reader.file_info();
    if let Some(seq) = reader.max_seq_id() {
        w.set_max_seq_id(seq);
    }
    if fi.get(keys::MAJOR_COMPACTION_KEY).is_some() {
        w.set_major_compaction(reader.is_major_compaction());
    }
    if let Some(t) = reader.bulk_load_time() {
        w.set_bulk_load_time(t);
    }
    for key in [
        keys::BULKLOAD_TASK_KEY,
        keys::EXCLUDE_FROM_MINOR_COMPACTION_KEY,
    ] {
        if let Some(v) = fi.get(key) {
            w.append_file_info(key, v.to_vec());
        }
    }
    let bar = if progress {
        let bar =
            ProgressBar::with_draw_target(Some(reader.entry_count()), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "{bar:40} {human_pos}/{human_len} cells  {per_sec}  eta {eta}",
        ) {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut scanner = reader.scanner();
    let mut more = scanner.seek_to_first()?;
    let mut n = 0u64;
    while more {
        let Some(cell) = scanner.current() else { break };
        w.append(&cell)?;
        n += 1;
        if n.is_multiple_of(65_536) {
            bar.set_position(n);
        }
        more = scanner.next()?;
    }
    bar.finish_and_clear();
    Ok(w.finish()?)
}

/// Prints the one-screen summary of a rewrite.
pub fn print_summary(s: &RewriteStats, out: &mut dyn Write) -> Result<()> {
    let secs = s.elapsed.as_secs_f64();
    let side = |f: &FileSettings| {
        format!(
            "{} {} {} bloom={}",
            f.version, f.compression, f.encoding, f.bloom
        )
    };
    writeln!(
        out,
        "Rewrote {} -> {}",
        s.input.display(),
        s.output.display()
    )?;
    writeln!(out, "  {:<12} {}", "cells", display::count(s.cells))?;
    writeln!(
        out,
        "  {:<12} {:>10}  ({})",
        "input",
        display::size(s.bytes_in),
        side(&s.from)
    )?;
    writeln!(
        out,
        "  {:<12} {:>10}  ({}, {} data block(s))",
        "output",
        display::size(s.bytes_out),
        side(&s.to),
        display::count(s.data_blocks)
    )?;
    let ratio = if s.bytes_in > 0 {
        s.bytes_out as f64 / s.bytes_in as f64
    } else {
        0.0
    };
    let packing = if s.bytes_out > 0 {
        s.cell_bytes as f64 / s.bytes_out as f64
    } else {
        0.0
    };
    writeln!(
        out,
        "  {:<12} output is {:.2}x the input; {} of cell data / output = {:.2}",
        "ratio",
        ratio,
        display::size(s.cell_bytes),
        packing
    )?;
    writeln!(
        out,
        "  {:<12} {:.3} s  ({} of cell data, {} cells/s)",
        "elapsed",
        secs,
        display::mb_per_s(s.cell_bytes, secs),
        if secs > 0.0 {
            display::count((s.cells as f64 / secs) as u64)
        } else {
            "-".into()
        }
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_with_suffixes() {
        assert_eq!(parse_size("65536"), Ok(65536));
        assert_eq!(parse_size("64k"), Ok(65536));
        assert_eq!(parse_size("64KiB"), Ok(65536));
        assert_eq!(parse_size("1m"), Ok(1 << 20));
        assert_eq!(parse_size("512b"), Ok(512));
        assert!(parse_size("0").is_err());
        assert!(parse_size("lots").is_err());
        assert!(parse_size("2048m").is_err());
    }
}
