//! Which database the service keeps its data in, and the connection types the rest of the crate
//! names.
//!
//! * **SQLite** (a file): the default, and the only kind the app's embedded sandbox knows. WAL
//!   mode with `synchronous = FULL`, so that what the API acknowledged is on disk.
//! * **PostgreSQL** (a `postgres://` URL, with the `postgres` feature): several service
//!   instances share one database; committed events reach every instance's event streams through
//!   `LISTEN`/`NOTIFY` (see [`crate::store`]).
//!
//! One set of queries serves both: placeholders are written `$1`, `$2`, … (which SQLite reads
//! too), integers are 64-bit and amounts double precision in both schemas, and nothing relies on
//! a dialect's extras. With the `postgres` feature the queries go through sqlx's `Any` driver,
//! which decodes strictly by the value's own type; the code reads every column as the type both
//! databases give it, so it also runs unchanged straight on SQLite, as the sandbox does.

use std::fmt;
use std::path::{Path, PathBuf};

/// The sqlx database the queries run on: `Any` (SQLite or PostgreSQL, chosen by the URL) with the
/// `postgres` feature, SQLite itself without.
#[cfg(feature = "postgres")]
pub type Db = sqlx::Any;
/// The sqlx database the queries run on.
#[cfg(not(feature = "postgres"))]
pub type Db = sqlx::Sqlite;

/// A pool of connections to the database.
pub type DbPool = sqlx::Pool<Db>;
/// One connection.
pub type DbConnection = <Db as sqlx::Database>::Connection;
/// One row of an answer.
pub type DbRow = <Db as sqlx::Database>::Row;

/// Where the service keeps its data.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// A SQLite file, created with its folder if missing.
    File(PathBuf),
    /// A PostgreSQL database, by its `postgres://` URL (which may carry a password: never
    /// printed, see [`Database::fmt`](fmt::Display)).
    #[cfg(feature = "postgres")]
    Postgres(String),
}

impl Database {
    /// `text` as a database: a `postgres://` (or `postgresql://`) URL, otherwise a file name.
    pub fn parse(text: &str) -> Result<Self, String> {
        let lower = text.trim_start().to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            #[cfg(feature = "postgres")]
            {
                return url_without_password(text)
                    .map(|_| Self::Postgres(text.trim().to_owned()))
                    .ok_or_else(|| {
                        "the PostgreSQL URL is not valid: write it as \
                         postgres://user:password@host:5432/database"
                            .to_owned()
                    });
            }
            #[cfg(not(feature = "postgres"))]
            return Err("this build of Refill keeps its data in SQLite only".to_owned());
        }
        if text.trim().is_empty() {
            return Err("give a database file name or a postgres:// URL".to_owned());
        }
        Ok(Self::File(PathBuf::from(text)))
    }

    /// Which kind it is.
    pub fn backend(&self) -> Backend {
        match self {
            Self::File(_) => Backend::Sqlite,
            #[cfg(feature = "postgres")]
            Self::Postgres(_) => Backend::Postgres,
        }
    }
}

/// `url` with its password, if any, replaced by `***`; `None` if it is not a URL.
#[cfg(feature = "postgres")]
fn url_without_password(url: &str) -> Option<String> {
    let (scheme, rest) = url.trim().split_once("://")?;
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    if authority.is_empty() && path.is_empty() {
        return None;
    }
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => format!("{user_info}@{host}"),
        },
        None => authority.to_owned(),
    };
    Some(if path.is_empty() && !rest.contains('/') {
        format!("{scheme}://{authority}")
    } else {
        format!("{scheme}://{authority}/{path}")
    })
}

impl From<PathBuf> for Database {
    fn from(path: PathBuf) -> Self {
        Self::File(path)
    }
}

impl From<&Path> for Database {
    fn from(path: &Path) -> Self {
        Self::File(path.to_owned())
    }
}

impl From<&PathBuf> for Database {
    fn from(path: &PathBuf) -> Self {
        Self::File(path.clone())
    }
}

/// Names the database for people: the file, or the URL without its password.
impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
            #[cfg(feature = "postgres")]
            Self::Postgres(url) => f.write_str(
                &url_without_password(url).unwrap_or_else(|| "a PostgreSQL database".into()),
            ),
        }
    }
}

/// As [`Display`](fmt::Display): a URL's password never reaches a log.
impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Database({self})")
    }
}

/// The kind of database, for what differs between them (locking, change signals).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite: one writer at a time by its own lock.
    Sqlite,
    /// PostgreSQL: writers serialised by an advisory lock, changes signalled by `NOTIFY`.
    Postgres,
}

/// Reads a column that holds a 0/1 flag (SQLite has no booleans; both schemas use integers).
pub(crate) fn flag(row: &DbRow, column: &str) -> Result<bool, sqlx::Error> {
    use sqlx::Row;
    Ok(row.try_get::<i64, _>(column)? != 0)
}

/// Which kind of database `conn` is connected to.
pub(crate) fn backend_of(conn: &DbConnection) -> Backend {
    #[cfg(feature = "postgres")]
    if conn.backend_name() == <sqlx::Postgres as sqlx::Database>::NAME {
        return Backend::Postgres;
    }
    let _ = conn;
    Backend::Sqlite
}

/// `rows` rows of `columns` placeholders each, for a many-row `VALUES` (or, with one row, an
/// `IN` list), the values bound in order. PostgreSQL numbers them: `($1, $2), ($3, $4)` for
/// 2 × 2. SQLite gets bare `?`: its named and numbered parameters are found by a linear search
/// at every bind, so hundreds of them made a statement's binding quadratic (a tenth of the
/// ingest's database time, in a profile).
pub(crate) fn rows_of_placeholders(backend: Backend, rows: usize, columns: usize) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(rows * columns * 5);
    for row in 0..rows {
        out.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            let sep = if column == 0 { "" } else { ", " };
            let _ = match backend {
                Backend::Sqlite => write!(out, "{sep}?"),
                Backend::Postgres => write!(out, "{sep}${}", row * columns + column + 1),
            };
        }
        out.push(')');
    }
    out
}

#[cfg(test)]
mod placeholder_tests {
    use super::{rows_of_placeholders, Backend};

    #[test]
    fn rows_of_placeholders_give_every_value_its_own_place() {
        assert_eq!(
            rows_of_placeholders(Backend::Postgres, 2, 2),
            "($1, $2), ($3, $4)"
        );
        assert_eq!(
            rows_of_placeholders(Backend::Postgres, 1, 3),
            "($1, $2, $3)"
        );
        assert_eq!(
            rows_of_placeholders(Backend::Sqlite, 2, 2),
            "(?, ?), (?, ?)"
        );
    }
}

#[cfg(all(test, feature = "postgres"))]
mod tests {
    use super::*;

    #[test]
    fn urls_and_files_are_told_apart_and_passwords_never_shown() {
        let db = Database::parse("postgres://refill:s3cret@db.example:5432/refill").unwrap();
        assert_eq!(db.backend(), Backend::Postgres);
        assert_eq!(
            db.to_string(),
            "postgres://refill:***@db.example:5432/refill"
        );
        assert!(!format!("{db:?}").contains("s3cret"));
        let file = Database::parse("data/refill.sqlite").unwrap();
        assert_eq!(file, Database::File("data/refill.sqlite".into()));
        assert_eq!(file.backend(), Backend::Sqlite);
        assert!(Database::parse("  ").is_err());
        assert!(Database::parse("postgres://").is_err());
    }
}
