//! Black-box tests: the real server on port 0 with a temp data dir, driven over HTTP.

mod helpers;
mod smoke;

mod bench;
mod cli;
mod contract;
mod core;
mod documents;
mod errors;
mod leads_data;
mod partners;
mod persistence;
mod tidy;

mod back_office;
mod cors;
mod duplicates;
mod fuzz_regressions;
mod idempotency;
mod kept_answers;
mod lead_reads;
mod operations;
mod props;
mod query_plans;
mod reliability;
mod search;
mod transport;
