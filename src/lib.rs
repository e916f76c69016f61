//! dhanita: the Dhanita Finance CRM API as one program.
//!
//! Code map, in reading order:
//! - `model`: domain types and validation rules (Mobile, Money, Status, …); pure.
//! - `error`: the one error type.
//! - `config`: defaults ← dhanita.toml ← DHANITA_* ← flags.
//! - `db`: SQLite: open, migrate, seed, the group-commit writer, queries.
//! - `blobs`: the content-addressed document folder.
//! - `app`: one function per use case; lifecycle, IDs, transactions.
//! - `http`: rouille: routing, auth, limits, parsing, Error → response; reads' answers
//!   kept while the database is unchanged (`answers`).
//! - `cli`: subcommands.
//! - `slots`: how many requests do work at once (not counting waits for a commit).
//! - `bench`: `dhanita bench`, the server measured against this machine's limits.
//!
//! Architecture invariants: only `http` imports rouille (and `multipart`, in one file);
//! only `db` imports rusqlite; only `blobs` touches the document folder. Dependencies point
//! downward: `http` → `app` → `db`/`blobs` → `model`/`error`.

pub mod app;
pub mod bench;
pub mod blobs;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod http;
pub mod model;
pub mod slots;
