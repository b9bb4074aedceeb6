//! Importing into typed (Phoenix-like) tables, as Phoenix's `CsvBulkLoadTool` does: each
//! input field is parsed by its column's SQL type, the primary key is encoded into the row
//! key (salted when the table is), and non-key columns become cells in their families, plus
//! the empty marker cell `0:_0` per row.
//!
//! Fields are matched to SQL columns by name (CSV header, Parquet schema, JSON keys; case
//! insensitive), by an explicit `--import-columns` list, or else by position in the table's
//! declaration order.

use std::sync::Arc;

use store_server::rowkey::Value;
use store_server::typed::{TypedSchema, DEFAULT_FAMILY, EMPTY_QUALIFIER};

use crate::error::{Error, Result};
use crate::spec::{MappedColumn, Mapping};

/// A typed table's schema resolved against one input: which field feeds which SQL column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypedFields {
    /// The table's schema.
    pub schema: Arc<TypedSchema>,
    /// Per SQL column (declaration order), the input field feeding it; `None` = always NULL.
    pub fields: Vec<Option<usize>>,
}

impl TypedFields {
    /// Matches the schema's columns to the input's fields: by `import_columns` (the input's
    /// fields in order, by SQL column name) if given, else by the input's field `names`, else
    /// positionally. Every primary-key column must be fed; unknown names are errors.
    pub fn resolve(
        schema: Arc<TypedSchema>,
        import_columns: Option<&[String]>,
        names: Option<&[String]>,
    ) -> Result<TypedFields> {
        let mut fields = vec![None; schema.columns.len()];
        match import_columns.or(names) {
            Some(list) => {
                for (field, name) in list.iter().enumerate() {
                    let name = name.trim();
                    let col = schema
                        .columns
                        .iter()
                        .position(|c| c.name.eq_ignore_ascii_case(name))
                        .ok_or_else(|| {
                            Error::Spec(format!(
                                "field '{name}' is not a column of the table (columns: {})",
                                column_names(&schema)
                            ))
                        })?;
                    if fields[col].replace(field).is_some() {
                        return Err(Error::Spec(format!("column '{name}' is given twice")));
                    }
                }
            }
            None => {
                for (col, f) in fields.iter_mut().enumerate() {
                    *f = Some(col);
                }
            }
        }
        let missing: Vec<&str> = schema
            .primary_key
            .iter()
            .filter(|k| fields[k.column].is_none())
            .map(|k| schema.columns[k.column].name.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(Error::Spec(format!(
                "no input field for primary-key column(s) {}",
                missing.join(", ")
            )));
        }
        Ok(TypedFields { schema, fields })
    }

    /// The (family, qualifier) of every cell a row can produce, in the order
    /// [`TypedSchema::encode_row`] yields them: non-key columns, then the marker.
    pub fn cell_columns(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let s = &self.schema;
        let mut out: Vec<(Vec<u8>, Vec<u8>)> = (0..s.columns.len())
            .filter(|&i| s.key_position(i).is_none())
            .map(|i| (s.columns[i].family.clone(), s.columns[i].qualifier.clone()))
            .collect();
        if s.marker {
            out.push((DEFAULT_FAMILY.to_vec(), EMPTY_QUALIFIER.to_vec()));
        }
        out
    }

    /// A [`Mapping`] for this input: the first key column's field as "row key" and one
    /// mapped column per fed non-key column, so that column tables and Parquet projections
    /// see every field the typed row builder reads.
    pub fn into_mapping(self, names: Option<&[String]>) -> Mapping {
        let s = &self.schema;
        let row_key = s
            .primary_key
            .first()
            .and_then(|k| self.fields[k.column])
            .unwrap_or(0);
        let mut columns: Vec<MappedColumn> = (0..s.columns.len())
            .filter(|&i| s.key_position(i).is_none())
            .filter_map(|i| {
                self.fields[i].map(|field| MappedColumn {
                    field,
                    family: s.columns[i].family.clone(),
                    qualifier: s.columns[i].qualifier.clone(),
                })
            })
            .collect();
        columns.sort_by_key(|c| c.field);
        let max_fields = match names {
            Some(n) => Some(n.len()),
            None => Some(s.columns.len()),
        };
        Mapping {
            row_key,
            timestamp: None,
            columns,
            max_fields,
            names: names.map(|n| n.to_vec()),
            typed: Some(self),
        }
    }

    /// Every input field this mapping reads.
    pub fn used_fields(&self) -> Vec<usize> {
        self.fields.iter().flatten().copied().collect()
    }

    /// Parses one record's fields (`text(field)` gives a field's text, `None` if absent)
    /// into a value per SQL column; the error names the 1-based field.
    pub fn parse_values(
        &self,
        mut text: impl FnMut(usize) -> std::result::Result<Option<String>, (usize, String)>,
    ) -> std::result::Result<Vec<Value>, (usize, String)> {
        let mut values = Vec::with_capacity(self.fields.len());
        for (col, field) in self.fields.iter().enumerate() {
            let v = match field {
                None => Value::Null,
                Some(f) => match text(*f)? {
                    None => Value::Null,
                    Some(t) => self
                        .schema
                        .parse_column(col, &t)
                        .map_err(|e| (*f + 1, strip_prefix(e)))?,
                },
            };
            values.push(v);
        }
        Ok(values)
    }
}

/// The schema's column names, for messages.
fn column_names(schema: &TypedSchema) -> String {
    schema
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// An engine error's message without the "invalid argument: " prefix.
pub(crate) fn strip_prefix(e: store_server::Error) -> String {
    match e {
        store_server::Error::InvalidArgument(m) => m,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use store_server::rowkey::{SortOrder, SqlType};
    use store_server::typed::{ColumnDef, KeyColumn};

    fn schema() -> Result<Arc<TypedSchema>> {
        let s = TypedSchema::new(
            vec![
                ColumnDef::key("id", SqlType::BigInt),
                ColumnDef::new("name", SqlType::Varchar, b"0"),
                ColumnDef::new("price", SqlType::Double, b"d"),
            ],
            vec![KeyColumn {
                column: 0,
                order: SortOrder::Asc,
            }],
            None,
        )?;
        Ok(Arc::new(s))
    }

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn fields_match_by_name_list_or_position() -> Result<()> {
        let by_name = TypedFields::resolve(schema()?, None, Some(&names(&["PRICE", "Id"])))?;
        assert_eq!(by_name.fields, vec![Some(1), None, Some(0)]);
        let positional = TypedFields::resolve(schema()?, None, None)?;
        assert_eq!(positional.fields, vec![Some(0), Some(1), Some(2)]);
        let listed = TypedFields::resolve(
            schema()?,
            Some(&names(&["name", "id"])),
            Some(&names(&["a", "b"])),
        )?;
        assert_eq!(listed.fields, vec![Some(1), Some(0), None]);
        let no_key = TypedFields::resolve(schema()?, None, Some(&names(&["name"])));
        assert!(matches!(no_key, Err(Error::Spec(m)) if m.contains("id")));
        let unknown = TypedFields::resolve(schema()?, None, Some(&names(&["id", "colour"])));
        assert!(matches!(unknown, Err(Error::Spec(m)) if m.contains("colour")));
        Ok(())
    }

    #[test]
    fn values_parse_by_type_and_name_the_bad_field() -> Result<()> {
        let t = TypedFields::resolve(schema()?, None, None)?;
        let rec = ["7", "", "2.5"];
        let text = |f: usize| Ok(rec.get(f).map(|s| s.to_string()));
        let v = t.parse_values(text).map_err(|(_, m)| Error::Spec(m))?;
        assert_eq!(v, vec![Value::I64(7), Value::Null, Value::F64(2.5)]);
        let bad = ["x", "n", "1"];
        let r = t.parse_values(|f: usize| Ok(bad.get(f).map(|s| s.to_string())));
        assert!(matches!(r, Err((1, m)) if m.contains("'x'")));
        assert_eq!(
            t.cell_columns(),
            vec![
                (b"0".to_vec(), b"name".to_vec()),
                (b"d".to_vec(), b"price".to_vec()),
                (b"0".to_vec(), b"_0".to_vec()),
            ]
        );
        Ok(())
    }
}
