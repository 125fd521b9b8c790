//! Every end-to-end test in one binary (one link, one process), a module per part: the real
//! `greenroom` binary on loopback, real plugins built from source, real files.

mod auth;
mod catalog;
mod contract;
mod docs;
mod first_party;
mod github_discovery;
mod guard;
mod isolation;
mod permissions;
mod plugin_cli;
mod plugins;
mod scaffolder;
mod search;
mod thin_path;
