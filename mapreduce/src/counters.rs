//! Hadoop-style job counters: named values grouped by a group name, accumulated per task
//! attempt and merged into the job's totals only when the attempt succeeds (so retried
//! attempts never count twice).

use std::fmt;

/// The group of the runner's own counters (Hadoop's "Map-Reduce Framework").
pub const FRAMEWORK: &str = "Map-Reduce Framework";
/// The group of job-level counters (launched and failed tasks).
pub const JOB: &str = "Job Counters";

/// Rows read by map tasks.
pub const MAP_INPUT_RECORDS: &str = "Map input records";
/// Cells read by map tasks.
pub const MAP_INPUT_CELLS: &str = "Map input cells";
/// Records emitted by map tasks.
pub const MAP_OUTPUT_RECORDS: &str = "Map output records";
/// Records fed to the combiner.
pub const COMBINE_INPUT_RECORDS: &str = "Combine input records";
/// Records the combiner produced.
pub const COMBINE_OUTPUT_RECORDS: &str = "Combine output records";
/// Records written to disk by the shuffle.
pub const SPILLED_RECORDS: &str = "Spilled Records";
/// Distinct keys seen by reducers.
pub const REDUCE_INPUT_GROUPS: &str = "Reduce input groups";
/// Records read by reducers.
pub const REDUCE_INPUT_RECORDS: &str = "Reduce input records";
/// Records written by reducers.
pub const REDUCE_OUTPUT_RECORDS: &str = "Reduce output records";
/// Records written to the job's output by map-only jobs.
pub const OUTPUT_RECORDS: &str = "Output records";
/// Map tasks launched (attempts).
pub const LAUNCHED_MAP_TASKS: &str = "Launched map tasks";
/// Map task attempts that failed.
pub const FAILED_MAP_TASKS: &str = "Failed map tasks";
/// Reduce tasks launched (attempts).
pub const LAUNCHED_REDUCE_TASKS: &str = "Launched reduce tasks";
/// Reduce task attempts that failed.
pub const FAILED_REDUCE_TASKS: &str = "Failed reduce tasks";
/// Input splits of the job.
pub const INPUT_SPLITS: &str = "Input splits";

/// A set of counters, `(group, name) -> value`.
///
/// A job has a handful of counters and bumps them per row, so they live in a short list
/// searched by equality (cheaper per bump than a map's ordered comparisons); listing and
/// display order them by group and name.
#[derive(Clone, Debug, Default)]
pub struct Counters {
    values: Vec<(String, String, i64)>,
}

impl Counters {
    /// No counters.
    pub fn new() -> Counters {
        Counters::default()
    }

    /// Adds `n` to counter `group:name` (creating it at 0).
    pub fn incr(&mut self, group: &str, name: &str, n: i64) {
        match self
            .values
            .iter_mut()
            .find(|(g, m, _)| m == name && g == group)
        {
            Some((_, _, v)) => *v += n,
            None => self.values.push((group.to_string(), name.to_string(), n)),
        }
    }

    /// The value of `group:name` (0 if never incremented).
    pub fn get(&self, group: &str, name: &str) -> i64 {
        self.values
            .iter()
            .find(|(g, m, _)| m == name && g == group)
            .map_or(0, |(_, _, v)| *v)
    }

    /// Adds every counter of `other` to this set.
    pub fn merge(&mut self, other: &Counters) {
        for (g, n, v) in &other.values {
            self.incr(g, n, *v);
        }
    }

    /// Every `(group, name, value)`, groups and names in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, i64)> {
        let mut all: Vec<(&str, &str, i64)> = self
            .values
            .iter()
            .map(|(g, n, v)| (g.as_str(), n.as_str(), *v))
            .collect();
        all.sort_unstable();
        all.into_iter()
    }

    /// Number of counters.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True if there are no counters.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

impl PartialEq for Counters {
    /// Equal when every counter has the same value (the order they were created in aside).
    fn eq(&self, other: &Counters) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Counters {}

impl fmt::Display for Counters {
    /// Hadoop's layout: `Counters: N`, then each group and its `name=value` lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Counters: {}", self.len())?;
        let mut group = None;
        for (g, n, v) in self.iter() {
            if group != Some(g) {
                writeln!(f, "\t{g}")?;
                group = Some(g);
            }
            writeln!(f, "\t\t{n}={v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_and_display() {
        let mut a = Counters::new();
        a.incr("G", "x", 2);
        let mut b = Counters::new();
        b.incr("G", "x", 3);
        b.incr("H", "y", 1);
        a.merge(&b);
        assert_eq!(a.get("G", "x"), 5);
        assert_eq!(a.get("H", "y"), 1);
        assert_eq!(a.get("H", "z"), 0);
        assert_eq!(a.len(), 2);
        assert_eq!(a.to_string(), "Counters: 2\n\tG\n\t\tx=5\n\tH\n\t\ty=1\n");
    }
}
