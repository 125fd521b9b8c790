//! The `pagerduty` plugin (contract 0.2.0): an "On call" entity card for entities with
//! Backstage's `pagerduty.com/service-id` annotation. It shows the PagerDuty service, who is
//! on call for it now (level 1 first) and a "Page on-call" form that opens a high-urgency
//! incident on the service as the viewer.
//!
//! Config (`plugins.pagerduty`): `token`, a PagerDuty REST API key (grant it as a secret;
//! without it the card says the plugin is not configured); `api-url` (default
//! `https://api.pagerduty.com`), whose host the operator grants in `allowedHosts`;
//! `from-email`, the PagerDuty user incidents are created as when the viewer's User entity has
//! no `spec.profile.email`.

mod pagerduty;

use greenroom_sdk::types::{Entity, FieldValue, Tone, Tree, Viewer};
use greenroom_sdk::ui::{TreeBuilder, field};
use greenroom_sdk::{catalog, config, log};

use pagerduty::{OnCall, PagerDuty, Service};

greenroom_sdk::bind_world!(
    inline: r#"
        package first-party:pagerduty;
        world pagerduty {
            include greenroom:plugin/entity-cards-plugin@0.2.0;
            include greenroom:plugin/interactive@0.2.0;
        }
    "#,
    "../../wit/v0.2.0"
);

use exports::greenroom::plugin::entity_cards::{self, Card, CardSize};
use exports::greenroom::plugin::interactions::{
    self, ActionOutcome, ActionRequest, Notice, Surface,
};
use exports::greenroom::plugin::meta::{self, PluginInfo};

/// The annotation naming an entity's PagerDuty service, as in Backstage's PagerDuty plugin.
const ANNOTATION: &str = "pagerduty.com/service-id";
const CARD: &str = "on-call";
/// The form's action.
const PAGE: &str = "page";

const NOT_CONFIGURED: &str = "PagerDuty is not configured: the operator has not given this \
    plugin a PagerDuty API token (plugins.pagerduty.secrets.token).";

struct OnCallCard;

impl meta::Guest for OnCallCard {
    fn info() -> PluginInfo {
        PluginInfo {
            id: "pagerduty".into(),
            name: "PagerDuty".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Who is on call in PagerDuty for an entity's service \
                (pagerduty.com/service-id), and a form that pages them."
                .into(),
        }
    }
}

impl entity_cards::Guest for OnCallCard {
    fn cards_for(entity: Entity, _viewer: Viewer) -> Vec<Card> {
        service_id(&entity)
            .map(|_| Card {
                id: CARD.into(),
                title: "On call".into(),
                size: CardSize::Medium,
            })
            .into_iter()
            .collect()
    }

    fn render_card(card_id: String, entity: Entity, _viewer: Viewer) -> Result<Tree, String> {
        if card_id != CARD {
            return Err(format!("unknown card '{card_id}'"));
        }
        let Some(id) = service_id(&entity) else {
            return Ok(notice_tree(format!(
                "{} has no {ANNOTATION} annotation.",
                entity.entity_ref
            )));
        };
        let Some(pagerduty) = PagerDuty::configured()? else {
            return Ok(notice_tree(NOT_CONFIGURED));
        };
        let Some(service) = pagerduty.service(id)? else {
            return Ok(notice_tree(not_found(id)));
        };
        let people = pagerduty.on_call(&service)?;
        Ok(card(&service, &people))
    }
}

impl interactions::Guest for OnCallCard {
    /// The "Page on-call" form: opens an incident on the entity's service. A refusal is an
    /// error, which the portal shows as a failed notice, keeping the card as it is.
    fn handle_action(request: ActionRequest) -> Result<ActionOutcome, String> {
        if request.action_id != PAGE {
            return Err(format!("unknown action '{}'", request.action_id));
        }
        let entity = match (&request.surface, &request.entity) {
            (Surface::Card(card), Some(entity)) if card == CARD => entity,
            _ => return Err("Paging is offered on the on-call card only.".into()),
        };
        let id = service_id(entity)
            .ok_or_else(|| format!("{} has no {ANNOTATION} annotation.", entity.entity_ref))?;
        let title = text_value(&request, "title");
        if title.is_empty() {
            return Err("Say what is wrong: the title is required to page on-call.".into());
        }
        let details = text_value(&request, "details");
        let pagerduty = PagerDuty::configured()?.ok_or(NOT_CONFIGURED)?;
        let from = requester(&request.viewer)?;
        let service = pagerduty
            .service(id)?
            .ok_or_else(|| format!("Cannot page: {}", not_found(id)))?;
        let incident = pagerduty.create_incident(&service.id, title, details, &from)?;
        let number = incident
            .number
            .map_or_else(|| "an incident".to_string(), |n| format!("incident #{n}"));
        log::log(
            log::Level::Info,
            &format!(
                "{} paged on-call for PagerDuty service {} ({number}, as {from})",
                who(&request.viewer),
                service.id
            ),
        );
        let link = incident
            .html_url
            .map(|url| format!(": {url}"))
            .unwrap_or_default();
        let notice = Notice {
            message: format!("Paged on-call for {}: {number} opened{link}", service.name),
            tone: Tone::Success,
        };
        // The incident exists: a failure to show the card again keeps the success notice.
        let tree = match pagerduty.on_call(&service) {
            Ok(people) => Some(card(&service, &people)),
            Err(e) => {
                log::log(log::Level::Warn, &format!("after paging: {e}"));
                None
            }
        };
        Ok(ActionOutcome {
            tree,
            notice: Some(notice),
        })
    }
}

/// The entity's PagerDuty service id, when it has a non-blank annotation.
fn service_id(entity: &Entity) -> Option<&str> {
    entity
        .annotation(ANNOTATION)
        .map(str::trim)
        .filter(|id| !id.is_empty())
}

fn not_found(id: &str) -> String {
    format!(
        "PagerDuty has no service '{id}' (GET /services/{id} answered 404). \
         Check the entity's {ANNOTATION} annotation."
    )
}

/// A submitted text field, trimmed; empty when absent.
fn text_value<'a>(request: &'a ActionRequest, name: &str) -> &'a str {
    request
        .values
        .iter()
        .find_map(|(key, value)| match value {
            FieldValue::Text(text) if key == name => Some(text.trim()),
            _ => None,
        })
        .unwrap_or_default()
}

/// The email PagerDuty creates the incident as (its `From` header): the viewer's
/// `spec.profile.email`, else the operator's `from-email`.
fn requester(viewer: &Viewer) -> Result<String, String> {
    if viewer.user_ref.starts_with("user:")
        && let Some(user) = catalog::get_entity(&viewer.user_ref)?
        && let Some(email) = profile_email(&user)
    {
        return Ok(email);
    }
    if let Some(email) = config::get("from-email")?
        .map(|e| e.trim().to_string())
        .filter(|e| !e.is_empty())
    {
        return Ok(email);
    }
    let missing = if viewer.user_ref.is_empty() {
        "you are not signed in".to_string()
    } else if viewer.user_ref.starts_with("user:") {
        format!(
            "{} has no spec.profile.email in the catalog",
            viewer.user_ref
        )
    } else {
        format!("{} is not a catalog user", viewer.user_ref)
    };
    Err(format!(
        "Cannot page: PagerDuty opens an incident as one of its users, named by email, but \
         {missing} and the operator set no from-email (plugins.pagerduty.config.from-email)."
    ))
}

fn profile_email(user: &Entity) -> Option<String> {
    let spec: serde_json::Value = serde_json::from_str(&user.spec_json).ok()?;
    let email = spec["profile"]["email"].as_str()?.trim();
    (!email.is_empty()).then(|| email.to_string())
}

fn who(viewer: &Viewer) -> &str {
    if viewer.user_ref.is_empty() {
        "anonymous"
    } else {
        &viewer.user_ref
    }
}

/// A card holding only a message ("nothing to show", with the reason).
fn notice_tree(reason: impl Into<String>) -> Tree {
    let mut ui = TreeBuilder::new();
    let root = ui.empty(reason);
    ui.finish(root)
}

/// The service, who is on call (level 1 first) and the form that pages them.
fn card(service: &Service, people: &[OnCall]) -> Tree {
    let mut ui = TreeBuilder::new();
    let mut items = vec![ui.heading(&service.name)];
    if let Some(url) = service.html_url.as_deref().filter(|u| is_web(u)) {
        items.push(ui.link("Open in PagerDuty", url));
    }
    if people.is_empty() {
        items.push(ui.empty(format!("Nobody is on call for {} right now.", service.name)));
    } else {
        let rows = people
            .iter()
            .map(|person| {
                let level = match person.level {
                    u32::MAX => ui.text(""),
                    level => ui.text(level.to_string()),
                };
                let name = match person.html_url.as_deref().filter(|u| is_web(u)) {
                    Some(url) => ui.link(&person.name, url),
                    None => ui.text(&person.name),
                };
                let email = ui.text(person.email.clone().unwrap_or_default());
                vec![level, name, email]
            })
            .collect();
        items.push(ui.table(&["Level", "Name", "Email"], rows));
    }
    items.push(ui.form(
        PAGE,
        vec![
            field::required(field::text("title", "What is wrong?", "")),
            field::text("details", "Details (optional)", ""),
        ],
        "Page on-call",
    ));
    let root = ui.list(items);
    ui.finish(root)
}

/// Links in a tree must be http(s); PagerDuty's are, but they come from elsewhere.
fn is_web(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("http://")
}

export!(OnCallCard);
