//! The operator's settings and GitHub's REST API, the two calls discovery makes: an
//! organisation's repositories (`GET /orgs/{org}/repos`, page by page) and a file of a
//! repository at a branch (`GET /repos/{org}/{repo}/contents/{path}?ref={branch}`). Every
//! request of a run shares the run's time budget; every failure names the call.

use std::time::{Duration, Instant};

use base64::Engine;
use greenroom_sdk::config;
use greenroom_sdk::http::{self, Response};
use serde::{Deserialize, Serialize};

/// Where the API lives unless the operator sets `api-url`.
pub const DEFAULT_API_URL: &str = "https://api.github.com";
pub const DEFAULT_CATALOG_PATH: &str = "catalog-info.yaml";
/// Seconds between full scans unless the operator sets `interval-seconds`.
pub const DEFAULT_INTERVAL: u32 = 3600;
/// What one run may spend on GitHub's API unless the operator sets `budget-ms`: inside the
/// call's default 2 s deadline, leaving time to read storage and answer.
const DEFAULT_BUDGET_MS: u64 = 1500;
/// Repositories per page of the organisation's listing: GitHub's largest page.
pub const PER_PAGE: usize = 100;
/// A request is not started with less time than this left of the budget.
const SHORTEST_REQUEST: Duration = Duration::from_millis(50);
/// The smallest budget: enough for a few requests, so every run gets on.
const SMALLEST_BUDGET_MS: u64 = 250;

/// The operator's configuration (`plugins.github-discovery.config` and `.secrets`).
pub struct Settings {
    /// The API's base URL, without a trailing `/`.
    pub api: String,
    pub org: String,
    pub token: Option<String>,
    /// The catalog file's path in each repository, without a leading `/`.
    pub path: String,
    /// Seconds between full scans.
    pub interval: u32,
    budget: Duration,
}

impl Settings {
    pub fn read() -> Result<Self, String> {
        let org = setting("org")?.ok_or(
            "github-discovery is not configured: set the organisation to discover \
             (plugins.github-discovery.config.org)",
        )?;
        check_org(&org)?;
        let path = setting("catalog-path")?.unwrap_or_else(|| DEFAULT_CATALOG_PATH.into());
        let path = path.trim_start_matches('/').to_string();
        if path.is_empty()
            || path
                .split('/')
                .any(|segment| segment.is_empty() || segment == "." || segment == "..")
        {
            return Err(format!(
                "catalog-path '{path}' is not a file path inside a repository (e.g. \
                 catalog-info.yaml or .backstage/catalog-info.yaml)"
            ));
        }
        let api = setting("api-url")?.unwrap_or_else(|| DEFAULT_API_URL.into());
        Ok(Settings {
            api: api.trim_end_matches('/').to_string(),
            org,
            token: setting("token")?,
            path,
            interval: interval()?,
            budget: Duration::from_millis(
                number("budget-ms")?
                    .unwrap_or(DEFAULT_BUDGET_MS)
                    .max(SMALLEST_BUDGET_MS),
            ),
        })
    }

    /// What a stored discovery depends on: another API, organisation or path starts over.
    pub fn fingerprint(&self) -> String {
        format!(
            "{}\n{}\n{}",
            self.api,
            self.org.to_ascii_lowercase(),
            self.path
        )
    }
}

/// Seconds between full scans (`interval-seconds`, at least 1).
pub fn interval() -> Result<u32, String> {
    Ok(number("interval-seconds")?
        .map_or(DEFAULT_INTERVAL, |n| n.clamp(1, u64::from(u32::MAX)) as u32))
}

/// A config value, none when unset or blank.
pub fn setting(key: &str) -> Result<Option<String>, String> {
    Ok(config::get(key)?
        .map(|value| value.trim().to_string())
        .filter(|value| !value.is_empty()))
}

fn number(key: &str) -> Result<Option<u64>, String> {
    setting(key)?
        .map(|text| {
            text.parse()
                .map_err(|_| format!("config {key} '{text}' is not a whole number"))
        })
        .transpose()
}

/// GitHub logins are letters, digits and `-`: nothing that could leave the URL's path segment.
pub fn check_org(org: &str) -> Result<(), String> {
    if org.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        Ok(())
    } else {
        Err(format!("org '{org}' is not a GitHub organisation name"))
    }
}

/// Why a request gave no answer to use.
#[derive(Debug)]
pub enum Error {
    /// The run's time budget is spent: the work goes on in the next run.
    OutOfTime,
    /// GitHub refused the token or the rate limit is reached: nothing more is asked this run.
    Refused(String),
    /// This one request failed (a network error, a server error).
    Failed(String),
}

/// One repository of the organisation's listing, as much of it as discovery needs.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Listed {
    pub name: String,
    /// None for a repository with no branch at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_branch: Option<String>,
    pub html_url: String,
    /// Archived or disabled: discovery skips it, as Backstage's does.
    #[serde(default)]
    pub archived: bool,
    #[serde(default)]
    pub disabled: bool,
    /// When something was last pushed to any branch; a stored discovery of the same
    /// `pushed_at` is still current.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pushed_at: Option<String>,
}

/// A client for one run: the settings and when the run's budget ends.
pub struct GitHub<'a> {
    settings: &'a Settings,
    deadline: Instant,
}

impl<'a> GitHub<'a> {
    pub fn new(settings: &'a Settings) -> Self {
        GitHub {
            settings,
            deadline: Instant::now() + settings.budget,
        }
    }

    pub fn settings(&self) -> &Settings {
        self.settings
    }

    /// Whether the budget leaves time for another request.
    pub fn out_of_time(&self) -> bool {
        self.left() < SHORTEST_REQUEST
    }

    fn left(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// One page (1-based) of the organisation's repositories, in name order.
    pub fn repositories(&self, page: u32) -> Result<Vec<Listed>, Error> {
        let org = &self.settings.org;
        let path =
            format!("/orgs/{org}/repos?type=all&sort=full_name&per_page={PER_PAGE}&page={page}");
        let response = self.get(&path)?;
        match response.status {
            200 => serde_json::from_slice(&response.body).map_err(|e| {
                Error::Failed(format!(
                    "GitHub GET /orgs/{org}/repos answered an unexpected body: {e}"
                ))
            }),
            404 => Err(Error::Failed(format!(
                "GitHub has no organisation '{org}' (GET /orgs/{org}/repos answered 404{}); \
                 check plugins.github-discovery.config.org and the token's access",
                explanation(&response)
            ))),
            status => Err(Error::Failed(format!(
                "GitHub GET /orgs/{org}/repos answered {status}{}",
                explanation(&response)
            ))),
        }
    }

    /// The file at `path` in `repo` at `branch`; none when there is none (404).
    pub fn file(&self, repo: &str, branch: &str, path: &str) -> Result<Option<Vec<u8>>, Error> {
        let org = &self.settings.org;
        let call = format!("GET /repos/{org}/{repo}/contents/{path}");
        let segments: Vec<String> = path.split('/').map(http::encode).collect();
        let response = self.get(&format!(
            "/repos/{org}/{}/contents/{}?ref={}",
            http::encode(repo),
            segments.join("/"),
            http::encode(branch)
        ))?;
        match response.status {
            200 => {}
            404 => return Ok(None),
            status => {
                return Err(Error::Failed(format!(
                    "GitHub {call} answered {status}{}",
                    explanation(&response)
                )));
            }
        }
        let Ok(contents) = serde_json::from_slice::<Contents>(&response.body) else {
            return Err(Error::Failed(format!(
                "GitHub {call} did not answer a file (a folder?)"
            )));
        };
        match (contents.kind.as_str(), contents.encoding.as_deref()) {
            ("file", Some("base64")) => {}
            ("file", _) => {
                return Err(Error::Failed(format!(
                    "GitHub {call}: the file is too large to read through the contents API \
                     (over 1 MB)"
                )));
            }
            (kind, _) => {
                return Err(Error::Failed(format!(
                    "GitHub {call}: a {kind}, not a file"
                )));
            }
        }
        let text: String = contents
            .content
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map(Some)
            .map_err(|e| Error::Failed(format!("GitHub {call}: the content is not base64: {e}")))
    }

    fn get(&self, path: &str) -> Result<Response, Error> {
        let left = self.left();
        if left < SHORTEST_REQUEST {
            return Err(Error::OutOfTime);
        }
        let url = format!("{}{path}", self.settings.api);
        let authorization = self.settings.token.as_ref().map(|t| format!("Bearer {t}"));
        let mut headers = vec![
            ("accept", "application/vnd.github+json"),
            ("x-github-api-version", "2022-11-28"),
            ("user-agent", "greenroom-github-discovery"),
        ];
        if let Some(authorization) = &authorization {
            headers.push(("authorization", authorization));
        }
        let response = match http::get_with_timeout(&url, &headers, left) {
            Ok(response) => response,
            Err(_) if self.out_of_time() => return Err(Error::OutOfTime),
            Err(e) => return Err(Error::Failed(format!("GitHub {e}"))),
        };
        let call = path.split('?').next().unwrap_or(path);
        let limited = || {
            response.status == 429
                || (response.status == 403
                    && explanation(&response)
                        .to_ascii_lowercase()
                        .contains("rate limit"))
        };
        if response.status == 401 || limited() {
            let hint = if response.status == 401 {
                "; check the token (plugins.github-discovery.secrets.token)"
            } else {
                ""
            };
            return Err(Error::Refused(format!(
                "GitHub GET {call} answered {}{}{hint}",
                response.status,
                explanation(&response)
            )));
        }
        Ok(response)
    }
}

#[derive(Deserialize)]
struct Contents {
    #[serde(rename = "type")]
    kind: String,
    encoding: Option<String>,
    #[serde(default)]
    content: String,
}

/// GitHub's error message (`{"message": ...}`), else the start of the body, after `: `.
fn explanation(response: &Response) -> String {
    #[derive(Deserialize)]
    struct Message {
        message: String,
    }
    let text = serde_json::from_slice::<Message>(&response.body)
        .map(|m| m.message.trim().chars().take(200).collect())
        .unwrap_or_else(|_| response.excerpt());
    if text.is_empty() {
        return String::new();
    }
    format!(": {text}")
}
