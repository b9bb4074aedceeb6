//! Rendering values for people: byte strings as the HBase shell shows them, sizes, counts,
//! rates, timestamps, and FileInfo values decoded by key.

use hfile::bloom::BloomType;
use hfile::cell::{key_to_string, to_string_binary};
use hfile::fileinfo::{decode_time_range, keys};

/// Bytes as HBase's `Bytes.toStringBinary` renders them (printable ASCII, else `\xNN`).
pub fn binary(bytes: &[u8]) -> String {
    to_string_binary(bytes)
}

/// A count with thousands separators: `1234567` → `1,234,567`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A byte size in binary units: `1536` → `1.5 KiB`.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Throughput in decimal megabytes per second (as disk and network rates are quoted).
pub fn mb_per_s(bytes: u64, seconds: f64) -> String {
    if seconds <= 0.0 {
        return "-".to_string();
    }
    format!("{:.1} MB/s", bytes as f64 / 1e6 / seconds)
}

/// Milliseconds since the Unix epoch as an ISO-8601 UTC time (`2024-05-01T12:00:00.000Z`),
/// or `None` outside years 0..=9999.
pub fn iso_time(ms: i64) -> Option<String> {
    const MIN_MS: i64 = -62_167_219_200_000; // 0000-01-01T00:00:00Z
    const MAX_MS: i64 = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z
    if !(MIN_MS..=MAX_MS).contains(&ms) {
        return None;
    }
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    let (h, min, s, milli) = (
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000,
    );
    Some(format!(
        "{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{milli:03}Z"
    ))
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 → (year, month, day).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A timestamp in ms followed by its ISO form when it has one: `1700000000000 (2023-…Z)`.
pub fn timestamp(ms: i64) -> String {
    match iso_time(ms) {
        Some(iso) => format!("{ms} ({iso})"),
        None => ms.to_string(),
    }
}

/// Decodes a FileInfo value by its key, the way HBase's `HFilePrettyPrinter -m` does:
/// keys as `row/family:qualifier/ts/Type`, numbers as numbers, booleans as `true`/`false`,
/// anything unknown (or of an unexpected length) as `toStringBinary`.
pub fn file_info_value(key: &[u8], value: &[u8], bloom_type: BloomType) -> String {
    let as_i32 = || value.try_into().ok().map(i32::from_be_bytes);
    let as_i64 = || value.try_into().ok().map(i64::from_be_bytes);
    let as_bool = || match value {
        [b] => Some(*b != 0),
        _ => None,
    };
    let rendered = match key {
        k if k == keys::LASTKEY => Some(key_to_string(value)),
        k if k == keys::AVG_KEY_LEN
            || k == keys::AVG_VALUE_LEN
            || k == keys::MAX_TAGS_LEN
            || k == keys::KEY_VALUE_VERSION =>
        {
            as_i32().map(|v| v.to_string())
        }
        k if k == keys::CREATE_TIME_KEY
            || k == keys::BULKLOAD_TIME_KEY
            || k == keys::EARLIEST_PUT_TS =>
        {
            as_i64().map(timestamp)
        }
        k if k == keys::MAX_SEQ_ID_KEY
            || k == keys::MAX_MEMSTORE_TS_KEY
            || k == keys::DELETE_FAMILY_COUNT =>
        {
            as_i64().map(|v| v.to_string())
        }
        k if k == keys::TIMERANGE => {
            decode_time_range(value).map(|(min, max)| time_range(min, max))
        }
        k if k == keys::BLOOM_FILTER_TYPE
            || k == keys::DATA_BLOCK_ENCODING
            || k == keys::BULKLOAD_TASK_KEY =>
        {
            Some(binary(value))
        }
        k if k == keys::LAST_BLOOM_KEY && bloom_type == BloomType::RowCol => {
            Some(key_to_string(value))
        }
        k if k == keys::TAGS_COMPRESSED
            || k == keys::MAJOR_COMPACTION_KEY
            || k == keys::EXCLUDE_FROM_MINOR_COMPACTION_KEY
            || k == keys::ONE_PUT_PER_COLUMN =>
        {
            as_bool().map(|b| b.to_string())
        }
        _ => None,
    };
    rendered.unwrap_or_else(|| binary(value))
}

/// A time range `[min, max]` with ISO times where the bounds are real times.
pub fn time_range(min: i64, max: i64) -> String {
    match (iso_time(min), iso_time(max)) {
        (Some(a), Some(b)) => format!("[{min}, {max}] ({a} .. {b})"),
        _ => format!("[{min}, {max}]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_get_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
    }

    #[test]
    fn sizes_use_binary_units() {
        assert_eq!(size(12), "12 B");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(5 * 1024 * 1024), "5.0 MiB");
    }

    #[test]
    fn iso_times_match_known_instants() {
        assert_eq!(iso_time(0).as_deref(), Some("1970-01-01T00:00:00.000Z"));
        assert_eq!(
            iso_time(1_344_395_137_051).as_deref(),
            Some("2012-08-08T03:05:37.051Z")
        );
        assert_eq!(
            iso_time(951_782_400_000).as_deref(),
            Some("2000-02-29T00:00:00.000Z")
        );
        assert_eq!(iso_time(-1).as_deref(), Some("1969-12-31T23:59:59.999Z"));
        assert_eq!(iso_time(i64::MAX), None);
        assert_eq!(iso_time(i64::MIN), None);
    }

    #[test]
    fn file_info_values_decode_by_key() {
        let bt = BloomType::None;
        assert_eq!(
            file_info_value(keys::AVG_KEY_LEN, &27i32.to_be_bytes(), bt),
            "27"
        );
        assert_eq!(
            file_info_value(keys::MAX_SEQ_ID_KEY, &42i64.to_be_bytes(), bt),
            "42"
        );
        assert_eq!(
            file_info_value(keys::MAJOR_COMPACTION_KEY, &[1], bt),
            "true"
        );
        assert_eq!(file_info_value(keys::TAGS_COMPRESSED, &[0], bt), "false");
        assert_eq!(file_info_value(keys::ONE_PUT_PER_COLUMN, &[1], bt), "true");
        assert_eq!(file_info_value(keys::BLOOM_FILTER_TYPE, b"ROW", bt), "ROW");
        assert_eq!(
            file_info_value(keys::CREATE_TIME_KEY, &0i64.to_be_bytes(), bt),
            "0 (1970-01-01T00:00:00.000Z)"
        );
        // A wrong length falls back to the binary rendering instead of failing.
        assert_eq!(
            file_info_value(keys::AVG_KEY_LEN, &[0, 1], bt),
            "\\x00\\x01"
        );
        assert_eq!(file_info_value(b"custom", b"a\x00", bt), "a\\x00");
    }
}
