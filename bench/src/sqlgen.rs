//! The `sql` benchmark's data: a Phoenix-like typed table
//! `t (region VARCHAR, id BIGINT, amount DOUBLE, qty INTEGER, category VARCHAR, ts TIMESTAMP,
//! PRIMARY KEY (region, id))`, generated deterministically from a seed and written to one
//! Parquet file in primary-key order (the order Basalt stores it in).
//!
//! Rows are numbered `0..rows` in key order. The [`REGIONS`] region values `r00`..`r15` each
//! own a contiguous run of row numbers and their ids count from 0 within the region; every
//! other column is a hash of the seed and the row number:
//!
//! * `amount`: uniform in `[0, 1000)` with 53 random bits (practically no ties);
//! * `qty`: 1..=100, NULL for about 2 % of rows;
//! * `category`: `cat00`..`cat49`;
//! * `ts`: 2024-01-01 plus one second per row plus 0–999 ms.
//!
//! The Parquet file is the peers' copy and Basalt's import source (the typed bulk import reads
//! Parquet), so all three engines hold exactly the same values.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    Float64Builder, Int32Builder, Int64Builder, RecordBatch, StringBuilder,
    TimestampMillisecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::Result;

/// Distinct values of the leading key column `region` (`r00`..`r15`).
pub const REGIONS: u64 = 16;
/// Distinct values of `category` (`cat00`..`cat49`).
pub const CATEGORIES: u64 = 50;
/// 2024-01-01T00:00:00Z in epoch milliseconds.
const TS_BASE_MS: i64 = 1_704_067_200_000;
/// Rows per record batch handed to the Parquet writer.
const BATCH_ROWS: u64 = 65_536;

/// The `CREATE TABLE` column list, shared by the Basalt DDL and the documentation.
pub const COLUMNS: &str = "region VARCHAR NOT NULL, id BIGINT NOT NULL, amount DOUBLE, \
     qty INTEGER, category VARCHAR, ts TIMESTAMP, CONSTRAINT pk PRIMARY KEY (region, id)";

/// One generated row.
#[derive(Clone, Debug, PartialEq)]
pub struct SqlRow {
    /// `region` (key column 1).
    pub region: String,
    /// `id` (key column 2).
    pub id: i64,
    /// `amount`.
    pub amount: f64,
    /// `qty` (NULL for ~2 % of rows).
    pub qty: Option<i32>,
    /// `category`.
    pub category: String,
    /// `ts` in epoch milliseconds.
    pub ts_ms: i64,
}

/// SplitMix64: a fast, well-mixed 64-bit hash.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The generator for `rows` rows from `seed`.
#[derive(Clone, Copy, Debug)]
pub struct SqlGen {
    seed: u64,
    rows: u64,
}

impl SqlGen {
    /// A generator of `rows` rows (at least [`REGIONS`]).
    pub fn new(seed: u64, rows: u64) -> SqlGen {
        SqlGen { seed, rows }
    }

    /// Total rows.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// First row number of region `r` (`r == REGIONS` gives the row count).
    pub fn region_start(&self, r: u64) -> u64 {
        self.rows * r / REGIONS
    }

    /// Rows (ids `0..n`) of region `r`.
    pub fn region_rows(&self, r: u64) -> u64 {
        self.region_start(r + 1) - self.region_start(r)
    }

    /// The name of region value `r`.
    pub fn region_name(r: u64) -> String {
        format!("r{r:02}")
    }

    /// Region value of row number `i`.
    fn region_of(&self, i: u64) -> u64 {
        // Smallest r with region_start(r + 1) > i.
        let mut r = (i * REGIONS / self.rows).min(REGIONS - 1);
        while r > 0 && self.region_start(r) > i {
            r -= 1;
        }
        while self.region_start(r + 1) <= i {
            r += 1;
        }
        r
    }

    /// Row number `i` (in key order).
    pub fn row(&self, i: u64) -> SqlRow {
        let r = self.region_of(i);
        let h1 = mix(self.seed ^ i.wrapping_mul(0x2545_F491_4F6C_DD1D));
        let h2 = mix(h1);
        let h3 = mix(h2);
        SqlRow {
            region: Self::region_name(r),
            id: (i - self.region_start(r)) as i64,
            amount: (h1 >> 11) as f64 / (1u64 << 53) as f64 * 1000.0,
            qty: (!h2.is_multiple_of(50)).then(|| ((h2 >> 8) % 100 + 1) as i32),
            category: format!("cat{:02}", h3 % CATEGORIES),
            ts_ms: TS_BASE_MS + i as i64 * 1000 + ((h3 >> 16) % 1000) as i64,
        }
    }

    /// A deterministic existing key number `k` of a sample: (region value, id).
    pub fn sample_key(&self, k: u64) -> (u64, i64) {
        let h = mix(self.seed.rotate_left(17) ^ k);
        let r = h % REGIONS;
        let id = (h >> 8) % self.region_rows(r).max(1);
        (r, id as i64)
    }
}

/// The Arrow schema of the Parquet copy (the Arrow types Basalt exposes, except `ts`, which is
/// written with millisecond precision — the data has no finer part).
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("region", DataType::Utf8, false),
        Field::new("id", DataType::Int64, false),
        Field::new("amount", DataType::Float64, true),
        Field::new("qty", DataType::Int32, true),
        Field::new("category", DataType::Utf8, true),
        Field::new("ts", DataType::Timestamp(TimeUnit::Millisecond, None), true),
    ]))
}

fn batch(gen: &SqlGen, schema: &SchemaRef, from: u64, to: u64) -> Result<RecordBatch> {
    let n = (to - from) as usize;
    let mut region = StringBuilder::with_capacity(n, n * 3);
    let mut id = Int64Builder::with_capacity(n);
    let mut amount = Float64Builder::with_capacity(n);
    let mut qty = Int32Builder::with_capacity(n);
    let mut category = StringBuilder::with_capacity(n, n * 5);
    let mut ts = TimestampMillisecondBuilder::with_capacity(n);
    for i in from..to {
        let r = gen.row(i);
        region.append_value(&r.region);
        id.append_value(r.id);
        amount.append_value(r.amount);
        qty.append_option(r.qty);
        category.append_value(&r.category);
        ts.append_value(r.ts_ms);
    }
    Ok(RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(region.finish()),
            Arc::new(id.finish()),
            Arc::new(amount.finish()),
            Arc::new(qty.finish()),
            Arc::new(category.finish()),
            Arc::new(ts.finish()),
        ],
    )?)
}

/// Writes every row to `path` (uncompressed, like the table's HFiles; `row_group_rows` rows per
/// row group; arrow-rs defaults otherwise: dictionary encoding, page statistics and the page
/// index, ≤ 20 000 rows per page). Returns the file size.
pub fn write_parquet(gen: &SqlGen, path: &Path, row_group_rows: usize) -> Result<u64> {
    let schema = schema();
    let props = WriterProperties::builder()
        .set_compression(Compression::UNCOMPRESSED)
        .set_max_row_group_row_count(Some(row_group_rows.max(1)))
        .build();
    let file = File::create(path)?;
    let mut w = ArrowWriter::try_new(file, schema.clone(), Some(props))?;
    let mut from = 0;
    while from < gen.rows() {
        let to = (from + BATCH_ROWS).min(gen.rows());
        w.write(&batch(gen, &schema, from, to)?)?;
        from = to;
    }
    w.close()?;
    Ok(std::fs::metadata(path)?.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_in_key_order_and_deterministic() {
        let g = SqlGen::new(7, 1000);
        let mut prev: Option<(String, i64)> = None;
        let mut per_region = vec![0u64; REGIONS as usize];
        for i in 0..g.rows() {
            let r = g.row(i);
            let k = (r.region.clone(), r.id);
            if let Some(p) = &prev {
                assert!(*p < k, "row {i} out of order");
            }
            prev = Some(k);
            per_region[r.region[1..].parse::<usize>().unwrap()] += 1;
            assert!((0.0..1000.0).contains(&r.amount));
            assert!(r.qty.is_none_or(|q| (1..=100).contains(&q)));
        }
        for (r, n) in per_region.iter().enumerate() {
            assert_eq!(*n, g.region_rows(r as u64));
        }
        assert_eq!(g.row(123), SqlGen::new(7, 1000).row(123));
        let (r, id) = g.sample_key(5);
        assert!(r < REGIONS && (id as u64) < g.region_rows(r));
    }
}
