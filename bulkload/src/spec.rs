//! Column specifications: which input field becomes the row key, the timestamp, or which
//! `family:qualifier` cell — HBase ImportTsv's `-Dimporttsv.columns` syntax, extended with
//! `SOURCE=TARGET` entries that pick input fields by name.
//!
//! ```text
//! HBASE_ROW_KEY,cf:a,,cf:b,HBASE_TS_KEY     positional; the third field is skipped
//! id=HBASE_ROW_KEY,name=info:name           by name (CSV --header, Parquet, JSON lines)
//! ```
//!
//! Without a spec, named inputs map themselves: a field named `cf:q` is that column, a field
//! named `rowkey` (or `HBASE_ROW_KEY`) is the row key — else the first field is —, and
//! `HBASE_TS_KEY` is the cell timestamp.

use std::collections::BTreeSet;

use hfile::cell::to_string_binary;

use crate::error::{Error, Result};
use crate::typed::TypedFields;

/// ImportTsv's name for the row-key column.
pub const ROW_KEY: &str = "HBASE_ROW_KEY";
/// ImportTsv's name for the timestamp column.
pub const TS_KEY: &str = "HBASE_TS_KEY";

/// What one input field becomes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// The row key.
    RowKey,
    /// The timestamp (milliseconds) of every cell of the record.
    Timestamp,
    /// A cell in `family:qualifier`.
    Column {
        /// Column family.
        family: Vec<u8>,
        /// Qualifier (may be empty).
        qualifier: Vec<u8>,
    },
    /// Ignored.
    Skip,
}

impl Target {
    /// Parses one target: `HBASE_ROW_KEY`, `HBASE_TS_KEY`, `cf:q`, `cf` (empty qualifier)
    /// or the empty string (skip).
    pub fn parse(s: &str) -> Result<Target> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(Target::Skip);
        }
        if s == ROW_KEY {
            return Ok(Target::RowKey);
        }
        if s == TS_KEY {
            return Ok(Target::Timestamp);
        }
        if s.starts_with("HBASE_") && !s.contains(':') {
            return Err(Error::Spec(format!(
                "'{s}' is not supported (only {ROW_KEY} and {TS_KEY} are)"
            )));
        }
        let (family, qualifier) = s.split_once(':').unwrap_or((s, ""));
        if family.is_empty() {
            return Err(Error::Spec(format!("'{s}' has an empty column family")));
        }
        Ok(Target::Column {
            family: family.as_bytes().to_vec(),
            qualifier: qualifier.as_bytes().to_vec(),
        })
    }
}

/// One entry of a column spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecEntry {
    /// The input field's name for `SOURCE=TARGET` entries; `None` for positional entries.
    pub source: Option<String>,
    /// What the field becomes.
    pub target: Target,
}

/// A parsed `--columns` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnSpec {
    /// Entries in the order given.
    pub entries: Vec<SpecEntry>,
}

impl ColumnSpec {
    /// Parses a comma-separated spec. Entries are either all positional or all `SOURCE=TARGET`.
    pub fn parse(spec: &str) -> Result<ColumnSpec> {
        let mut entries = Vec::new();
        for part in spec.split(',') {
            let entry = match part.split_once('=') {
                Some((src, target)) => {
                    let src = src.trim();
                    if src.is_empty() {
                        return Err(Error::Spec(format!("'{part}' names no source field")));
                    }
                    SpecEntry {
                        source: Some(src.to_string()),
                        target: Target::parse(target)?,
                    }
                }
                None => SpecEntry {
                    source: None,
                    target: Target::parse(part)?,
                },
            };
            entries.push(entry);
        }
        let named = entries.iter().filter(|e| e.source.is_some()).count();
        if named != 0 && named != entries.len() {
            return Err(Error::Spec(
                "mix of positional and SOURCE=TARGET entries; use one form".into(),
            ));
        }
        let spec = ColumnSpec { entries };
        check_targets(spec.entries.iter().map(|e| &e.target))?;
        Ok(spec)
    }

    /// True if entries pick fields by name.
    pub fn is_named(&self) -> bool {
        self.entries.first().is_some_and(|e| e.source.is_some())
    }
}

/// Exactly one row key, at most one timestamp, no column twice.
fn check_targets<'a>(targets: impl Iterator<Item = &'a Target>) -> Result<()> {
    let mut row_keys = 0;
    let mut timestamps = 0;
    let mut seen = BTreeSet::new();
    for t in targets {
        match t {
            Target::RowKey => row_keys += 1,
            Target::Timestamp => timestamps += 1,
            Target::Column { family, qualifier } => {
                if !seen.insert((family.clone(), qualifier.clone())) {
                    return Err(Error::Spec(format!(
                        "column {}:{} is mapped twice",
                        to_string_binary(family),
                        to_string_binary(qualifier)
                    )));
                }
            }
            Target::Skip => {}
        }
    }
    if row_keys != 1 {
        return Err(Error::Spec(format!(
            "exactly one {ROW_KEY} entry is needed, found {row_keys}"
        )));
    }
    if timestamps > 1 {
        return Err(Error::Spec(format!("more than one {TS_KEY} entry")));
    }
    if seen.is_empty() {
        return Err(Error::Spec("no family:qualifier column to import".into()));
    }
    Ok(())
}

/// A cell-producing column of a resolved mapping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappedColumn {
    /// Index of the input field.
    pub field: usize,
    /// Column family.
    pub family: Vec<u8>,
    /// Qualifier bytes.
    pub qualifier: Vec<u8>,
}

/// A column spec resolved against an input's fields: field indexes for everything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// Field holding the row key.
    pub row_key: usize,
    /// Field holding the timestamp, if any.
    pub timestamp: Option<usize>,
    /// Cell-producing columns, in field order.
    pub columns: Vec<MappedColumn>,
    /// The most fields a record may have (more is a bad line); `None` = any number.
    pub max_fields: Option<usize>,
    /// The input's field names, when it has them.
    pub names: Option<Vec<String>>,
    /// For a typed table: which field feeds which SQL column (the row key and cells are then
    /// encoded from the parsed values, not copied from fields).
    pub typed: Option<TypedFields>,
}

impl Mapping {
    /// Every input field the mapping reads.
    pub fn used_fields(&self) -> Vec<usize> {
        if let Some(t) = &self.typed {
            return t.used_fields();
        }
        let mut used: Vec<usize> = self.columns.iter().map(|c| c.field).collect();
        used.push(self.row_key);
        used.extend(self.timestamp);
        used
    }

    /// Resolves `spec` against the input's field `names` (header, Parquet schema, first JSON
    /// object); `names` is `None` for headerless CSV/TSV.
    pub fn resolve(spec: Option<&ColumnSpec>, names: Option<&[String]>) -> Result<Mapping> {
        let targets: Vec<(usize, Target)> = match (spec, names) {
            (Some(spec), None) => {
                if spec.is_named() {
                    return Err(Error::Spec(
                        "SOURCE=TARGET entries need named fields (--header, Parquet or JSON lines)"
                            .into(),
                    ));
                }
                spec.entries
                    .iter()
                    .enumerate()
                    .map(|(i, e)| (i, e.target.clone()))
                    .collect()
            }
            (Some(spec), Some(names)) if spec.is_named() => {
                let mut out = Vec::new();
                for e in &spec.entries {
                    let src = e.source.as_deref().unwrap_or_default();
                    let i = names.iter().position(|n| n == src).ok_or_else(|| {
                        Error::Spec(format!(
                            "no input field named '{src}' (fields: {})",
                            names.join(", ")
                        ))
                    })?;
                    out.push((i, e.target.clone()));
                }
                out
            }
            (Some(spec), Some(_)) => spec
                .entries
                .iter()
                .enumerate()
                .map(|(i, e)| (i, e.target.clone()))
                .collect(),
            (None, Some(names)) => targets_from_names(names)?,
            (None, None) => {
                return Err(Error::Spec(
                    "input without field names needs --columns (or --header)".into(),
                ))
            }
        };
        let max_fields = match (spec, names) {
            (Some(s), None) => Some(s.entries.len()),
            (Some(s), Some(n)) if !s.is_named() => Some(s.entries.len().max(n.len())),
            (_, Some(n)) => Some(n.len()),
            (None, None) => None,
        };
        build(targets, max_fields, names)
    }
}

/// The self-describing mapping of named fields (no `--columns`).
fn targets_from_names(names: &[String]) -> Result<Vec<(usize, Target)>> {
    let is_row_key = |n: &str| n.eq_ignore_ascii_case("rowkey") || n == ROW_KEY;
    let has_row_key = names.iter().any(|n| is_row_key(n.trim()));
    let mut out = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let n = name.trim();
        let target = if is_row_key(n) || (!has_row_key && i == 0) {
            Target::RowKey
        } else if n == TS_KEY {
            Target::Timestamp
        } else if n.contains(':') {
            Target::parse(n)?
        } else {
            return Err(Error::Spec(format!(
                "field {} '{n}' is neither family:qualifier, rowkey nor {TS_KEY}; pass --columns",
                i + 1
            )));
        };
        out.push((i, target));
    }
    check_targets(out.iter().map(|(_, t)| t))?;
    Ok(out)
}

fn build(
    targets: Vec<(usize, Target)>,
    max_fields: Option<usize>,
    names: Option<&[String]>,
) -> Result<Mapping> {
    let mut row_key = None;
    let mut timestamp = None;
    let mut columns = Vec::new();
    for (field, t) in targets {
        match t {
            Target::RowKey => row_key = Some(field),
            Target::Timestamp => timestamp = Some(field),
            Target::Column { family, qualifier } => columns.push(MappedColumn {
                field,
                family,
                qualifier,
            }),
            Target::Skip => {}
        }
    }
    let row_key = row_key.ok_or_else(|| Error::Spec(format!("no {ROW_KEY} column")))?;
    columns.sort_by_key(|c| c.field);
    Ok(Mapping {
        row_key,
        timestamp,
        columns,
        max_fields,
        names: names.map(|n| n.to_vec()),
        typed: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn positional_spec_with_skip_and_timestamp() -> Result<()> {
        let spec = ColumnSpec::parse("HBASE_ROW_KEY,cf:a,,cf:b,HBASE_TS_KEY,d")?;
        let m = Mapping::resolve(Some(&spec), None)?;
        assert_eq!(m.row_key, 0);
        assert_eq!(m.timestamp, Some(4));
        let cols: Vec<(usize, &[u8], &[u8])> = m
            .columns
            .iter()
            .map(|c| (c.field, c.family.as_slice(), c.qualifier.as_slice()))
            .collect();
        assert_eq!(
            cols,
            vec![
                (1, &b"cf"[..], &b"a"[..]),
                (3, &b"cf"[..], &b"b"[..]),
                (5, &b"d"[..], &b""[..])
            ]
        );
        assert_eq!(m.max_fields, Some(6));
        Ok(())
    }

    #[test]
    fn spec_errors_are_named() {
        let err = |s: &str| match ColumnSpec::parse(s) {
            Err(Error::Spec(m)) => m,
            other => panic!("{s}: expected a spec error, got {other:?}"),
        };
        assert!(err("cf:a,cf:b").contains("exactly one HBASE_ROW_KEY"));
        assert!(err("HBASE_ROW_KEY,HBASE_ROW_KEY,cf:a").contains("found 2"));
        assert!(err("HBASE_ROW_KEY,cf:a,cf:a").contains("mapped twice"));
        assert!(err("HBASE_ROW_KEY,:a").contains("empty column family"));
        assert!(err("HBASE_ROW_KEY,HBASE_CELL_TTL,cf:a").contains("not supported"));
        assert!(err("HBASE_ROW_KEY").contains("no family:qualifier"));
        assert!(err("id=HBASE_ROW_KEY,cf:a").contains("mix"));
    }

    #[test]
    fn header_names_map_themselves() -> Result<()> {
        let m = Mapping::resolve(
            None,
            Some(&names(&["cf:b", "rowkey", "cf:a", "HBASE_TS_KEY"])),
        )?;
        assert_eq!(m.row_key, 1);
        assert_eq!(m.timestamp, Some(3));
        let fields: Vec<usize> = m.columns.iter().map(|c| c.field).collect();
        assert_eq!(fields, vec![0, 2]);
        // No rowkey column: the first column is the row key.
        let m = Mapping::resolve(None, Some(&names(&["id", "f:x"])))?;
        assert_eq!(m.row_key, 0);
        assert!(matches!(
            Mapping::resolve(None, Some(&names(&["id", "price"]))),
            Err(Error::Spec(m)) if m.contains("field 2 'price'")
        ));
        assert!(Mapping::resolve(None, None).is_err());
        Ok(())
    }

    #[test]
    fn named_spec_picks_fields() -> Result<()> {
        let spec = ColumnSpec::parse("id=HBASE_ROW_KEY, name=info:name")?;
        let m = Mapping::resolve(Some(&spec), Some(&names(&["name", "junk", "id"])))?;
        assert_eq!(m.row_key, 2);
        assert_eq!(m.columns[0].field, 0);
        assert_eq!(m.max_fields, Some(3));
        let missing = ColumnSpec::parse("nope=HBASE_ROW_KEY,name=info:name")?;
        assert!(Mapping::resolve(Some(&missing), Some(&names(&["name"]))).is_err());
        assert!(Mapping::resolve(Some(&spec), None).is_err());
        Ok(())
    }
}
