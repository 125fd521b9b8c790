//! The `github-discovery` plugin (contract 0.2.0): an entity provider offering the entities of
//! the catalog file (`catalog-info.yaml` unless `catalog-path` says otherwise) of every
//! repository of a GitHub organisation, as Backstage's GitHub discovery provider does
//! (archived repositories skipped, forks included), with a push webhook that has a changed
//! repository read again within about a second.
//!
//! A full scan lists the organisation's repositories and reads each one's file; what it
//! found is kept per repository in the plugin's storage, so `provide` answers from there and
//! a scan reads again only repositories pushed to since (their `pushed_at`). Full scans run
//! every `interval-seconds` (default 3600); between them only the repositories webhooks
//! marked are read. A run stops at its time budget (`budget-ms`) and the rest goes on in the
//! next run, asked for at once.
//!
//! Config (`plugins.github-discovery`): `org` (required); `api-url` (default
//! `https://api.github.com`; GitHub Enterprise: `https://HOST/api/v3`), whose host the
//! operator grants in `allowedHosts`; `token` and `webhook-secret` (grant both as secrets);
//! `catalog-path`; `interval-seconds`; `budget-ms`. It needs `catalogWrite: true`, and
//! `publicRoutes: [/webhook]` for GitHub to reach the webhook.

mod discovery;
mod entities;
mod github;
mod store;
mod webhook;

use greenroom_sdk::bindings::wasi::http::types::{IncomingRequest, ResponseOutparam};
use greenroom_sdk::log::{self, Level};
use greenroom_sdk::routes;
use greenroom_sdk::schedule::{self, Job};

use discovery::Outcome;
use github::Settings;

greenroom_sdk::bind_world!(
    inline: r#"
        package first-party:github-discovery;
        world github-discovery {
            include greenroom:plugin/provider-plugin@0.2.0;
            include greenroom:plugin/http-routes@0.2.0;
        }
    "#,
    "../../wit/v0.2.0"
);

use exports::greenroom::plugin::entity_provider;
use exports::greenroom::plugin::meta::{self, PluginInfo};
use exports::wasi::http::incoming_handler;

/// The longest the provider waits between runs: webhook marks whose `run-soon` went astray
/// are handled within this long.
const LONGEST_WAIT: u32 = 300;

struct GitHubDiscovery;

impl meta::Guest for GitHubDiscovery {
    fn info() -> PluginInfo {
        PluginInfo {
            id: "github-discovery".into(),
            name: "GitHub discovery".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Imports the catalog-info.yaml of every repository of a GitHub \
                organisation, read again when a push webhook says it changed."
                .into(),
        }
    }
}

impl entity_provider::Guest for GitHubDiscovery {
    fn refresh_interval_seconds() -> u32 {
        github::interval()
            .unwrap_or(github::DEFAULT_INTERVAL)
            .min(LONGEST_WAIT)
    }

    fn provide() -> Result<Vec<String>, String> {
        let settings = Settings::read()?;
        match discovery::run(&settings)? {
            Outcome::Done => {}
            Outcome::More => {
                if let Err(message) = schedule::run_soon(Job::EntityProvider) {
                    log::log(Level::Warn, &format!("cannot go on at once: {message}"));
                }
            }
        }
        store::entities()
    }
}

impl incoming_handler::Guest for GitHubDiscovery {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        routes::serve(request, out, webhook::route);
    }
}

export!(GitHubDiscovery);
