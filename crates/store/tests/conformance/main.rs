//! The `Store` conformance suite: every test here runs once against SQLite (a temp file) and
//! once against PostgreSQL (a fresh schema), so both backends keep the same guarantees.
//!
//! PostgreSQL comes from `VOICEBOT_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). If it is unreachable the PostgreSQL tests fail:
//! CI starts the server (`scripts/test.sh`), so a skip would only hide a broken backend.

#[macro_use]
mod support;

mod callback;
mod dialer;
mod fleet;
mod intake;
mod limits;
mod listing;
mod open;
