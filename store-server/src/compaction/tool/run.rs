//! `basalt compact run`: compacts the regions of some tables with a pool of workers under
//! one global write [`Throttle`]; past the deadline no new region is started (running ones
//! finish). Each store compaction is atomic on disk (output renamed in, then inputs
//! removed; a reopened store finishes an interrupted swap), so a killed run loses nothing
//! and a re-run simply continues.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::throttle::Throttle;
use crate::compaction::{compact_store, CompactionConfig, CompactionHooks, DropCounts};
use crate::error::{Error, Result};
use crate::region::Region;
use crate::schema::TableName;
use crate::server::RegionServer;

/// How to run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Major compaction (all files, dropping deleted/expired/excess cells).
    pub major: bool,
    /// Minor policy.
    pub policy: CompactionConfig,
    /// Global write limit in bytes per second, if any.
    pub throttle_bytes_per_sec: Option<u64>,
    /// Regions compacted at once (at least 1).
    pub parallel: usize,
    /// Start no new region after this long.
    pub max_duration: Option<Duration>,
    /// Start regions only inside this daily window (UTC).
    pub window: Option<Window>,
    /// Compact disabled tables offline (their files, without serving them) instead of
    /// enabled tables through their online regions.
    pub offline: bool,
}

/// A daily time window `HH:MM-HH:MM` in UTC; it may wrap midnight (`22:00-06:00`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Start, minutes after midnight (inclusive).
    pub start_min: u32,
    /// End, minutes after midnight (exclusive).
    pub end_min: u32,
}

impl Window {
    /// Parses `HH:MM-HH:MM`.
    pub fn parse(s: &str) -> Result<Window> {
        let bad = || Error::InvalidArgument(format!("bad window '{s}': expected HH:MM-HH:MM"));
        let (a, b) = s.trim().split_once('-').ok_or_else(bad)?;
        let minutes = |t: &str| -> Result<u32> {
            let (h, m) = t.trim().split_once(':').ok_or_else(bad)?;
            let h: u32 = h.parse().map_err(|_| bad())?;
            let m: u32 = m.parse().map_err(|_| bad())?;
            if h > 23 || m > 59 {
                return Err(bad());
            }
            Ok(h * 60 + m)
        };
        Ok(Window {
            start_min: minutes(a)?,
            end_min: minutes(b)?,
        })
    }

    /// Whether `minute` (after midnight) is inside the window. Equal ends mean all day.
    pub fn contains(&self, minute: u32) -> bool {
        if self.start_min <= self.end_min {
            self.start_min == self.end_min || (self.start_min..self.end_min).contains(&minute)
        } else {
            minute >= self.start_min || minute < self.end_min
        }
    }

    /// Whether the current UTC time is inside the window.
    pub fn contains_now(&self) -> bool {
        let minute = (crate::now_ms().max(0) / 60_000 % (24 * 60)) as u32;
        self.contains(minute)
    }
}

/// Totals for one table of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableStats {
    /// The table.
    pub table: String,
    /// Regions of the table.
    pub regions: usize,
    /// Regions not started (deadline passed, outside the window, or split meanwhile).
    pub regions_skipped: usize,
    /// Store files before the run.
    pub files_before: usize,
    /// Store files after the run.
    pub files_after: usize,
    /// Store compactions done.
    pub compactions: usize,
    /// Bytes read (compaction inputs).
    pub bytes_read: u64,
    /// Bytes written (compaction outputs).
    pub bytes_written: u64,
    /// Cells read.
    pub cells_read: u64,
    /// Cells written.
    pub cells_written: u64,
    /// Cells dropped, by reason.
    pub dropped: DropCounts,
}

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunSummary {
    /// Start time, ms since the epoch.
    pub started_ms: i64,
    /// Wall time in ms.
    pub duration_ms: u64,
    /// Major or minor.
    pub major: bool,
    /// The throttle, bytes per second.
    pub throttle_bytes_per_sec: Option<u64>,
    /// Workers.
    pub parallel: usize,
    /// Whether every region was started (false: the deadline or window stopped it early).
    pub completed: bool,
    /// Per table totals, in the order given.
    pub tables: Vec<TableStats>,
}

impl RunSummary {
    /// Bytes written per second over the whole run, in MB/s (10^6 bytes).
    pub fn write_mb_per_sec(&self) -> f64 {
        let bytes: u64 = self.tables.iter().map(|t| t.bytes_written).sum();
        if self.duration_ms == 0 {
            return 0.0;
        }
        bytes as f64 / 1e6 / (self.duration_ms as f64 / 1000.0)
    }
}

/// A progress event: region `done` of `total` of `table` finished.
#[derive(Clone, Debug)]
pub struct Progress<'a> {
    /// The table.
    pub table: &'a str,
    /// Regions of the table finished (or skipped) so far.
    pub done: usize,
    /// Regions of the table.
    pub total: usize,
}

fn file_count(regions: &[Arc<Region>]) -> usize {
    regions
        .iter()
        .flat_map(|r| r.stores().values())
        .map(|s| s.state().files.len())
        .sum()
}

/// Compacts `tables`: online regions of enabled tables, or with [`RunOptions::offline`] the
/// regions of disabled tables opened offline, one table after another. `progress` is called
/// (from worker threads) as regions finish. The first error stops the workers from starting
/// new regions and is returned.
pub fn run(
    server: &RegionServer,
    tables: &[TableName],
    opts: &RunOptions,
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> Result<RunSummary> {
    let started = Instant::now();
    let mut summary = RunSummary {
        started_ms: crate::now_ms(),
        major: opts.major,
        throttle_bytes_per_sec: opts.throttle_bytes_per_sec,
        parallel: opts.parallel.max(1),
        completed: true,
        ..RunSummary::default()
    };
    let throttle = opts.throttle_bytes_per_sec.map(Throttle::new);
    let deadline = opts.max_duration.map(|d| started + d);
    let pool = Pool {
        opts,
        throttle: throttle.as_ref(),
        deadline,
        progress,
    };
    if opts.offline {
        for t in tables {
            let (stats, completed) =
                server.with_offline_regions(t, |regions| pool.run(&[(t, regions.to_vec())]))?;
            summary.tables.extend(stats);
            summary.completed &= completed;
        }
    } else {
        let sets = tables
            .iter()
            .map(|t| Ok((t, server.table_regions(t)?)))
            .collect::<Result<Vec<_>>>()?;
        let (mut stats, completed) = pool.run(&sets)?;
        for (st, t) in stats.iter_mut().zip(tables) {
            // Regions may have split meanwhile: count what the table has now.
            st.files_after = server.table_regions(t).map(|r| file_count(&r)).unwrap_or(0);
        }
        summary.tables = stats;
        summary.completed = completed;
    }
    summary.duration_ms = started.elapsed().as_millis() as u64;
    Ok(summary)
}

/// The workers of one run: what they share.
struct Pool<'a> {
    opts: &'a RunOptions,
    throttle: Option<&'a Throttle>,
    deadline: Option<Instant>,
    progress: &'a (dyn Fn(Progress<'_>) + Sync),
}

impl Pool<'_> {
    /// Compacts the given regions of each table with `parallel` workers; returns per-table
    /// stats (`files_after` counted on these regions) and whether every region was started.
    fn run(&self, sets: &[(&TableName, Vec<Arc<Region>>)]) -> Result<(Vec<TableStats>, bool)> {
        let opts = self.opts;
        let mut queue = VecDeque::new();
        let mut stats = Vec::new();
        for (i, (t, regions)) in sets.iter().enumerate() {
            stats.push(TableStats {
                table: t.to_string(),
                regions: regions.len(),
                files_before: file_count(regions),
                ..TableStats::default()
            });
            queue.extend(regions.iter().map(|r| (i, r.clone())));
        }
        let on_write = |n: u64| {
            if let Some(t) = self.throttle {
                t.consume(n);
            }
        };
        let hooks = CompactionHooks {
            on_write: &on_write,
        };
        let queue = Mutex::new(queue);
        let stats_m = Mutex::new((stats, vec![0usize; sets.len()]));
        let failure: Mutex<Option<Error>> = Mutex::new(None);
        let skipped_any = Mutex::new(false);
        std::thread::scope(|s| {
            for _ in 0..opts.parallel.max(1) {
                s.spawn(|| loop {
                    let Some((ti, region)) = queue.lock().pop_front() else {
                        return;
                    };
                    let stop = failure.lock().is_some()
                        || self.deadline.is_some_and(|d| Instant::now() >= d)
                        || opts.window.is_some_and(|w| !w.contains_now());
                    let mut local = TableStats::default();
                    let mut skipped = stop;
                    if !stop {
                        for fam in region.stores().keys() {
                            match compact_store(&region, fam, opts.major, &opts.policy, &hooks) {
                                Ok(Some(rep)) => {
                                    local.compactions += 1;
                                    local.bytes_read += rep.bytes_in;
                                    local.bytes_written += rep.bytes_out;
                                    local.cells_read += rep.cells_in;
                                    local.cells_written += rep.cells_out;
                                    local.dropped.add(&rep.dropped);
                                }
                                Ok(None) => {}
                                // Split or disabled meanwhile: nothing left to compact here.
                                Err(Error::RegionNotServing(_)) => {
                                    skipped = true;
                                    break;
                                }
                                Err(e) => {
                                    failure.lock().get_or_insert(e);
                                    break;
                                }
                            }
                        }
                    }
                    if stop {
                        *skipped_any.lock() = true;
                    }
                    let mut g = stats_m.lock();
                    let st = &mut g.0[ti];
                    st.compactions += local.compactions;
                    st.bytes_read += local.bytes_read;
                    st.bytes_written += local.bytes_written;
                    st.cells_read += local.cells_read;
                    st.cells_written += local.cells_written;
                    st.dropped.add(&local.dropped);
                    if skipped {
                        st.regions_skipped += 1;
                    }
                    g.1[ti] += 1;
                    let (done, total, name) = (g.1[ti], g.0[ti].regions, g.0[ti].table.clone());
                    drop(g);
                    (self.progress)(Progress {
                        table: &name,
                        done,
                        total,
                    });
                });
            }
        });
        if let Some(e) = failure.into_inner() {
            return Err(e);
        }
        let (mut stats, _) = stats_m.into_inner();
        for (st, (_, regions)) in stats.iter_mut().zip(sets) {
            st.files_after = file_count(regions);
        }
        Ok((stats, !skipped_any.into_inner()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows() -> Result<()> {
        let night = Window::parse("22:00-06:30")?;
        assert_eq!(
            night,
            Window {
                start_min: 1320,
                end_min: 390
            }
        );
        assert!(night.contains(23 * 60));
        assert!(night.contains(0));
        assert!(night.contains(6 * 60 + 29));
        assert!(!night.contains(6 * 60 + 30));
        assert!(!night.contains(12 * 60));
        let day = Window::parse("09:00-17:00")?;
        assert!(day.contains(9 * 60) && !day.contains(17 * 60) && !day.contains(8 * 60));
        assert!(Window::parse("00:00-00:00")?.contains(700));
        for bad in ["", "9-17", "24:00-01:00", "10:60-11:00", "a:b-c:d"] {
            assert!(Window::parse(bad).is_err(), "{bad}");
        }
        Ok(())
    }
}
