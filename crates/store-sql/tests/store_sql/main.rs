//! store-sql against real databases: PostgreSQL (`POSTGRES_URL`), MySQL/MariaDB
//! (`MYSQL_URL`) and SQLite (in memory and in a file). A test whose service cannot be
//! reached fails, naming the service and the variable.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failed test.

mod common;
mod concurrency;
mod conformance;
mod errors;
mod logout;
mod migrate;
mod purge;
mod timeout;
