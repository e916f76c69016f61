//! Black-box tests: the real server on port 0 with a temp data dir, driven over HTTP.

mod helpers;
mod smoke;

mod core;
mod cli;
mod tidy;
mod persistence;
mod leads_data;
mod partners;
mod documents;
mod errors;
