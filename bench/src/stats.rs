//! Result records shared by the peers, plus medians and percentiles.

use std::fmt;
use std::time::Duration;

/// A block compression, named as each peer names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Codec {
    /// No compression.
    None,
    /// gzip/zlib (deflate at the default level 6 in every peer).
    Gz,
    /// LZ4.
    Lz4,
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Codec::None => "NONE",
            Codec::Gz => "GZ",
            Codec::Lz4 => "LZ4",
        })
    }
}

/// What writing one file cost.
#[derive(Clone, Debug, Default)]
pub struct WriteStats {
    /// Wall time from creating the file to the writer's `finish` plus `fsync`.
    pub elapsed: Duration,
    /// Process CPU time over the same span.
    pub cpu: Duration,
    /// Size of the finished file.
    pub file_bytes: u64,
    /// Peak extra bytes allocated through Rust's allocator while writing.
    pub peak_heap: u64,
    /// Peak growth of the process's resident set while writing (`VmHWM - VmRSS`), if readable.
    pub peak_rss: Option<u64>,
}

/// What one full scan cost.
#[derive(Clone, Debug, Default)]
pub struct ScanStats {
    /// Wall time of the scan, excluding opening the file.
    pub elapsed: Duration,
    /// Process CPU time over the same span.
    pub cpu: Duration,
    /// Cells read.
    pub cells: u64,
}

/// What a batch of random point reads cost (the timed pass, after a warm-up pass).
#[derive(Clone, Debug, Default)]
pub struct GetStats {
    /// Wall time of the timed pass.
    pub elapsed: Duration,
    /// Process CPU time of the timed pass.
    pub cpu: Duration,
    /// Number of gets in the timed pass.
    pub ops: u64,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
}

impl GetStats {
    /// Builds the stats from per-operation latencies.
    pub fn from_latencies(mut lat: Vec<Duration>, elapsed: Duration, cpu: Duration) -> GetStats {
        lat.sort_unstable();
        GetStats {
            elapsed,
            cpu,
            ops: lat.len() as u64,
            p50: percentile(&lat, 0.50),
            p99: percentile(&lat, 0.99),
        }
    }

    /// Operations per second.
    pub fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64()
    }
}

/// Nearest-rank percentile of sorted values; zero for an empty slice.
pub fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Median of the values (mean of the middle two for an even count); `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_percentiles() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        let lat: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        assert_eq!(percentile(&lat, 0.5), Duration::from_micros(50));
        assert_eq!(percentile(&lat, 0.99), Duration::from_micros(99));
        assert_eq!(percentile(&lat[..1], 0.99), Duration::from_micros(1));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
    }
}
