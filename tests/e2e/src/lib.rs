//! `shoebox-e2e`: end-to-end tests of the backup engine (`shoebox-core`) and the `shoebox` CLI
//! against the real `shoebox-server` binary on loopback. Everything lives in `tests/`; the shared
//! harness (server process, fault-injecting TCP proxy, CLI runner, library builders) is
//! `tests/common/mod.rs`. Run with `cargo build -p shoebox-server -p shoebox-cli` then
//! `cargo nextest run -p shoebox-e2e`.
