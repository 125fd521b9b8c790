//! PagerDuty's REST API v2, the calls the card and its form make: a service
//! (`GET /services/{id}`), who is on call for its escalation policy (`GET /oncalls`) and a new
//! incident (`POST /incidents`). Every failure names the call and, when PagerDuty answered,
//! its status and PagerDuty's own message.

use std::time::{Duration, Instant};

use greenroom_sdk::config;
use greenroom_sdk::http::{self, Method, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;


/// Where the API lives unless the operator sets `api-url` (EU accounts:
/// `https://api.eu.pagerduty.com`).
pub const DEFAULT_API_URL: &str = "https://api.pagerduty.com";
/// The API version PagerDuty serves, chosen by this header.
pub const ACCEPT: &str = "application/vnd.pagerduty+json;version=2";
/// What the requests of one plugin call may take together: inside the call's default 2 s
/// deadline, so a slow API ends in this plugin's message.
const BUDGET: Duration = Duration::from_millis(1500);

/// A configured client: the API's base URL and the operator's token.
pub struct PagerDuty {
    base: String,
    token: String,
    /// When the requests of this call must be done by.
    deadline: Instant,
}

/// A PagerDuty service.
pub struct Service {
    pub id: String,
    pub name: String,
    pub html_url: Option<String>,
    pub escalation_policy: Option<String>,
}

/// One person on call for a service's escalation policy.
pub struct OnCall {
    pub level: u32,
    pub user_id: String,
    pub name: String,
    pub email: Option<String>,
    pub html_url: Option<String>,
}

/// An incident PagerDuty created.
pub struct Incident {
    pub number: Option<u64>,
    pub html_url: Option<String>,
}

impl PagerDuty {
    /// The client the operator configured, or none when no token was given.
    pub fn configured() -> Result<Option<Self>, String> {
        let Some(token) = setting("token")? else {
            return Ok(None);
        };
        let base = setting("api-url")?.unwrap_or_else(|| DEFAULT_API_URL.to_string());
        Ok(Some(PagerDuty {
            base: base.trim_end_matches('/').to_string(),
            token,
            deadline: Instant::now() + BUDGET,
        }))
    }

    /// The service with this id; none when PagerDuty answers 404.
    pub fn service(&self, id: &str) -> Result<Option<Service>, String> {
        let path = format!("/services/{}", http::encode(id));
        let call = format!("GET {path}");
        let response = self.send(Method::Get, &call, &path, &[], None)?;
        if response.status == 404 {
            return Ok(None);
        }
        let body: ServiceBody = parsed(&call, &response, &[200])?;
        let service = body.service;
        Ok(Some(Service {
            name: service
                .name
                .or(service.summary)
                .unwrap_or_else(|| service.id.clone()),
            id: service.id,
            html_url: service.html_url,
            escalation_policy: service.escalation_policy.map(|policy| policy.id),
        }))
    }

    /// Who is on call now for the service's escalation policy, level 1 first, each person
    /// once per level.
    pub fn on_call(&self, service: &Service) -> Result<Vec<OnCall>, String> {
        let Some(policy) = &service.escalation_policy else {
            return Ok(Vec::new());
        };
        // `include[]=users` puts each user's name and email in the answer; `earliest=true`
        // gives one entry per escalation level and user rather than one per schedule shift.
        let path = format!(
            "/oncalls?include%5B%5D=users&escalation_policy_ids%5B%5D={}&earliest=true",
            http::encode(policy)
        );
        let call = "GET /oncalls".to_string();
        let response = self.send(Method::Get, &call, &path, &[], None)?;
        let body: OnCallsBody = parsed(&call, &response, &[200])?;
        let mut people: Vec<OnCall> = body
            .oncalls
            .into_iter()
            .filter_map(|entry| {
                let user = entry.user?;
                Some(OnCall {
                    level: entry.escalation_level.unwrap_or(u32::MAX),
                    name: user
                        .name
                        .or(user.summary)
                        .unwrap_or_else(|| user.id.clone()),
                    user_id: user.id,
                    email: user.email.filter(|e| !e.is_empty()),
                    html_url: user.html_url,
                })
            })
            .collect();
        people.sort_by(|a, b| (a.level, &a.name, &a.user_id).cmp(&(b.level, &b.name, &b.user_id)));
        people.dedup_by(|a, b| a.level == b.level && a.user_id == b.user_id);
        Ok(people)
    }

    /// Opens a high-urgency incident on the service as the PagerDuty user `from` (an email).
    pub fn create_incident(
        &self,
        service_id: &str,
        title: &str,
        details: &str,
        from: &str,
    ) -> Result<Incident, String> {
        let mut incident = json!({
            "type": "incident",
            "title": title,
            "service": {"id": service_id, "type": "service_reference"},
            "urgency": "high",
        });
        if !details.is_empty() {
            incident["body"] = json!({"type": "incident_body", "details": details});
        }
        let body = json!({ "incident": incident }).to_string();
        let call = "POST /incidents".to_string();
        let headers = [("content-type", "application/json"), ("from", from)];
        let response = self.send(
            Method::Post,
            &call,
            "/incidents",
            &headers,
            Some(body.as_bytes()),
        )?;
        let created: IncidentBody = parsed(&call, &response, &[201, 200])?;
        Ok(Incident {
            number: created.incident.incident_number,
            html_url: created.incident.html_url,
        })
    }

    fn send(
        &self,
        method: Method,
        call: &str,
        path: &str,
        extra: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Response, String> {
        let url = format!("{}{path}", self.base);
        let authorization = format!("Token token={}", self.token);
        let mut headers = vec![
            ("authorization", authorization.as_str()),
            ("accept", ACCEPT),
            ("user-agent", "greenroom-pagerduty"),
        ];
        headers.extend_from_slice(extra);
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!(
                "PagerDuty {call} failed: no time left of the plugin's {} ms",
                BUDGET.as_millis()
            ));
        }
        http::send(method, &url, &headers, body, Some(left))
            .map_err(|e| format!("PagerDuty {call} failed: {e}"))
    }
}

/// A config value, none when unset or blank.
fn setting(key: &str) -> Result<Option<String>, String> {
    Ok(config::get(key)?
        .map(|value| value.trim().to_string())
        .filter(|value| !value.is_empty()))
}

/// The body of an answer with an `expected` status as `T`; any other status is an error
/// naming the call, the status and PagerDuty's message.
fn parsed<T: DeserializeOwned>(
    call: &str,
    response: &Response,
    expected: &[u16],
) -> Result<T, String> {
    if !expected.contains(&response.status) {
        return Err(format!(
            "PagerDuty {call} answered {}{}",
            response.status,
            explanation(response)
        ));
    }
    serde_json::from_slice(&response.body).map_err(|e| {
        format!(
            "PagerDuty {call} answered {} with an unexpected body: {e}",
            response.status
        )
    })
}

/// PagerDuty's error message (`{"error": {"message", "errors"}}`), else the start of the body.
fn explanation(response: &Response) -> String {
    if let Ok(ErrorBody { error }) = serde_json::from_slice::<ErrorBody>(&response.body) {
        let mut text = error.message.unwrap_or_default();
        if !error.errors.is_empty() {
            text = format!("{text} ({})", error.errors.join("; "));
        }
        if !text.trim().is_empty() {
            return format!(": {}", text.trim());
        }
    }
    let text = response.excerpt();
    if text.is_empty() {
        return String::new();
    }
    format!(": {text}")
}

#[derive(Deserialize)]
struct ServiceBody {
    service: ServiceJson,
}

#[derive(Deserialize)]
struct ServiceJson {
    id: String,
    name: Option<String>,
    summary: Option<String>,
    html_url: Option<String>,
    escalation_policy: Option<Reference>,
}

#[derive(Deserialize)]
struct Reference {
    id: String,
}

#[derive(Deserialize)]
struct OnCallsBody {
    #[serde(default)]
    oncalls: Vec<OnCallJson>,
}

#[derive(Deserialize)]
struct OnCallJson {
    escalation_level: Option<u32>,
    user: Option<UserJson>,
}

/// A user reference (`summary`), or the whole user with `include[]=users` (`name`, `email`).
#[derive(Deserialize)]
struct UserJson {
    id: String,
    name: Option<String>,
    summary: Option<String>,
    email: Option<String>,
    html_url: Option<String>,
}

#[derive(Deserialize)]
struct IncidentBody {
    incident: IncidentJson,
}

#[derive(Deserialize)]
struct IncidentJson {
    incident_number: Option<u64>,
    html_url: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorJson,
}

#[derive(Deserialize)]
struct ErrorJson {
    message: Option<String>,
    #[serde(default)]
    errors: Vec<String>,
}
