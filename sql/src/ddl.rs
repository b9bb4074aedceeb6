//! The Phoenix-dialect front end: recognises the statements DataFusion cannot parse
//! (`CREATE TABLE` with Phoenix options and `fam.col` names, `CREATE VIEW` over raw tables,
//! `UPSERT`, `DELETE`, `DROP TABLE/VIEW`, `ALTER TABLE ... ADD`) with a small hand parser
//! over sqlparser's tokenizer; everything else is a query for DataFusion. Errors carry the
//! line and column of the offending token.

use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};
use store_server::rowkey::{SortOrder, SqlType};

use crate::error::{Result, SqlError};

/// One column in CREATE TABLE / CREATE VIEW / ALTER TABLE ADD.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnSpec {
    /// The family, for `fam.col` names.
    pub family: Option<String>,
    /// The column name.
    pub name: String,
    /// The SQL type.
    pub ty: SqlType,
    /// Declared NOT NULL.
    pub not_null: bool,
    /// Declared inline `PRIMARY KEY [ASC|DESC]`.
    pub primary_key: Option<SortOrder>,
}

/// `CREATE TABLE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateTable {
    /// Table name.
    pub name: String,
    /// IF NOT EXISTS.
    pub if_not_exists: bool,
    /// Columns in order.
    pub columns: Vec<ColumnSpec>,
    /// `CONSTRAINT pk PRIMARY KEY (...)`, if given.
    pub primary_key: Option<Vec<(String, SortOrder)>>,
    /// Table options (`NAME=value`, names upper-cased).
    pub options: Vec<(String, String)>,
    /// `SPLIT ON (...)` literals.
    pub split_on: Vec<String>,
}

/// `CREATE VIEW v (...) AS SELECT * FROM raw`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateView {
    /// View name.
    pub name: String,
    /// Columns.
    pub columns: Vec<ColumnSpec>,
    /// The raw table mapped.
    pub source: String,
}

/// A parsed statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Statement {
    /// CREATE TABLE.
    CreateTable(CreateTable),
    /// CREATE VIEW over a raw table.
    CreateView(CreateView),
    /// `UPSERT INTO t [(cols)] VALUES ... | SELECT ...`; `source` is the query text.
    Upsert {
        /// Target table.
        table: String,
        /// Target columns (all columns if `None`).
        columns: Option<Vec<String>>,
        /// The VALUES or SELECT text.
        source: String,
    },
    /// `DELETE FROM t [WHERE ...]`; `predicate` is the condition text.
    Delete {
        /// Table.
        table: String,
        /// WHERE condition text.
        predicate: Option<String>,
    },
    /// `DROP TABLE|VIEW [IF EXISTS] name`.
    Drop {
        /// Name.
        name: String,
        /// IF EXISTS.
        if_exists: bool,
        /// DROP VIEW rather than DROP TABLE.
        view: bool,
    },
    /// `ALTER TABLE t ADD [IF NOT EXISTS] col TYPE, ...`.
    AlterAdd {
        /// Table.
        table: String,
        /// IF NOT EXISTS.
        if_not_exists: bool,
        /// Columns added.
        columns: Vec<ColumnSpec>,
    },
    /// Anything else: handed to DataFusion.
    Query(String),
}

/// Splits a script into statements at `;` outside quotes and comments.
pub fn split_statements(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = script.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                cur.push(c);
                if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' => {
                    quote = Some(c);
                    cur.push(c);
                }
                '-' if chars.peek() == Some(&'-') => {
                    // Line comment: skip to end of line.
                    for n in chars.by_ref() {
                        if n == '\n' {
                            cur.push('\n');
                            break;
                        }
                    }
                }
                ';' => {
                    if !cur.trim().is_empty() {
                        out.push(cur.trim().to_string());
                    }
                    cur.clear();
                }
                _ => cur.push(c),
            },
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

struct Parser<'a> {
    sql: &'a str,
    toks: Vec<TokenWithSpan>,
    pos: usize,
}

/// Normalises an identifier as DataFusion does: unquoted → lower case.
fn ident_value(w: &datafusion::sql::sqlparser::tokenizer::Word) -> String {
    if w.quote_style.is_some() {
        w.value.clone()
    } else {
        w.value.to_ascii_lowercase()
    }
}

impl<'a> Parser<'a> {
    fn new(sql: &'a str) -> Result<Parser<'a>> {
        let dialect = GenericDialect {};
        let toks = Tokenizer::new(&dialect, sql)
            .tokenize_with_location()
            .map_err(|e| SqlError::Syntax {
                message: e.message,
                line: e.location.line,
                column: e.location.column,
            })?
            .into_iter()
            .filter(|t| !matches!(t.token, Token::Whitespace(_)))
            .collect();
        Ok(Parser { sql, toks, pos: 0 })
    }

    fn peek(&self) -> &Token {
        self.toks
            .get(self.pos)
            .map(|t| &t.token)
            .unwrap_or(&Token::EOF)
    }

    fn err(&self, msg: impl Into<String>) -> SqlError {
        let (line, column) = match self.toks.get(self.pos) {
            Some(t) => (t.span.start.line, t.span.start.column),
            None => {
                let lines = self.sql.lines().count().max(1) as u64;
                let col = self
                    .sql
                    .lines()
                    .last()
                    .map(|l| l.chars().count())
                    .unwrap_or(0) as u64;
                (lines, col + 1)
            }
        };
        let found = match self.peek() {
            Token::EOF => "end of statement".to_string(),
            t => format!("'{t}'"),
        };
        SqlError::Syntax {
            message: format!("{}, found {found}", msg.into()),
            line,
            column,
        }
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(kw))
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_kw(&mut self, kw: &str) -> Result<()> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(self.err(format!("expected {kw}")))
        }
    }

    fn eat(&mut self, t: &Token) -> bool {
        if self.peek() == t {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, t: &Token) -> Result<()> {
        if self.eat(t) {
            Ok(())
        } else {
            Err(self.err(format!("expected '{t}'")))
        }
    }

    fn ident(&mut self) -> Result<String> {
        match self.peek().clone() {
            Token::Word(w) => {
                self.pos += 1;
                Ok(ident_value(&w))
            }
            _ => Err(self.err("expected an identifier")),
        }
    }

    /// A table name: an identifier, possibly `ns:name` spelled unquoted or `a.b` (taken as
    /// `a.b`, Phoenix's schema-qualified name, which is a valid store table name).
    fn table_name(&mut self) -> Result<String> {
        let mut name = self.ident()?;
        loop {
            if self.eat(&Token::Colon) {
                name.push(':');
                name.push_str(&self.ident()?);
            } else if self.eat(&Token::Period) {
                name.push('.');
                name.push_str(&self.ident()?);
            } else {
                return Ok(name);
            }
        }
    }

    fn number(&mut self) -> Result<u32> {
        match self.peek().clone() {
            Token::Number(n, _) => {
                let v = n
                    .parse::<u32>()
                    .map_err(|_| self.err("expected a small integer"))?;
                self.pos += 1;
                Ok(v)
            }
            _ => Err(self.err("expected a number")),
        }
    }

    /// A literal option value: number, string or word.
    fn literal(&mut self) -> Result<String> {
        let neg = self.eat(&Token::Minus);
        let v = match self.peek().clone() {
            Token::Number(n, _) => n,
            Token::SingleQuotedString(s) => s,
            Token::Word(w) => w.value,
            _ => return Err(self.err("expected a value")),
        };
        self.pos += 1;
        Ok(if neg { format!("-{v}") } else { v })
    }

    fn sql_type(&mut self) -> Result<SqlType> {
        let start = self.pos;
        let name = match self.peek().clone() {
            Token::Word(w) => w.value,
            _ => return Err(self.err("expected a type")),
        };
        self.pos += 1;
        // DOUBLE PRECISION
        if name.eq_ignore_ascii_case("double") {
            self.eat_kw("precision");
        }
        let mut args = Vec::new();
        if self.eat(&Token::LParen) {
            args.push(self.number()?);
            while self.eat(&Token::Comma) {
                args.push(self.number()?);
            }
            self.expect(&Token::RParen)?;
        }
        SqlType::from_parts(&name, &args).map_err(|e| {
            let at = self.toks.get(start).map(|t| t.span.start);
            SqlError::Syntax {
                message: match e {
                    store_server::Error::InvalidArgument(m) => m,
                    other => other.to_string(),
                },
                line: at.map(|l| l.line).unwrap_or(1),
                column: at.map(|l| l.column).unwrap_or(1),
            }
        })
    }

    fn order(&mut self) -> SortOrder {
        if self.eat_kw("desc") {
            SortOrder::Desc
        } else {
            self.eat_kw("asc");
            SortOrder::Asc
        }
    }

    fn column_spec(&mut self) -> Result<ColumnSpec> {
        let first = self.ident()?;
        let (family, name) = if self.eat(&Token::Period) {
            (Some(first), self.ident()?)
        } else {
            (None, first)
        };
        let ty = self.sql_type()?;
        let mut spec = ColumnSpec {
            family,
            name,
            ty,
            not_null: false,
            primary_key: None,
        };
        loop {
            if self.eat_kw("not") {
                self.expect_kw("null")?;
                spec.not_null = true;
            } else if self.eat_kw("null") {
            } else if self.eat_kw("primary") {
                self.expect_kw("key")?;
                spec.primary_key = Some(self.order());
            } else {
                return Ok(spec);
            }
        }
    }

    fn done(&mut self) -> Result<()> {
        self.eat(&Token::SemiColon);
        if self.peek() == &Token::EOF {
            Ok(())
        } else {
            Err(self.err("unexpected text"))
        }
    }

    /// Byte offset of token `i` in the statement.
    fn offset(&self, i: usize) -> usize {
        let Some(t) = self.toks.get(i) else {
            return self.sql.len();
        };
        let (line, col) = (t.span.start.line as usize, t.span.start.column as usize);
        let mut off = 0;
        for (n, l) in self.sql.split_inclusive('\n').enumerate() {
            if n + 1 == line {
                return off
                    + l.char_indices()
                        .nth(col.saturating_sub(1))
                        .map(|(b, _)| b)
                        .unwrap_or(l.len());
            }
            off += l.len();
        }
        self.sql.len()
    }

    fn rest_from(&self, i: usize) -> String {
        self.sql[self.offset(i)..]
            .trim()
            .trim_end_matches(';')
            .trim()
            .to_string()
    }

    fn create_table(&mut self) -> Result<Statement> {
        let if_not_exists = if self.eat_kw("if") {
            self.expect_kw("not")?;
            self.expect_kw("exists")?;
            true
        } else {
            false
        };
        let name = self.table_name()?;
        self.expect(&Token::LParen)?;
        let mut columns = Vec::new();
        let mut primary_key = None;
        loop {
            if self.eat_kw("constraint") {
                self.ident()?;
                self.expect_kw("primary")?;
                self.expect_kw("key")?;
                self.expect(&Token::LParen)?;
                let mut pk = Vec::new();
                loop {
                    let c = self.ident()?;
                    pk.push((c, self.order()));
                    if !self.eat(&Token::Comma) {
                        break;
                    }
                }
                self.expect(&Token::RParen)?;
                if primary_key.replace(pk).is_some() {
                    return Err(self.err("a second PRIMARY KEY constraint"));
                }
            } else if self.is_kw("primary") {
                self.pos += 1;
                self.expect_kw("key")?;
                self.expect(&Token::LParen)?;
                let mut pk = Vec::new();
                loop {
                    let c = self.ident()?;
                    pk.push((c, self.order()));
                    if !self.eat(&Token::Comma) {
                        break;
                    }
                }
                self.expect(&Token::RParen)?;
                primary_key = Some(pk);
            } else {
                columns.push(self.column_spec()?);
            }
            // Phoenix allows `CONSTRAINT` right after the last column, without a comma.
            if self.eat(&Token::Comma) || self.is_kw("constraint") {
                continue;
            }
            self.expect(&Token::RParen)?;
            break;
        }
        let mut options = Vec::new();
        let mut split_on = Vec::new();
        loop {
            if self.eat_kw("split") {
                self.expect_kw("on")?;
                self.expect(&Token::LParen)?;
                loop {
                    split_on.push(self.literal()?);
                    if !self.eat(&Token::Comma) {
                        break;
                    }
                }
                self.expect(&Token::RParen)?;
                continue;
            }
            match self.peek() {
                Token::Word(_) => {
                    let key = self.ident()?.to_ascii_uppercase();
                    self.expect(&Token::Eq)?;
                    options.push((key, self.literal()?));
                    self.eat(&Token::Comma);
                }
                _ => break,
            }
        }
        self.done()?;
        Ok(Statement::CreateTable(CreateTable {
            name,
            if_not_exists,
            columns,
            primary_key,
            options,
            split_on,
        }))
    }

    fn create_view(&mut self) -> Result<Statement> {
        let name = self.table_name()?;
        self.expect(&Token::LParen)?;
        let mut columns = Vec::new();
        loop {
            columns.push(self.column_spec()?);
            if !self.eat(&Token::Comma) {
                break;
            }
        }
        self.expect(&Token::RParen)?;
        self.expect_kw("as")?;
        self.expect_kw("select")?;
        self.expect(&Token::Mul)?;
        self.expect_kw("from")?;
        let source = self.table_name()?;
        self.done()?;
        Ok(Statement::CreateView(CreateView {
            name,
            columns,
            source,
        }))
    }
}

/// Parses one statement.
pub fn parse(sql: &str) -> Result<Statement> {
    let mut p = Parser::new(sql)?;
    if p.eat_kw("create") {
        if p.eat_kw("table") {
            return p.create_table();
        }
        if p.eat_kw("view") {
            return p.create_view();
        }
        return Ok(Statement::Query(sql.to_string()));
    }
    if p.eat_kw("upsert") {
        p.expect_kw("into")?;
        let table = p.table_name()?;
        let columns = if p.eat(&Token::LParen) {
            let mut cols = Vec::new();
            loop {
                let first = p.ident()?;
                // `fam.col` is accepted and names column `col`.
                cols.push(if p.eat(&Token::Period) {
                    p.ident()?
                } else {
                    first
                });
                if !p.eat(&Token::Comma) {
                    break;
                }
            }
            p.expect(&Token::RParen)?;
            Some(cols)
        } else {
            None
        };
        if !(p.is_kw("values") || p.is_kw("select") || p.is_kw("with")) {
            return Err(p.err("expected VALUES or SELECT"));
        }
        let source = p.rest_from(p.pos);
        return Ok(Statement::Upsert {
            table,
            columns,
            source,
        });
    }
    if p.eat_kw("delete") {
        p.expect_kw("from")?;
        let table = p.table_name()?;
        let predicate = if p.eat_kw("where") {
            let r = p.rest_from(p.pos);
            if r.is_empty() {
                return Err(p.err("expected a condition"));
            }
            Some(r)
        } else {
            p.done()?;
            None
        };
        return Ok(Statement::Delete { table, predicate });
    }
    if p.eat_kw("drop") {
        let view = if p.eat_kw("view") {
            true
        } else {
            p.expect_kw("table")?;
            false
        };
        let if_exists = if p.eat_kw("if") {
            p.expect_kw("exists")?;
            true
        } else {
            false
        };
        let name = p.table_name()?;
        p.done()?;
        return Ok(Statement::Drop {
            name,
            if_exists,
            view,
        });
    }
    if p.eat_kw("alter") {
        p.expect_kw("table")?;
        let table = p.table_name()?;
        p.expect_kw("add")?;
        p.eat_kw("column");
        let if_not_exists = if p.eat_kw("if") {
            p.expect_kw("not")?;
            p.expect_kw("exists")?;
            true
        } else {
            false
        };
        let mut columns = Vec::new();
        loop {
            columns.push(p.column_spec()?);
            if !p.eat(&Token::Comma) {
                break;
            }
        }
        p.done()?;
        return Ok(Statement::AlterAdd {
            table,
            if_not_exists,
            columns,
        });
    }
    Ok(Statement::Query(sql.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_table_with_phoenix_options() {
        let s = parse(
            "CREATE TABLE IF NOT EXISTS metrics (host VARCHAR NOT NULL, ts TIMESTAMP NOT NULL,\n a.cpu DOUBLE, mem DECIMAL(10,2),\n CONSTRAINT pk PRIMARY KEY (host, ts DESC)) SALT_BUCKETS=4, COMPRESSION='GZ', VERSIONS=3",
        );
        let Ok(Statement::CreateTable(ct)) = s else {
            panic!("{s:?}")
        };
        assert!(ct.if_not_exists);
        assert_eq!(ct.name, "metrics");
        assert_eq!(ct.columns.len(), 4);
        assert_eq!(ct.columns[2].family.as_deref(), Some("a"));
        assert_eq!(
            ct.primary_key,
            Some(vec![
                ("host".to_string(), SortOrder::Asc),
                ("ts".to_string(), SortOrder::Desc)
            ])
        );
        assert_eq!(
            ct.options,
            vec![
                ("SALT_BUCKETS".to_string(), "4".to_string()),
                ("COMPRESSION".to_string(), "GZ".to_string()),
                ("VERSIONS".to_string(), "3".to_string())
            ]
        );
        let s = parse("CREATE TABLE t (k VARCHAR PRIMARY KEY) SPLIT ON ('b', 'm')");
        let Ok(Statement::CreateTable(ct)) = s else {
            panic!("{s:?}")
        };
        assert_eq!(ct.split_on, vec!["b".to_string(), "m".to_string()]);
        assert_eq!(ct.columns[0].primary_key, Some(SortOrder::Asc));
    }

    #[test]
    fn errors_have_positions() {
        let e = parse("CREATE TABLE t (a INTEGER,\n  b FOO)")
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("syntax error at line 2, column 5: unknown SQL type 'FOO'")
        );
        let e = parse("UPSERT INTO t (a) FROM x")
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("syntax error at line 1, column 19: expected VALUES or SELECT, found 'FROM'")
        );
    }

    #[test]
    fn dml_statements() {
        assert_eq!(
            parse("upsert into t (a, b) values (1, 'x'), (2, 'y');").ok(),
            Some(Statement::Upsert {
                table: "t".into(),
                columns: Some(vec!["a".into(), "b".into()]),
                source: "values (1, 'x'), (2, 'y')".into()
            })
        );
        assert_eq!(
            parse("DELETE FROM t WHERE a > 3").ok(),
            Some(Statement::Delete {
                table: "t".into(),
                predicate: Some("a > 3".into())
            })
        );
        assert_eq!(
            parse("DROP TABLE IF EXISTS \"X\"").ok(),
            Some(Statement::Drop {
                name: "X".into(),
                if_exists: true,
                view: false
            })
        );
        assert!(matches!(parse("SELECT 1"), Ok(Statement::Query(_))));
        assert_eq!(
            split_statements("select ';'; -- c;\nselect 2;"),
            vec!["select ';'".to_string(), "select 2".to_string()]
        );
    }
}
