//! The DuckDB peer: SQL run by DuckDB's Python package in a `python3` subprocess.
//!
//! The bench writes a small driver script and a query file (`name<TAB>sql` per line) into the
//! scratch directory and runs `python3 driver.py queries.tsv THREADS`. The driver opens an
//! in-memory DuckDB, sets `threads`, and for each query measures wall time
//! (`time.perf_counter`) and process CPU time (`time.process_time`, all threads) around
//! `execute(...).fetchall()` only — interpreter start-up, `import duckdb` and connecting are
//! outside the timed span. It prints `name<TAB>wall<TAB>cpu<TAB>result` per query, the
//! result's rows joined by `;` and columns by `,`, and finally the process's peak RSS.
//!
//! [`run_suite`] is a second driver for query suites whose entries may be batches of
//! statements (point lookups) and whose answers are compared value by value: it takes a JSON
//! spec and prints one JSON object per line (answers as JSON arrays, timings per batch).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::cpu::Timing;
use crate::Result;

const DRIVER: &str = r#"import sys, time, duckdb
queries, threads = sys.argv[1], int(sys.argv[2])
con = duckdb.connect()
con.execute(f"SET threads={threads}")
print(f"version\t0\t0\t{duckdb.__version__}", flush=True)
for line in open(queries, encoding="utf-8"):
    line = line.rstrip("\n")
    if not line:
        continue
    name, sql = line.split("\t", 1)
    w0, c0 = time.perf_counter(), time.process_time()
    rows = con.execute(sql).fetchall()
    c1, w1 = time.process_time(), time.perf_counter()
    out = ";".join(",".join(str(v) for v in r) for r in rows)
    print(f"{name}\t{w1 - w0:.6f}\t{c1 - c0:.6f}\t{out}", flush=True)
import resource
print(f"maxrss\t0\t0\t{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}", flush=True)
"#;

/// One query's outcome.
#[derive(Clone, Debug)]
pub struct QueryRun {
    /// The query's name.
    pub name: String,
    /// Wall and CPU time measured inside Python around the query.
    pub timing: Timing,
    /// The result rows, `;`-separated, columns `,`-separated.
    pub result: String,
}

/// The queries' outcomes and the DuckDB version.
#[derive(Clone, Debug)]
pub struct DuckRun {
    /// `duckdb.__version__`.
    pub version: String,
    /// One entry per query, in order.
    pub queries: Vec<QueryRun>,
    /// Peak resident set of the Python process (`ru_maxrss`), in bytes.
    pub max_rss: Option<u64>,
}

impl DuckRun {
    /// The run of query `name`.
    pub fn get(&self, name: &str) -> Result<&QueryRun> {
        self.queries
            .iter()
            .find(|q| q.name == name)
            .ok_or_else(|| format!("duckdb: no result for query {name}").into())
    }
}

/// Runs the Python `driver` script with `args`; its standard output, or an error with its
/// standard error.
fn run_driver(python: &str, driver: &Path, args: &[&std::ffi::OsStr]) -> Result<String> {
    let out = Command::new(python)
        .arg(driver)
        .args(args)
        .output()
        .map_err(|e| format!("duckdb: cannot run {python}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "duckdb: {python} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Quotes a path as a SQL string literal.
pub fn sql_path(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "''"))
}

fn secs(s: &str, line: &str) -> Result<Duration> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("duckdb driver: bad time in line {line:?}"))?;
    Ok(Duration::from_secs_f64(v.max(0.0)))
}

/// Runs `queries` (name, single-line SQL) in one DuckDB connection with `threads` threads,
/// using `python` and files under `work_dir`.
pub fn run(
    python: &str,
    work_dir: &Path,
    threads: usize,
    queries: &[(&str, String)],
) -> Result<DuckRun> {
    let driver = work_dir.join("duckdb_driver.py");
    let qfile = work_dir.join("duckdb_queries.tsv");
    std::fs::write(&driver, DRIVER)?;
    let mut q = String::new();
    for (name, sql) in queries {
        if name.contains('\t') || sql.contains('\n') || sql.contains('\t') {
            return Err(format!("duckdb: query {name} must be one line without tabs").into());
        }
        q.push_str(&format!("{name}\t{sql}\n"));
    }
    std::fs::write(&qfile, q)?;
    let stdout = run_driver(
        python,
        &driver,
        &[qfile.as_os_str(), threads.to_string().as_ref()],
    )?;
    let mut version = String::new();
    let mut max_rss = None;
    let mut runs = Vec::new();
    for line in stdout.lines() {
        let f: Vec<&str> = line.splitn(4, '\t').collect();
        let [name, wall, cpu, result] = f[..] else {
            return Err(format!("duckdb driver: unexpected line {line:?}").into());
        };
        if name == "version" {
            version = result.to_string();
            continue;
        }
        if name == "maxrss" {
            max_rss = result.trim().parse::<u64>().ok().map(|kib| kib * 1024);
            continue;
        }
        runs.push(QueryRun {
            name: name.to_string(),
            timing: Timing {
                wall: secs(wall, line)?,
                cpu: secs(cpu, line)?,
            },
            result: result.to_string(),
        });
    }
    if runs.len() != queries.len() {
        return Err(format!(
            "duckdb: {} results for {} queries",
            runs.len(),
            queries.len()
        )
        .into());
    }
    Ok(DuckRun {
        version,
        queries: runs,
        max_rss,
    })
}

/// Parses a single-integer result.
pub fn int_result(q: &QueryRun) -> Result<u64> {
    q.result
        .trim()
        .parse()
        .map_err(|_| format!("duckdb: query {} returned {:?}", q.name, q.result).into())
}

/// Sums the last column of every result row (e.g. the counts of a `GROUP BY`).
pub fn sum_last_column(q: &QueryRun) -> Result<u64> {
    let mut n = 0u64;
    for row in q.result.split(';').filter(|r| !r.is_empty()) {
        let last = row.rsplit(',').next().unwrap_or("");
        n += last
            .trim()
            .parse::<u64>()
            .map_err(|_| format!("duckdb: query {} returned {:?}", q.name, q.result))?;
    }
    Ok(n)
}

const SUITE_DRIVER: &str = r#"import sys, json, time, duckdb
spec = json.load(open(sys.argv[1], encoding="utf-8"))
con = duckdb.connect()
con.execute(f"SET threads={int(spec['threads'])}")
for s in spec["setup"]:
    con.execute(s)
print(json.dumps({"kind": "version", "version": duckdb.__version__}), flush=True)
for q in spec["queries"]:
    sqls = q["sqls"]
    # Untimed pass: warms caches and yields the answers.
    res = [[list(r) for r in con.execute(s).fetchall()] for s in sqls]
    print(json.dumps({"kind": "result", "name": q["name"], "rows": res}, default=str), flush=True)
    w0, c0 = time.perf_counter(), time.process_time()
    for s in sqls:
        con.execute(s).fetchall()
    c1, w1 = time.process_time(), time.perf_counter()
    print(json.dumps({"kind": "time", "name": q["name"], "wall": w1 - w0, "cpu": c1 - c0}), flush=True)
"#;

/// One suite entry's outcome in DuckDB.
#[derive(Clone, Debug)]
pub struct SuiteQueryRun {
    /// The entry's name.
    pub name: String,
    /// The answer of each statement: a JSON array of rows (arrays of values).
    pub results: Vec<serde_json::Value>,
    /// Wall and CPU time of the timed pass over all the entry's statements.
    pub timing: Timing,
}

/// A suite's outcome in DuckDB.
#[derive(Clone, Debug)]
pub struct SuiteRun {
    /// `duckdb.__version__`.
    pub version: String,
    /// One entry per suite entry, in order.
    pub queries: Vec<SuiteQueryRun>,
}

/// Runs `setup` statements, then each suite entry (name, statements) twice in one DuckDB
/// connection with `threads` threads: an untimed pass that returns the answers, then a timed
/// pass over all of the entry's statements (`execute(...).fetchall()` each).
pub fn run_suite(
    python: &str,
    work_dir: &Path,
    threads: usize,
    setup: &[String],
    queries: &[(&str, &[String])],
) -> Result<SuiteRun> {
    let driver = work_dir.join("duckdb_suite_driver.py");
    let spec_file = work_dir.join("duckdb_suite.json");
    std::fs::write(&driver, SUITE_DRIVER)?;
    let spec = serde_json::json!({
        "threads": threads,
        "setup": setup,
        "queries": queries
            .iter()
            .map(|(name, sqls)| serde_json::json!({"name": name, "sqls": sqls}))
            .collect::<Vec<_>>(),
    });
    std::fs::write(&spec_file, spec.to_string())?;
    let stdout = run_driver(python, &driver, &[spec_file.as_os_str()])?;
    let mut version = String::new();
    let mut runs: Vec<SuiteQueryRun> = Vec::new();
    for line in stdout.lines() {
        let v: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| format!("duckdb suite driver: bad line {line:?}: {e}"))?;
        let name = v["name"].as_str().unwrap_or("").to_string();
        match v["kind"].as_str() {
            Some("version") => version = v["version"].as_str().unwrap_or("").to_string(),
            Some("result") => {
                let results = v["rows"]
                    .as_array()
                    .cloned()
                    .ok_or_else(|| format!("duckdb suite driver: no rows in {line:?}"))?;
                runs.push(SuiteQueryRun {
                    name,
                    results,
                    timing: Timing::default(),
                });
            }
            Some("time") => {
                let q = runs
                    .iter_mut()
                    .find(|q| q.name == name)
                    .ok_or_else(|| format!("duckdb suite driver: time before result: {line:?}"))?;
                let t = |k: &str| Duration::from_secs_f64(v[k].as_f64().unwrap_or(0.0).max(0.0));
                q.timing = Timing {
                    wall: t("wall"),
                    cpu: t("cpu"),
                };
            }
            _ => return Err(format!("duckdb suite driver: unexpected line {line:?}").into()),
        }
    }
    if runs.len() != queries.len() {
        return Err(format!(
            "duckdb: {} results for {} suite entries",
            runs.len(),
            queries.len()
        )
        .into());
    }
    Ok(SuiteRun {
        version,
        queries: runs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_results() {
        let q = QueryRun {
            name: "x".into(),
            timing: Timing::default(),
            result: "b'f',b'q1',5;b'f',b'q2',7".into(),
        };
        assert_eq!(sum_last_column(&q).ok(), Some(12));
        let q = QueryRun {
            result: "42".into(),
            ..q
        };
        assert_eq!(int_result(&q).ok(), Some(42));
        assert_eq!(sql_path(Path::new("/a/b'c")), "'/a/b''c'");
    }
}
