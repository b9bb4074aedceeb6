//! Progress bars per phase (indicatif, drawn on stderr only when it is a terminal and
//! progress is wanted) and the one-screen summary an import or load ends with.

use std::fmt;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar for one phase, or nothing when progress is off.
pub struct PhaseBar {
    bar: Option<ProgressBar>,
}

impl PhaseBar {
    /// A bar titled `name` counting to `total` (`bytes` formats the counts as sizes).
    pub fn new(enabled: bool, name: &str, total: u64, bytes: bool) -> PhaseBar {
        if !enabled {
            return PhaseBar { bar: None };
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        let template = if bytes {
            "{prefix:>6} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})"
        } else {
            "{prefix:>6} [{bar:30}] {human_pos}/{human_len} ({per_sec}, {eta})"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(name.to_string());
        PhaseBar { bar: Some(bar) }
    }

    /// Sets the position.
    pub fn set(&self, pos: u64) {
        if let Some(b) = &self.bar {
            b.set_position(pos);
        }
    }

    /// Completes the bar.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish();
        }
    }
}

/// Wall-clock time of each phase.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PhaseTimes {
    /// (phase, elapsed) in order.
    pub phases: Vec<(&'static str, Duration)>,
}

impl PhaseTimes {
    /// Starts timing a phase; call [`PhaseTimer::stop`] to record it.
    pub fn start(name: &'static str) -> PhaseTimer {
        PhaseTimer {
            name,
            start: Instant::now(),
        }
    }

    /// Time of `name`, if recorded.
    pub fn get(&self, name: &str) -> Option<Duration> {
        self.phases.iter().find(|(n, _)| *n == name).map(|p| p.1)
    }

    /// Sum of all phases.
    pub fn total(&self) -> Duration {
        self.phases.iter().map(|p| p.1).sum()
    }
}

/// A running phase.
pub struct PhaseTimer {
    name: &'static str,
    start: Instant,
}

impl PhaseTimer {
    /// Records the elapsed time into `times`.
    pub fn stop(self, times: &mut PhaseTimes) {
        times.phases.push((self.name, self.start.elapsed()));
    }
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// The table.
    pub table: String,
    /// Input files read.
    pub input_files: usize,
    /// Input bytes.
    pub bytes_in: u64,
    /// Records imported.
    pub rows: u64,
    /// Cells written to HFiles (after removing identical keys).
    pub cells: u64,
    /// Cells dropped because a later record wrote the same key.
    pub duplicate_cells: u64,
    /// Records rejected.
    pub bad_lines: u64,
    /// Timestamp given to cells without a timestamp column.
    pub timestamp: i64,
    /// Where the timestamp came from.
    pub timestamp_source: String,
    /// Whether the table was created by this import.
    pub created_table: bool,
    /// Regions the output was partitioned into.
    pub regions: usize,
    /// Key ranges the sort buffer was divided into (see [`crate::bucket`]).
    pub sort_buckets: usize,
    /// Sort buffers spilled to disk.
    pub spills: usize,
    /// Largest memory the sort buffer held.
    pub peak_buffer_bytes: usize,
    /// The memory budget.
    pub memory_budget: usize,
    /// HFiles written.
    pub hfiles: usize,
    /// Bytes of HFiles written.
    pub hfile_bytes: u64,
    /// Where the HFiles are (`--output-dir`, or the staging directory).
    pub output_dir: std::path::PathBuf,
    /// The load, unless `--output-dir` stopped before it.
    pub load: Option<crate::load::LoadReport>,
    /// Time per phase.
    pub times: PhaseTimes,
}

fn mib(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.times.total().as_secs_f64().max(1e-9);
        writeln!(f, "import into {}: done", self.table)?;
        writeln!(
            f,
            "  input      {} file(s), {:.1} MiB, {} rows, {} bad line(s)",
            self.input_files,
            mib(self.bytes_in),
            self.rows,
            self.bad_lines
        )?;
        writeln!(
            f,
            "  cells      {} ({} duplicate key(s) dropped), timestamp {} ({})",
            self.cells, self.duplicate_cells, self.timestamp, self.timestamp_source
        )?;
        writeln!(
            f,
            "  sort       {} key range(s), {} spill(s), peak buffer {:.1} MiB of {:.1} MiB budget",
            self.sort_buckets,
            self.spills,
            mib(self.peak_buffer_bytes as u64),
            mib(self.memory_budget as u64)
        )?;
        writeln!(
            f,
            "  hfiles     {} file(s), {:.1} MiB, {} region(s){} in {}",
            self.hfiles,
            mib(self.hfile_bytes),
            self.regions,
            if self.created_table {
                " (table created)"
            } else {
                ""
            },
            self.output_dir.display()
        )?;
        match &self.load {
            Some(l) => writeln!(
                f,
                "  load       {} file(s) into {} region(s) in {} round(s), {} file(s) cut at new boundaries",
                l.files_loaded, l.regions_touched, l.rounds, l.files_split
            )?,
            None => writeln!(
                f,
                "  load       skipped (--output-dir); run `basalt load {} {}`",
                self.output_dir.display(),
                self.table
            )?,
        }
        let phases: Vec<String> = self
            .times
            .phases
            .iter()
            .map(|(n, d)| format!("{n} {:.2}s", d.as_secs_f64()))
            .collect();
        writeln!(
            f,
            "  time       {} — total {:.2}s",
            phases.join(", "),
            total
        )?;
        write!(
            f,
            "  rate       {:.1} MB/s, {:.0} rows/s",
            self.bytes_in as f64 / 1e6 / total,
            self.rows as f64 / total
        )
    }
}

/// What `basalt load` did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadSummary {
    /// The table.
    pub table: String,
    /// The directory loaded.
    pub dir: std::path::PathBuf,
    /// The load.
    pub load: crate::load::LoadReport,
    /// Elapsed time.
    pub elapsed: Duration,
}

impl fmt::Display for LoadSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        writeln!(f, "load {} into {}: done", self.dir.display(), self.table)?;
        writeln!(
            f,
            "  {} file(s), {:.1} MiB into {} region(s) in {} round(s), {} file(s) cut at region boundaries",
            self.load.files_loaded,
            mib(self.load.bytes_loaded),
            self.load.regions_touched,
            self.load.rounds,
            self.load.files_split
        )?;
        write!(
            f,
            "  {:.2}s, {:.1} MB/s",
            secs,
            self.load.bytes_loaded as f64 / 1e6 / secs
        )
    }
}
