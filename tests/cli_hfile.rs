//! End-to-end tests of `basalt hfile`: the built binary run against generated files and
//! against the real HBase 0.94 files in `shared/fixtures`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use bytes::Bytes;
use hfile::{
    BloomType, Cell, CellType, CellView, Comparator, Compression, DataBlockEncoding, Reader,
    Writer, WriterOptions,
};

fn basalt(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_basalt"))
        .args(args)
        .output()
        .expect("run the basalt binary")
}

fn basalt_paths(args: &[&str], paths: &[PathBuf]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_basalt"))
        .args(args)
        .args(paths)
        .output()
        .expect("run the basalt binary")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn fixture_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/hbase-0.94/table-dir")
}

/// Every HFile of the fixtures: `TestTable/*/f1/*`, `-META-/*/info/*`, `-ROOT-/*/info/*`.
fn fixture_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for (table, family) in [("TestTable", "f1"), ("-META-", "info"), ("-ROOT-", "info")] {
        let dir = fixture_root().join(table);
        for region in std::fs::read_dir(&dir).expect("fixture table dir") {
            let fam = region.expect("dir entry").path().join(family);
            if let Ok(files) = std::fs::read_dir(&fam) {
                for f in files {
                    out.push(f.expect("dir entry").path());
                }
            }
        }
    }
    out.sort();
    assert_eq!(out.len(), 21, "the fixtures hold 21 HFiles");
    out
}

const TEST_TABLE_FILE: &str =
    "TestTable/1cafe36762571054f4b534ce276bc1b8/f1/88e4c5ec21534db68b8863c283a2ba93";
const ROOT_FILE: &str = "-ROOT-/70236052/info/1e31f96af9104ead9c1e9769ce698918";

/// Diverse cells in file order: binary rows, every key type, versions, tags, sequence ids,
/// empty and large values.
fn sample_cells(rows: usize) -> Vec<Cell> {
    let mut cells = Vec::new();
    for i in 0..rows {
        let mut row = format!("row{i:06}").into_bytes();
        if i % 17 == 0 {
            row.extend_from_slice(&[0x00, 0xff, b'\\', b'"']);
        }
        let row = Bytes::from(row);
        let ts = 1_700_000_000_000 + i as i64;
        let mk = |q: &'static [u8],
                  ts: i64,
                  kind: CellType,
                  value: Vec<u8>,
                  seq: u64,
                  tags: &'static [u8]| Cell {
            row: row.clone(),
            family: Bytes::from_static(b"cf"),
            qualifier: Bytes::from_static(q),
            timestamp: ts,
            type_code: kind.code(),
            value: Bytes::from(value),
            tags: Bytes::from_static(tags),
            seq_id: seq,
        };
        let seq = 10 + i as u64;
        if i % 29 == 0 {
            cells.push(mk(b"", ts + 5, CellType::DeleteFamily, vec![], seq, b""));
        }
        if i % 31 == 0 {
            cells.push(mk(
                b"",
                ts + 4,
                CellType::DeleteFamilyVersion,
                vec![],
                seq,
                b"",
            ));
        }
        cells.push(mk(
            b"a",
            ts,
            CellType::Put,
            format!("value-{i}").into_bytes(),
            seq,
            b"",
        ));
        if i % 7 == 0 {
            cells.push(mk(b"b", ts + 2, CellType::DeleteColumn, vec![], seq, b""));
            cells.push(mk(b"b", ts + 1, CellType::Delete, vec![], seq, b""));
        }
        cells.push(mk(b"b", ts, CellType::Put, vec![], seq, b"\x00\x04\x01tag")); // empty value, a tag
        for v in 0..(i % 3) as i64 {
            cells.push(mk(
                b"c",
                ts - v,
                CellType::Put,
                (v as u64).to_be_bytes().to_vec(),
                seq,
                b"",
            ));
        }
        if i % 97 == 5 {
            cells.push(mk(b"big", ts, CellType::Put, vec![b'x'; 70_000], seq, b""));
        }
    }
    cells.sort_by(|a, b| Comparator::Default.compare_cells(a, b));
    cells
}

fn write_file(path: &Path, opts: WriterOptions, cells: &[Cell]) {
    let mut w = Writer::create(path, opts).expect("create");
    for c in cells {
        w.append(c).expect("append");
    }
    w.finish().expect("finish");
}

fn read_cells(path: &Path) -> Vec<Cell> {
    let r = Reader::open(path, None).expect("open");
    r.cells()
        .collect::<Result<Vec<_>, _>>()
        .expect("read cells")
}

#[test]
fn every_command_has_help_with_an_example() {
    for cmd in [
        &["hfile"][..],
        &["hfile", "info"],
        &["hfile", "cells"],
        &["hfile", "check"],
        &["hfile", "rewrite"],
        &["hfile", "tour"],
    ] {
        let mut args = cmd.to_vec();
        args.push("--help");
        let o = basalt(&args);
        assert!(o.status.success(), "{cmd:?} --help failed: {}", stderr(&o));
        let text = stdout(&o);
        assert!(
            text.contains("Example"),
            "{cmd:?} --help has no example:\n{text}"
        );
        assert!(
            text.contains("basalt hfile"),
            "{cmd:?} --help example does not show a command:\n{text}"
        );
    }
}

#[test]
fn info_decodes_a_real_hbase_file() {
    let f = fixture_root().join(TEST_TABLE_FILE);
    let o = basalt_paths(&["hfile", "info"], &[f]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    for line in [
        "version                     2.0",
        "entryCount                  100",
        "numDataIndexLevels          1",
        "compressionCodec            NONE (ordinal 2)",
        "comparatorClassName         org.apache.hadoop.hbase.KeyValue$KeyComparator (Default)",
        "MAJOR_COMPACTION_KEY        true",
        "MAX_SEQ_ID_KEY              108",
        "hfile.AVG_KEY_LEN           20",
        "TIMERANGE                   [1344395649324, 1344395649851] (2012-08-08T03:14:09.324Z .. 2012-08-08T03:14:09.851Z)",
        "hfile.LASTKEY               row99/f1:c1/1344395649849/Put",
        "first key                   row1/f1:c1/1344395649324/Put",
        "Bloom filter: none",
        "Data                   DATABLK*         1 blocks",
        "RootIndex              IDXROOT2         2 blocks",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }

    // Several files: one report each, in order.
    let files = [
        fixture_root().join(TEST_TABLE_FILE),
        fixture_root().join(ROOT_FILE),
    ];
    let o = basalt_paths(&["hfile", "info"], &files);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert_eq!(text.matches("\nTrailer\n").count(), 2, "{text}");
    assert!(
        text.contains(
            "comparatorClassName         org.apache.hadoop.hbase.KeyValue$RootKeyComparator (Meta)"
        ),
        "{text}"
    );
}

#[test]
fn info_shows_bloom_and_multi_level_index_of_a_generated_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("f.hfile");
    let opts = WriterOptions {
        block_size: 256,
        index_chunk_size: 512,
        compression: Compression::Lz4,
        encoding: DataBlockEncoding::FastDiff,
        bloom_type: BloomType::RowCol,
        ..WriterOptions::default()
    };
    let cells = sample_cells(600);
    write_file(&f, opts, &cells);
    let r = Reader::open(&f, None).expect("open");
    assert!(
        r.trailer().num_data_index_levels >= 3,
        "want a 3-level index, got {}",
        r.trailer().num_data_index_levels
    );
    let o = basalt_paths(&["hfile", "info"], std::slice::from_ref(&f));
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains(&format!(
            "numDataIndexLevels          {}",
            r.trailer().num_data_index_levels
        )),
        "{text}"
    );
    assert!(text.contains("Bloom filter: ROWCOL"), "{text}");
    assert!(text.contains("Delete-family Bloom filter: ROW"), "{text}");
    assert!(text.contains("IntermediateIndex"), "{text}");
    assert!(text.contains("LeafIndex"), "{text}");
    assert!(
        text.contains(&format!("entryCount                  {}", cells.len())),
        "{text}"
    );
    assert!(
        text.contains("DATA_BLOCK_ENCODING         FAST_DIFF"),
        "{text}"
    );
    assert!(
        text.contains("compressionCodec            LZ4 (ordinal 4)"),
        "{text}"
    );
}

#[test]
fn cells_prints_real_hbase_cells_like_the_shell() {
    let f = fixture_root().join(TEST_TABLE_FILE);
    let o = basalt_paths(&["hfile", "cells", "--limit", "2"], &[f]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<String> = stdout(&o).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert!(
        lines[0].starts_with(" ROW") && lines[0].ends_with("COLUMN+CELL"),
        "{lines:?}"
    );
    let expect1 = format!(
        " {:<29} {}",
        "row1", "column=f1:c1, timestamp=1344395649324, type=Put, seqid=0, value=1"
    );
    assert_eq!(lines[1], expect1);
    assert!(
        lines[2].starts_with(" row10 ") && lines[2].ends_with("value=10"),
        "{lines:?}"
    );
    assert_eq!(lines[3], "2 of 100 cell(s)");

    // The -ROOT- catalog file: binary values rendered as \xNN.
    let f = fixture_root().join(ROOT_FILE);
    let o = basalt_paths(&["hfile", "cells"], &[f]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains(" .META.,,1"), "{text}");
    assert!(text.contains("column=info:server, timestamp=1344395584242, type=Put, seqid=0, value=10.10.11.105:52612"), "{text}");
    assert!(text.contains("column=info:serverstartcode, timestamp=1344395584242, type=Put, seqid=0, value=\\x00\\x00\\x019\\x048{e"), "{text}");
    assert!(text.trim_end().ends_with("2 cell(s)"), "{text}");
}

#[test]
fn cells_json_is_one_escaped_object_per_line() {
    let f = fixture_root().join(ROOT_FILE);
    let o = basalt_paths(&["hfile", "cells", "--format", "json"], &[f]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let objs: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(objs.len(), 2);
    assert_eq!(objs[0]["row"], ".META.,,1");
    assert_eq!(objs[0]["family"], "info");
    assert_eq!(objs[0]["qualifier"], "server");
    assert_eq!(objs[0]["timestamp"], 1344395584242i64);
    assert_eq!(objs[0]["type"], "Put");
    assert_eq!(objs[0]["seq_id"], 0);
    assert_eq!(objs[0]["value"], "10.10.11.105:52612");
    assert_eq!(objs[1]["value"], "\\x00\\x00\\x019\\x048{e");

    // Rows with NUL, 0xFF, backslash and quote survive the trip through JSON.
    let dir = tempfile::tempdir().expect("tempdir");
    let g = dir.path().join("g.hfile");
    let cells = sample_cells(40);
    write_file(&g, WriterOptions::default(), &cells);
    let o = basalt_paths(
        &["hfile", "cells", "--format", "json", "--limit", "5"],
        std::slice::from_ref(&g),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let objs: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(objs.len(), 5);
    for (obj, cell) in objs.iter().zip(&cells) {
        let row = obj["row"].as_str().expect("row is a string");
        assert_eq!(hfile::cell::from_string_binary(row), cell.row().to_vec());
        assert_eq!(obj["seq_id"], cell.seq_id());
        assert_eq!(
            obj["tags"].as_str().map(hfile::cell::from_string_binary),
            Some(cell.tags().to_vec())
        );
    }
    assert_eq!(objs[0]["row"], "row000000\\x00\\xFF\\x5C\"");
    assert_eq!(objs[0]["type"], "DeleteFamily");
}

#[test]
fn check_passes_on_every_fixture() {
    let files = fixture_files();
    let o = basalt_paths(&["hfile", "check"], &files);
    let text = stdout(&o);
    assert!(
        o.status.success(),
        "check failed on the fixtures:\n{text}{}",
        stderr(&o)
    );
    assert_eq!(
        text.lines().filter(|l| l.contains(": OK (")).count(),
        21,
        "{text}"
    );
    assert!(
        text.contains("checked 21 files: 21 OK, 0 with problems"),
        "{text}"
    );
    let total: u64 = text
        .lines()
        .filter_map(|l| l.split(": OK (").nth(1))
        .filter_map(|rest| rest.split(' ').next())
        .map(|n| n.replace(',', "").parse::<u64>().expect("cell count"))
        .sum();
    assert_eq!(total, 746, "the fixtures hold 746 cells");
}

#[test]
fn check_passes_on_fresh_files_of_every_option_combination() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cells = sample_cells(400);
    let mut files = Vec::new();
    for compression in [Compression::None, Compression::Gz, Compression::Lz4] {
        for encoding in [DataBlockEncoding::None, DataBlockEncoding::FastDiff] {
            for bloom in [BloomType::None, BloomType::Row, BloomType::RowCol] {
                for (block_size, chunk, threads) in [(65_536, 128 * 1024, 1), (300, 400, 2)] {
                    let f = dir.path().join(format!(
                        "{}-{}-{}-{block_size}.hfile",
                        compression.name(),
                        encoding.name(),
                        bloom.name()
                    ));
                    let opts = WriterOptions {
                        block_size,
                        compression,
                        encoding,
                        bloom_type: bloom,
                        index_chunk_size: chunk,
                        compress_threads: threads,
                        ..WriterOptions::default()
                    };
                    write_file(&f, opts, &cells);
                    files.push(f);
                }
            }
        }
    }
    // An empty file and a one-cell file are sound too.
    let empty = dir.path().join("empty.hfile");
    write_file(&empty, WriterOptions::default(), &[]);
    files.push(empty);
    let one = dir.path().join("one.hfile");
    write_file(&one, WriterOptions::default(), &cells[..1]);
    files.push(one);

    let o = basalt_paths(&["hfile", "check"], &files);
    let text = stdout(&o);
    assert!(
        o.status.success(),
        "check found problems in files written by hfile::Writer:\n{text}{}",
        stderr(&o)
    );
    let expected_ok = format!("OK ({} cells,", fmt_count(cells.len()));
    assert_eq!(
        text.lines().filter(|l| l.contains(&expected_ok)).count(),
        36,
        "{text}"
    );
    assert!(text.contains("empty.hfile: OK (0 cells"), "{text}");
    assert!(text.contains("one.hfile: OK (1 cells"), "{text}");
}

/// Offset of the `n`th data block of a file.
fn data_block_offset(path: &Path, n: usize) -> u64 {
    let r = Reader::open(path, None).expect("open");
    let walk = hfile::verify::walk_blocks(&r);
    assert!(walk.error.is_none());
    walk.blocks
        .iter()
        .filter(|b| b.block_type.is_data())
        .nth(n)
        .expect("enough data blocks")
        .offset
}

#[test]
fn check_names_the_offset_of_a_flipped_byte() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cells = sample_cells(300);
    for compression in [Compression::None, Compression::Gz] {
        let f = dir
            .path()
            .join(format!("flip-{}.hfile", compression.name()));
        let opts = WriterOptions {
            block_size: 1024,
            compression,
            ..WriterOptions::default()
        };
        write_file(&f, opts, &cells);
        let off = data_block_offset(&f, 2);
        let mut bytes = std::fs::read(&f).expect("read");
        bytes[off as usize + 33 + 40] ^= 0x10;
        std::fs::write(&f, &bytes).expect("write");

        let o = basalt_paths(&["hfile", "check"], std::slice::from_ref(&f));
        let text = stdout(&o);
        assert_eq!(o.status.code(), Some(1), "{text}");
        let name = f.display().to_string();
        assert!(
            text.contains(&format!("{name}: offset {off}: checksum mismatch")),
            "{text}"
        );
        assert!(text.contains(&format!("{name}: FAILED")), "{text}");
        // The undamaged blocks are still verified: every other cell is counted.
        assert!(!text.contains(&format!("({} cells", cells.len())), "{text}");
    }
}

#[test]
fn check_fails_on_truncated_and_foreign_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("good.hfile");
    write_file(&good, WriterOptions::default(), &sample_cells(200));
    let bytes = std::fs::read(&good).expect("read");
    let half = dir.path().join("half.hfile");
    std::fs::write(&half, &bytes[..bytes.len() / 2]).expect("write");
    let tiny = dir.path().join("tiny.hfile");
    std::fs::write(&tiny, &bytes[..3]).expect("write");
    let missing = dir.path().join("missing.hfile");
    let foreign = fixture_root().join("TestTable/1cafe36762571054f4b534ce276bc1b8/.regioninfo");

    for f in [&half, &tiny, &missing, &foreign] {
        let o = basalt_paths(&["hfile", "check"], &[good.clone(), f.clone()]);
        let text = stdout(&o);
        assert_eq!(o.status.code(), Some(1), "{}: {text}", f.display());
        let name = f.display().to_string();
        let problem = text
            .lines()
            .find(|l| l.starts_with(&format!("{name}: offset ")))
            .unwrap_or_else(|| panic!("no problem line for {name}:\n{text}"));
        assert!(problem.contains("cannot open"), "{problem}");
        assert!(
            text.contains(&format!("{}: OK (", good.display())),
            "{text}"
        );
        assert!(
            text.contains("checked 2 files: 1 OK, 1 with problems"),
            "{text}"
        );
    }
    // The half file names the offset where the trailer should have started.
    let o = basalt_paths(&["hfile", "check"], std::slice::from_ref(&half));
    let expected = (bytes.len() / 2).saturating_sub(4096);
    assert!(
        stdout(&o).contains(&format!("offset {expected}: cannot open")),
        "{}",
        stdout(&o)
    );
}

#[test]
fn info_and_cells_fail_cleanly_on_bad_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.hfile");
    std::fs::write(&bad, b"definitely not an hfile").expect("write");
    for cmd in ["info", "cells"] {
        let o = basalt_paths(&["hfile", cmd], std::slice::from_ref(&bad));
        assert_eq!(o.status.code(), Some(1), "{cmd}");
        let err = stderr(&o);
        assert!(err.starts_with("basalt: error: "), "{err}");
        assert!(err.contains("bad.hfile"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let o = basalt_paths(&["hfile", "info"], &[dir.path().to_path_buf()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("is a directory"), "{}", stderr(&o));
}

#[test]
fn rewrite_preserves_every_fixture_cell_for_cell() {
    let dir = tempfile::tempdir().expect("tempdir");
    let choices = [
        [
            "--compression",
            "none",
            "--encoding",
            "none",
            "--bloom",
            "none",
        ],
        [
            "--compression",
            "gz",
            "--encoding",
            "fast_diff",
            "--bloom",
            "row",
        ],
        [
            "--compression",
            "lz4",
            "--encoding",
            "fast_diff",
            "--bloom",
            "rowcol",
        ],
        [
            "--compression",
            "lz4",
            "--encoding",
            "none",
            "--bloom",
            "row",
        ],
    ];
    let mut outputs = Vec::new();
    for (i, f) in fixture_files().iter().enumerate() {
        let out = dir.path().join(format!("rewritten-{i}.hfile"));
        let mut args = vec!["hfile", "rewrite"];
        args.extend_from_slice(&choices[i % choices.len()]);
        args.extend_from_slice(&["--block-size", if i % 2 == 0 { "64k" } else { "200" }]);
        let o = Command::new(env!("CARGO_BIN_EXE_basalt"))
            .args(&args)
            .arg(f)
            .arg(&out)
            .output()
            .expect("run");
        assert!(
            o.status.success(),
            "rewrite of {} failed: {}",
            f.display(),
            stderr(&o)
        );
        assert!(stdout(&o).contains("Rewrote"), "{}", stdout(&o));

        let before = Reader::open(f, None).expect("open input");
        let after = Reader::open(&out, None).expect("open output");
        assert_eq!(after.trailer().major_version, 3);
        assert_eq!(after.comparator(), before.comparator(), "{}", f.display());
        assert_eq!(after.max_seq_id(), before.max_seq_id(), "{}", f.display());
        assert_eq!(
            after.is_major_compaction(),
            before.is_major_compaction(),
            "{}",
            f.display()
        );
        assert_eq!(read_cells(&out), read_cells(f), "cells of {}", f.display());
        assert_eq!(after.entry_count(), before.entry_count());
        outputs.push(out);
    }
    let o = basalt_paths(&["hfile", "check"], &outputs);
    assert!(
        o.status.success(),
        "rewritten fixtures fail check:\n{}",
        stdout(&o)
    );
}

#[test]
fn rewrite_keeps_tags_sequence_ids_and_store_file_metadata() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in.hfile");
    let cells = sample_cells(500);
    let mut w = Writer::create(
        &input,
        WriterOptions {
            include_mvcc: true,
            ..WriterOptions::default()
        },
    )
    .expect("create");
    for c in &cells {
        w.append(c).expect("append");
    }
    w.set_max_seq_id(9_999);
    w.set_major_compaction(true);
    w.set_bulk_load_time(1_700_000_123_456);
    w.finish().expect("finish");

    let out = dir.path().join("out.hfile");
    let o = basalt_paths(
        &[
            "hfile",
            "rewrite",
            "--compression",
            "gz",
            "--encoding",
            "fast_diff",
        ],
        &[input.clone(), out.clone()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains(&format!("cells        {}", fmt_count(cells.len()))),
        "{text}"
    );
    assert!(text.contains("GZ FAST_DIFF bloom=ROW"), "{text}");
    let r = Reader::open(&out, None).expect("open");
    assert_eq!(r.compression(), Compression::Gz);
    assert_eq!(r.encoding(), DataBlockEncoding::FastDiff);
    assert_eq!(
        r.bloom_type(),
        BloomType::Row,
        "the input's bloom type is kept"
    );
    assert_eq!(r.max_seq_id(), Some(9_999));
    assert!(r.is_major_compaction());
    assert_eq!(r.bulk_load_time(), Some(1_700_000_123_456));
    let got = read_cells(&out);
    assert_eq!(got, cells);
    assert!(got.iter().any(|c| !c.tags().is_empty()));
    assert!(!dir.path().join("out.hfile.tmp").exists());
}

fn fmt_count(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[test]
fn rewrite_refuses_to_clobber() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in.hfile");
    write_file(&input, WriterOptions::default(), &sample_cells(50));
    let before = std::fs::read(&input).expect("read");

    let o = basalt_paths(&["hfile", "rewrite"], &[input.clone(), input.clone()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("is the input file"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(&input).expect("read"),
        before,
        "the input was modified"
    );

    let other = dir.path().join("other.hfile");
    std::fs::write(&other, b"keep me").expect("write");
    let o = basalt_paths(&["hfile", "rewrite"], &[input.clone(), other.clone()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&other).expect("read"), b"keep me");

    let o = basalt_paths(
        &["hfile", "rewrite", "--force"],
        &[input.clone(), other.clone()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(read_cells(&other), read_cells(&input));

    let o = basalt_paths(
        &["hfile", "rewrite", "--block-size", "0"],
        &[input.clone(), dir.path().join("x.hfile")],
    );
    assert_eq!(o.status.code(), Some(2), "clap rejects a zero block size");
}

#[test]
fn rewrite_of_a_corrupt_file_fails_without_leaving_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in.hfile");
    write_file(
        &input,
        WriterOptions {
            block_size: 512,
            ..WriterOptions::default()
        },
        &sample_cells(300),
    );
    let off = data_block_offset(&input, 3);
    let mut bytes = std::fs::read(&input).expect("read");
    bytes[off as usize + 50] ^= 0xff;
    std::fs::write(&input, &bytes).expect("write");
    let out = dir.path().join("out.hfile");
    let o = basalt_paths(&["hfile", "rewrite"], &[input.clone(), out.clone()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains(&format!("offset {off}")), "{err}");
    assert!(!out.exists());
    assert!(!dir.path().join("out.hfile.tmp").exists());
}

#[test]
fn cells_output_into_a_closed_pipe_is_not_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("f.hfile");
    write_file(&f, WriterOptions::default(), &sample_cells(20_000));
    let mut child = Command::new(env!("CARGO_BIN_EXE_basalt"))
        .args(["hfile", "cells"])
        .arg(&f)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut first = [0u8; 64];
    let mut out = child.stdout.take().expect("stdout");
    std::io::Read::read_exact(&mut out, &mut first).expect("some output");
    drop(out);
    let o = child.wait_with_output().expect("wait");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
}

#[test]
fn tour_writes_checks_and_rewrites_a_sample() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = basalt_paths(
        &["hfile", "tour", "--cells", "30000", "--dir"],
        &[dir.path().to_path_buf()],
    );
    let text = stdout(&o);
    assert!(o.status.success(), "{text}{}", stderr(&o));
    for want in [
        "[1/6]",
        "[6/6]",
        "BLOOM_FILTER_TYPE           ROW",
        "DATA_BLOCK_ENCODING         FAST_DIFF",
        "compressionCodec            LZ4 (ordinal 4)",
        "users.hfile: OK (30,000 cells",
        "users-gz.hfile: OK (30,000 cells",
        "cells identical after the rewrite: yes",
        "bloom: absent",
        "Try next",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    let r = Reader::open(dir.path().join("users-gz.hfile"), None).expect("open");
    assert_eq!(r.compression(), Compression::Gz);
    assert_eq!(r.entry_count(), 30_000);
}
