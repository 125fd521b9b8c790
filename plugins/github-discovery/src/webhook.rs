//! `POST /webhook` (`/api/plugins/github-discovery/http/webhook`): GitHub's organisation
//! webhook. A delivery is believed only with a valid `X-Hub-Signature-256` made with the
//! `webhook-secret` (without a secret every delivery is refused). A push to a repository's
//! default branch marks that repository to be read again, and a repository deleted,
//! archived, created or edited marks it too; a repository renamed or moved asks for a full
//! scan. Either way the provider is asked to run at once (`schedule.run-soon`), and GitHub
//! gets 202; `ping` gets 200, anything else 204.

use greenroom_sdk::log::{self, Level};
use greenroom_sdk::routes::{Reply, Request};
use greenroom_sdk::schedule::{self, Job};
use serde::Deserialize;

use crate::github::{check_org, setting};
use crate::store::{self, Mark};

pub fn route(request: Request) -> Reply {
    match (request.method.as_str(), request.route()) {
        ("POST", "/webhook") => webhook(&request),
        (_, "/webhook") => Reply {
            status: 405,
            headers: vec![("allow".into(), "POST".into())],
            body: b"the webhook takes POST".to_vec(),
        },
        (method, path) => Reply::text(404, format!("no route {method} {path}")),
    }
}

const NO_SECRET: &str = "github-discovery has no webhook secret, so it refuses every delivery: \
    the operator grants one (plugins.github-discovery.secrets.webhook-secret) and gives \
    GitHub's webhook the same secret";

fn webhook(request: &Request) -> Reply {
    let secret = match setting("webhook-secret") {
        Ok(Some(secret)) => secret,
        Ok(None) => return Reply::text(503, NO_SECRET),
        Err(message) => return Reply::text(500, message),
    };
    if let Err(message) = request.verify_github_signature(&secret) {
        return Reply::text(401, message);
    }
    let Some(event) = request.header("x-github-event") else {
        return Reply::text(400, "no X-GitHub-Event header");
    };
    if event == "ping" {
        return Reply::text(200, "pong");
    }
    if !matches!(event, "push" | "repository") {
        return Reply::empty(204);
    }
    let org = match setting("org").and_then(|org| {
        let org = org.ok_or("github-discovery is not configured: no org")?;
        check_org(&org).map(|()| org)
    }) {
        Ok(org) => org,
        Err(message) => return Reply::text(503, message),
    };
    let delivery: Delivery = match serde_json::from_slice(&request.body) {
        Ok(delivery) => delivery,
        Err(e) => {
            return Reply::text(
                400,
                format!("the body is not a GitHub {event} event (application/json): {e}"),
            );
        }
    };
    let repo = &delivery.repository;
    if !repo.owner().eq_ignore_ascii_case(&org) {
        return Reply::empty(204);
    }
    // GitHub's repository names: letters, digits, `.`, `-` and `_`.
    let plain = |b: u8| b.is_ascii_alphanumeric() || b"._-".contains(&b);
    if repo.name.is_empty() || !repo.name.bytes().all(plain) {
        return Reply::text(400, format!("'{}' is not a repository name", repo.name));
    }
    let id = request.header("x-github-delivery").unwrap_or_default();
    let what = match (event, delivery.action.as_deref()) {
        ("push", _) => {
            let Some(branch) = &repo.default_branch else {
                return Reply::empty(204);
            };
            if delivery.git_ref.as_deref() != Some(&format!("refs/heads/{branch}")) {
                return Reply::empty(204);
            }
            store::mark(&repo.mark(repo.archived), id).map(|()| "read again")
        }
        ("repository", Some("deleted" | "archived")) => {
            store::mark(&repo.mark(true), id).map(|()| "removed")
        }
        ("repository", Some("created" | "unarchived" | "edited" | "publicized" | "privatized")) => {
            store::mark(&repo.mark(false), id).map(|()| "read again")
        }
        ("repository", Some(action @ ("renamed" | "transferred"))) => {
            store::ask_full_scan(&format!("{}/{} {action}", org, repo.name)).map(|()| "a full scan")
        }
        _ => return Reply::empty(204),
    };
    let what = match what {
        Ok(what) => what,
        Err(message) => return Reply::text(507, message),
    };
    if let Err(message) = schedule::run_soon(Job::EntityProvider) {
        log::log(Level::Warn, &format!("webhook: {message}"));
        return Reply::text(503, message);
    }
    log::log(
        Level::Info,
        &format!("webhook {event}: {org}/{}: {what} scheduled", repo.name),
    );
    Reply::text(202, format!("{org}/{}: {what} scheduled", repo.name))
}

/// The parts of a `push` or `repository` event discovery reads.
#[derive(Deserialize)]
struct Delivery {
    #[serde(rename = "ref", default)]
    git_ref: Option<String>,
    #[serde(default)]
    action: Option<String>,
    repository: Repository,
}

#[derive(Deserialize)]
struct Repository {
    name: String,
    #[serde(default)]
    full_name: Option<String>,
    #[serde(default)]
    default_branch: Option<String>,
    html_url: String,
    #[serde(default)]
    archived: bool,
    #[serde(default)]
    owner: Option<Owner>,
}

#[derive(Deserialize)]
struct Owner {
    #[serde(default)]
    login: Option<String>,
    /// Push events' owner has `name` as well.
    #[serde(default)]
    name: Option<String>,
}

impl Repository {
    /// The account the repository belongs to.
    fn owner(&self) -> &str {
        let owner = self.owner.as_ref();
        owner
            .and_then(|o| o.login.as_deref().or(o.name.as_deref()))
            .or_else(|| self.full_name.as_deref()?.split('/').next())
            .unwrap_or_default()
    }

    /// A mark for this repository; one without any branch has nothing to read.
    fn mark(&self, remove: bool) -> Mark {
        Mark {
            name: self.name.clone(),
            branch: self.default_branch.clone().unwrap_or_default(),
            html_url: self.html_url.clone(),
            remove: remove || self.default_branch.is_none(),
        }
    }
}
