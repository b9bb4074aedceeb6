//! The `sql` benchmark's query suite (issue 6) and the engine-neutral form of its answers.
//!
//! Every query is the same SQL text for Basalt, DataFusion over Parquet and DuckDB over
//! Parquet, over a table (or view) named `t`. Results are turned into rows of [`Val`]s —
//! from Arrow record batches for the two in-process engines, from JSON for DuckDB — and
//! compared with [`same_rows`]: integers exactly, floating-point sums with a relative
//! tolerance (engines add in different orders), strings exactly.

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{
    DataType, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type,
    UInt32Type, UInt64Type, UInt8Type,
};

use crate::sqlgen::{SqlGen, REGIONS};
use crate::Result;

/// How a query's target is judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// A key lookup or key range: Basalt must beat both peers.
    Key,
    /// A full scan (aggregate, top-N, non-key filter): within 2× of DataFusion over Parquet.
    Scan,
}

/// One query of the suite: one SQL statement, or a batch of point lookups timed together.
#[derive(Clone, Debug)]
pub struct Query {
    /// Short name (report label).
    pub name: &'static str,
    /// What it exercises, for the report.
    pub what: String,
    /// Target class.
    pub class: Class,
    /// The statements, run one after another (one, except for the point-lookup batch).
    pub sqls: Vec<String>,
}

impl Query {
    fn one(name: &'static str, what: &str, class: Class, sql: String) -> Query {
        Query {
            name,
            what: what.to_string(),
            class,
            sqls: vec![sql],
        }
    }
}

/// The suite for `gen`'s data, with `points` different keys in the point-lookup batch.
pub fn suite(gen: &SqlGen, points: usize) -> Vec<Query> {
    let region = |r: u64| SqlGen::region_name(r);
    // Ids present in every region (each holds at least rows/16 - 1 ids).
    let per = gen.rows() / REGIONS;
    let range_lo = per / 3;
    let in_lo = per / 2;
    let point_sqls = (0..points as u64)
        .map(|k| {
            let (r, id) = gen.sample_key(k);
            format!(
                "SELECT id, amount, qty, category FROM t WHERE region = '{}' AND id = {id}",
                region(r)
            )
        })
        .collect();
    vec![
        Query {
            name: "point",
            what: format!("{points} lookups by full primary key, one statement each"),
            class: Class::Key,
            sqls: point_sqls,
        },
        Query::one(
            "range",
            "key-prefix range: `region = 'r07' AND id BETWEEN a AND a+4999` (5 000 rows), aggregated",
            Class::Key,
            format!(
                "SELECT count(*), sum(amount), max(qty) FROM t WHERE region = '{}' AND id BETWEEN {range_lo} AND {}",
                region(7),
                range_lo + 4999
            ),
        ),
        Query::one(
            "in_list",
            "IN list on the leading key plus an id range (skip scan: 3 ranges × 1 000 rows), grouped",
            Class::Key,
            format!(
                "SELECT region, count(*), sum(amount) FROM t WHERE region IN ('{}', '{}', '{}') \
                 AND id BETWEEN {in_lo} AND {} GROUP BY region ORDER BY region",
                region(2),
                region(9),
                region(13),
                in_lo + 999
            ),
        ),
        Query::one(
            "in_lead",
            "IN list on the leading key alone (2 of 16 region values, 1/8 of the table), grouped",
            Class::Key,
            format!(
                "SELECT region, count(*), sum(qty) FROM t WHERE region IN ('{}', '{}') \
                 GROUP BY region ORDER BY region",
                region(3),
                region(12)
            ),
        ),
        Query::one(
            "group_by",
            "full aggregate: `GROUP BY category` (50 groups) with count, sum, avg",
            Class::Scan,
            "SELECT category, count(*), sum(amount), avg(qty) FROM t GROUP BY category ORDER BY category"
                .to_string(),
        ),
        Query::one(
            "top_n",
            "top-N: `ORDER BY amount DESC LIMIT 10`",
            Class::Scan,
            "SELECT region, id, amount FROM t ORDER BY amount DESC, region, id LIMIT 10".to_string(),
        ),
        Query::one(
            "filter",
            "selective non-key filter: `qty = 7` (≈ 1 % of rows), aggregated",
            Class::Scan,
            "SELECT count(*), sum(amount) FROM t WHERE qty = 7".to_string(),
        ),
    ]
}

/// One value of a result, in a form every engine's output converts to.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    /// SQL NULL.
    Null,
    /// Any integer.
    Int(i128),
    /// Any floating-point (or decimal) number.
    Float(f64),
    /// Anything else, as text.
    Str(String),
}

/// One result row.
pub type Row = Vec<Val>;

/// The rows of Arrow record batches.
pub fn arrow_rows(batches: &[RecordBatch]) -> Result<Vec<Row>> {
    let mut out = Vec::new();
    for b in batches {
        for r in 0..b.num_rows() {
            let mut row = Vec::with_capacity(b.num_columns());
            for c in b.columns() {
                row.push(arrow_val(c.as_ref(), r)?);
            }
            out.push(row);
        }
    }
    Ok(out)
}

fn arrow_val(a: &dyn Array, i: usize) -> Result<Val> {
    if a.is_null(i) {
        return Ok(Val::Null);
    }
    macro_rules! int {
        ($t:ty) => {
            Val::Int(i128::from(a.as_primitive::<$t>().value(i)))
        };
    }
    Ok(match a.data_type() {
        DataType::Int8 => int!(Int8Type),
        DataType::Int16 => int!(Int16Type),
        DataType::Int32 => int!(Int32Type),
        DataType::Int64 => int!(Int64Type),
        DataType::UInt8 => int!(UInt8Type),
        DataType::UInt16 => int!(UInt16Type),
        DataType::UInt32 => int!(UInt32Type),
        DataType::UInt64 => int!(UInt64Type),
        DataType::Float32 => Val::Float(f64::from(a.as_primitive::<Float32Type>().value(i))),
        DataType::Float64 => Val::Float(a.as_primitive::<Float64Type>().value(i)),
        DataType::Utf8 => Val::Str(a.as_string::<i32>().value(i).to_string()),
        DataType::LargeUtf8 => Val::Str(a.as_string::<i64>().value(i).to_string()),
        DataType::Utf8View => Val::Str(a.as_string_view().value(i).to_string()),
        other => return Err(format!("unexpected result type {other} in a benchmark query").into()),
    })
}

/// The rows of a JSON array of arrays (the DuckDB driver's output).
pub fn json_rows(v: &serde_json::Value) -> Result<Vec<Row>> {
    let rows = v
        .as_array()
        .ok_or_else(|| format!("duckdb: result is not an array: {v}"))?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let cells = r
            .as_array()
            .ok_or_else(|| format!("duckdb: row is not an array: {r}"))?;
        let mut row = Vec::with_capacity(cells.len());
        for c in cells {
            row.push(match c {
                serde_json::Value::Null => Val::Null,
                serde_json::Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                    (Some(x), _, _) => Val::Int(i128::from(x)),
                    (None, Some(x), _) => Val::Int(i128::from(x)),
                    (None, None, Some(x)) => Val::Float(x),
                    _ => return Err(format!("duckdb: bad number {n}").into()),
                },
                serde_json::Value::String(s) => Val::Str(s.clone()),
                other => Val::Str(other.to_string()),
            });
        }
        out.push(row);
    }
    Ok(out)
}

fn num(v: &Val) -> Option<f64> {
    match v {
        Val::Int(x) => Some(*x as f64),
        Val::Float(x) => Some(*x),
        _ => None,
    }
}

fn same_val(a: &Val, b: &Val) -> bool {
    match (a, b) {
        (Val::Int(x), Val::Int(y)) => x == y,
        (Val::Str(x), Val::Str(y)) => x == y,
        (Val::Null, Val::Null) => true,
        _ => match (num(a), num(b)) {
            (Some(x), Some(y)) => x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
            _ => false,
        },
    }
}

/// True if the two results have the same rows in the same order (numbers within 1e-9
/// relative).
pub fn same_rows(a: &[Row], b: &[Row]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.len() == y.len() && x.iter().zip(y).all(|(u, v)| same_val(u, v)))
}

/// Short text of a result for error messages and the report.
pub fn describe(rows: &[Row]) -> String {
    let cell = |v: &Val| match v {
        Val::Null => "NULL".to_string(),
        Val::Int(x) => x.to_string(),
        Val::Float(x) => format!("{x:.6}"),
        Val::Str(s) => s.clone(),
    };
    let shown: Vec<String> = rows
        .iter()
        .take(3)
        .map(|r| r.iter().map(cell).collect::<Vec<_>>().join(", "))
        .collect();
    let more = if rows.len() > 3 {
        format!(" … ({} rows)", rows.len())
    } else {
        String::new()
    };
    format!("({}){more}", shown.join("), ("))
}

/// Fails loudly unless `got` (engine `who`) equals `want` for every statement of query `q`.
pub fn check_same(q: &Query, who: &str, want: &[Vec<Row>], got: &[Vec<Row>]) -> Result<()> {
    if want.len() != got.len() {
        return Err(format!(
            "query {}: {who} returned {} results for {} statements",
            q.name,
            got.len(),
            want.len()
        )
        .into());
    }
    for (i, (w, g)) in want.iter().zip(got).enumerate() {
        if !same_rows(w, g) {
            return Err(format!(
                "query {} differs: {who} returned {} but Basalt returned {} for: {}",
                q.name,
                describe(g),
                describe(w),
                q.sqls[i]
            )
            .into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_across_representations() {
        let a = vec![vec![
            Val::Str("x".into()),
            Val::Int(3),
            Val::Float(0.1 + 0.2),
        ]];
        let b = json_rows(&serde_json::json!([["x", 3, 0.3]])).unwrap();
        assert!(same_rows(&a, &b));
        let c = json_rows(&serde_json::json!([["x", 4, 0.3]])).unwrap();
        assert!(!same_rows(&a, &c));
        assert!(!same_rows(&a, &[]));
        assert!(same_val(&Val::Int(5), &Val::Float(5.0)));
        assert!(!same_val(&Val::Null, &Val::Int(0)));
    }

    #[test]
    fn suite_has_the_issue_queries() {
        let g = SqlGen::new(1, 160_000);
        let s = suite(&g, 10);
        assert_eq!(s[0].sqls.len(), 10);
        for name in ["point", "range", "in_list", "group_by", "top_n", "filter"] {
            assert!(s.iter().any(|q| q.name == name), "{name}");
        }
        assert!(s.iter().all(|q| q.sqls.iter().all(|x| !x.contains('\n'))));
    }
}
