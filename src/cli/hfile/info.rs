//! `basalt hfile info`: what HBase's `HFilePrettyPrinter -m` shows, decoded.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use hfile::bloom::BloomMeta;
use hfile::cell::key_to_string;
use hfile::verify::walk_blocks;
use hfile::Reader;

use crate::display;
use crate::error::Result;

/// Arguments of `basalt hfile info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// The HFiles to describe (one report each).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// Runs `basalt hfile info`.
pub fn run(args: &InfoArgs, out: &mut dyn Write) -> Result<()> {
    for (i, file) in args.files.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        let path = super::existing_file(file)?;
        let reader = Reader::open(&path, None)?;
        print_info(&reader, out)?;
    }
    Ok(())
}

/// Prints the description of an open file.
pub fn print_info(r: &Arc<Reader>, out: &mut dyn Write) -> Result<()> {
    let t = r.trailer();
    writeln!(out, "File: {}", r.path().display())?;
    writeln!(
        out,
        "Size: {} ({} bytes)",
        display::size(r.file_size()),
        display::count(r.file_size())
    )?;
    writeln!(out)?;
    writeln!(out, "Trailer")?;
    let compression = hfile::Compression::from_ordinal(t.compression_codec)
        .map(|c| c.name().to_string())
        .unwrap_or_else(|name| name);
    let rows: Vec<(&str, String)> = vec![
        (
            "version",
            format!("{}.{}", t.major_version, t.minor_version),
        ),
        ("fileInfoOffset", t.file_info_offset.to_string()),
        ("loadOnOpenDataOffset", t.load_on_open_offset.to_string()),
        ("dataIndexCount", t.data_index_count.to_string()),
        ("metaIndexCount", t.meta_index_count.to_string()),
        (
            "totalUncompressedBytes",
            t.total_uncompressed_bytes.to_string(),
        ),
        ("entryCount", t.entry_count.to_string()),
        (
            "compressionCodec",
            format!("{compression} (ordinal {})", t.compression_codec),
        ),
        (
            "uncompressedDataIndexSize",
            t.uncompressed_data_index_size.to_string(),
        ),
        ("numDataIndexLevels", t.num_data_index_levels.to_string()),
        (
            "firstDataBlockOffset",
            t.first_data_block_offset.to_string(),
        ),
        ("lastDataBlockOffset", t.last_data_block_offset.to_string()),
        (
            "comparatorClassName",
            format!("{} ({:?})", t.comparator_class_name, r.comparator()),
        ),
        ("encrypted", t.encrypted.to_string()),
    ];
    for (k, v) in rows {
        writeln!(out, "  {k:<27} {v}")?;
    }
    writeln!(out)?;
    writeln!(out, "FileInfo ({} entries)", r.file_info().len())?;
    let bloom_type = r.bloom_type();
    for (k, v) in r.file_info().iter() {
        let name = display::binary(k);
        writeln!(
            out,
            "  {name:<27} {}",
            display::file_info_value(k, v, bloom_type)
        )?;
    }
    writeln!(out)?;
    writeln!(out, "Cells")?;
    writeln!(out, "  {:<27} {}", "encoding", r.encoding().name())?;
    let format = r.cell_format();
    writeln!(
        out,
        "  {:<27} tags={} mvcc={}",
        "cell format", format.tags, format.mvcc
    )?;
    writeln!(out, "  {:<27} {}", "count", display::count(r.entry_count()))?;
    let first = r
        .first_key()
        .map(key_to_string)
        .unwrap_or_else(|| "(none)".into());
    let last = r
        .last_key()
        .map(key_to_string)
        .unwrap_or_else(|| "(none)".into());
    writeln!(out, "  {:<27} {first}", "first key")?;
    writeln!(out, "  {:<27} {last}", "last key")?;
    if let Some((min, max)) = r.time_range() {
        writeln!(
            out,
            "  {:<27} {}",
            "time range",
            display::time_range(min, max)
        )?;
    }
    writeln!(out)?;
    writeln!(out, "Data index")?;
    writeln!(out, "  {:<27} {}", "levels", t.num_data_index_levels)?;
    writeln!(out, "  {:<27} {}", "root entries", r.root_index().len())?;
    writeln!(out, "  {:<27} {}", "meta blocks", r.meta_index().len())?;
    writeln!(out)?;
    write_bloom(out, "Bloom filter", r.bloom_meta(), bloom_type.name())?;
    write_bloom(
        out,
        "Delete-family Bloom filter",
        r.delete_family_bloom_meta(),
        "ROW",
    )?;
    writeln!(out)?;
    let walk = walk_blocks(r);
    writeln!(
        out,
        "Blocks ({} between offset 0 and the trailer at {})",
        walk.blocks.len(),
        r.trailer_offset()
    )?;
    for (block_type, n) in walk.counts() {
        let on_disk: u64 = walk
            .blocks
            .iter()
            .filter(|b| b.block_type == block_type)
            .map(|b| b.on_disk_size)
            .sum();
        let magic = String::from_utf8_lossy(block_type.magic()).into_owned();
        writeln!(
            out,
            "  {:<22} {:<9} {:>8} blocks {:>10}",
            format!("{block_type:?}"),
            magic,
            display::count(n),
            display::size(on_disk)
        )?;
    }
    if let Some(p) = walk.error {
        writeln!(
            out,
            "  block walk stopped at {p} (run `basalt hfile check` for details)"
        )?;
    }
    Ok(())
}

fn write_bloom(
    out: &mut dyn Write,
    title: &str,
    meta: Option<&BloomMeta>,
    kind: &str,
) -> Result<()> {
    match meta {
        None => writeln!(out, "{title}: none")?,
        Some(m) => {
            writeln!(out, "{title}: {kind}")?;
            writeln!(out, "  {:<27} {}", "chunks", m.chunks.len())?;
            writeln!(
                out,
                "  {:<27} {}",
                "keys",
                display::count(m.key_count.max(0) as u64)
            )?;
            writeln!(
                out,
                "  {:<27} {}",
                "max keys",
                display::count(m.max_keys.max(0) as u64)
            )?;
            writeln!(out, "  {:<27} {} (murmur)", "hash functions", m.hash_count)?;
            writeln!(
                out,
                "  {:<27} {} ({} bytes)",
                "total size",
                display::size(m.total_byte_size.max(0) as u64),
                m.total_byte_size
            )?;
        }
    }
    Ok(())
}
