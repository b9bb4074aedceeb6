//! `basalt hfile`: the HFile tool (HBase's `HFilePrettyPrinter`, plus check and rewrite).

pub mod cells;
pub mod check;
pub mod info;
pub mod rewrite;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};

use crate::cli::tour;
use crate::error::Result;

/// Arguments of `basalt hfile`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  basalt hfile tour\n  basalt hfile info  data/f1/3c1e5a0b\n  basalt hfile cells data/f1/3c1e5a0b --limit 20\n  basalt hfile check data/*/f1/*\n  basalt hfile rewrite old.hfile new.hfile --compression lz4 --encoding fast_diff"
)]
pub struct HfileArgs {
    /// The HFile subcommand.
    #[command(subcommand)]
    pub command: HfileCommand,
}

/// The subcommands of `basalt hfile`.
#[derive(Debug, Subcommand)]
pub enum HfileCommand {
    /// Show a file's trailer, FileInfo, index, Bloom filters, block counts and key range.
    #[command(after_help = "Example:\n  basalt hfile info /tmp/basalt-tour/users.hfile")]
    Info(info::InfoArgs),
    /// Print cells in file order: row, family:qualifier, timestamp, type, sequence id, value.
    #[command(
        after_help = "Bytes that are not printable ASCII (and the backslash) are shown as \\xNN, like the HBase shell.\n\nExamples:\n  basalt hfile cells /tmp/basalt-tour/users.hfile --limit 10\n  basalt hfile cells /tmp/basalt-tour/users.hfile --format json | jq -r .row"
    )]
    Cells(cells::CellsArgs),
    /// Verify files block by block: checksums, cell order, index, trailer, FileInfo, Blooms.
    #[command(
        after_help = "Prints every problem as `FILE: offset N: message` and one summary line per file.\nExit code 0 only if every file is sound, 1 otherwise.\n\nExample:\n  basalt hfile check hbase-data/TestTable/*/f1/*"
    )]
    Check(check::CheckArgs),
    /// Rewrite any readable HFile (v2 or v3) as HFile v3 with new options, cell for cell.
    #[command(
        after_help = "Options you leave out keep the input file's setting (block size defaults to 64 KiB).\nSequence ids, tags, MAX_SEQ_ID_KEY, MAJOR_COMPACTION_KEY and BULKLOAD_TIMESTAMP are kept.\n\nExample:\n  basalt hfile rewrite old.hfile new.hfile --compression lz4 --encoding fast_diff --bloom row"
    )]
    Rewrite(rewrite::RewriteArgs),
    /// A guided tour: write a sample file, inspect it, check it, rewrite it.
    #[command(after_help = "Example:\n  basalt hfile tour --dir /tmp/basalt-tour --cells 200000")]
    Tour(tour::TourArgs),
}

/// Block compression choices on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CompressionArg {
    /// No compression.
    None,
    /// gzip, as HBase's GZ.
    #[value(alias = "gzip")]
    Gz,
    /// LZ4 with Hadoop framing, as HBase's LZ4.
    Lz4,
}

impl From<CompressionArg> for hfile::Compression {
    fn from(c: CompressionArg) -> Self {
        match c {
            CompressionArg::None => hfile::Compression::None,
            CompressionArg::Gz => hfile::Compression::Gz,
            CompressionArg::Lz4 => hfile::Compression::Lz4,
        }
    }
}

/// Data block encoding choices on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EncodingArg {
    /// Cells stored as plain KeyValues.
    None,
    /// HBase's FAST_DIFF prefix/diff encoding of keys.
    #[value(name = "fast_diff", alias = "fast-diff")]
    FastDiff,
}

impl From<EncodingArg> for hfile::DataBlockEncoding {
    fn from(e: EncodingArg) -> Self {
        match e {
            EncodingArg::None => hfile::DataBlockEncoding::None,
            EncodingArg::FastDiff => hfile::DataBlockEncoding::FastDiff,
        }
    }
}

/// Bloom filter choices on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BloomArg {
    /// No Bloom filter.
    None,
    /// Bloom filter over row keys.
    Row,
    /// Bloom filter over row + qualifier.
    Rowcol,
}

impl From<BloomArg> for hfile::BloomType {
    fn from(b: BloomArg) -> Self {
        match b {
            BloomArg::None => hfile::BloomType::None,
            BloomArg::Row => hfile::BloomType::Row,
            BloomArg::Rowcol => hfile::BloomType::RowCol,
        }
    }
}

/// Output formats of `basalt hfile cells`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Aligned text like the HBase shell's `scan`.
    Table,
    /// JSON lines: one object per cell.
    Json,
}

/// The file arguments, checked to exist before any work starts.
pub fn existing_file(path: &std::path::Path) -> Result<PathBuf> {
    let meta = std::fs::metadata(path).map_err(|e| crate::error::Error::io(path, e))?;
    if meta.is_dir() {
        return Err(crate::error::Error::Usage(format!(
            "{} is a directory; pass HFiles (for example {}/*/f1/*)",
            path.display(),
            path.display()
        )));
    }
    Ok(path.to_path_buf())
}

/// Runs `basalt hfile ...`, writing to standard output.
pub fn run(args: HfileArgs) -> Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let code = match args.command {
        HfileCommand::Info(a) => info::run(&a, &mut out).map(|_| ExitCode::SUCCESS),
        HfileCommand::Cells(a) => cells::run(&a, &mut out).map(|_| ExitCode::SUCCESS),
        HfileCommand::Check(a) => check::run(&a, &mut out).map(|sound| {
            if sound {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }),
        HfileCommand::Rewrite(a) => rewrite::run(&a, &mut out).map(|_| ExitCode::SUCCESS),
        HfileCommand::Tour(a) => tour::run(&a, &mut out).map(|_| ExitCode::SUCCESS),
    };
    // Flush what was printed even when the command failed part-way.
    let flushed = out.flush();
    let code = code?;
    flushed?;
    Ok(code)
}
