//! {{id}}: a card on every Component whose button counts visits in the plugin's storage, a
//! page listing every count, and an HTTP route answering one count as JSON
//! (`GET /api/plugins/{{id}}/http/count/<entity ref>`).
//! Build with `greenroom plugin build`, try with `greenroom plugin test`.

use greenroom_sdk::bindings::wasi::http::types::{IncomingRequest, ResponseOutparam};
use greenroom_sdk::routes::{self, Reply, Request};
use greenroom_sdk::storage;
use greenroom_sdk::types::{Entity, Tone, Tree, Viewer};
use greenroom_sdk::ui::TreeBuilder;

// This plugin's own world: the contributions it makes.
greenroom_sdk::bind_world!(
    inline: r#"
        package my:plugin;
        world plugin {
            include greenroom:plugin/entity-cards-plugin@0.2.0;
            include greenroom:plugin/pages-plugin@0.2.0;
            include greenroom:plugin/interactive@0.2.0;
            include greenroom:plugin/http-routes@0.2.0;
        }
    "#,
    "{{wit}}"
);

use exports::greenroom::plugin::entity_cards::{self, Card, CardSize};
use exports::greenroom::plugin::interactions::{self, ActionOutcome, ActionRequest, Notice};
use exports::greenroom::plugin::meta::{self, PluginInfo};
use exports::greenroom::plugin::pages::{self, Page};
use exports::wasi::http::incoming_handler;

struct Plugin;

impl meta::Guest for Plugin {
    fn info() -> PluginInfo {
        PluginInfo {
            id: "{{id}}".into(),
            name: "{{id}}".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Counts visits, written in Rust.".into(),
        }
    }
}

impl entity_cards::Guest for Plugin {
    fn cards_for(entity: Entity, _viewer: Viewer) -> Vec<Card> {
        if entity.kind != "Component" {
            return Vec::new();
        }
        vec![Card {
            id: "visits".into(),
            title: "Visits".into(),
            size: CardSize::Small,
        }]
    }

    fn render_card(_card_id: String, entity: Entity, _viewer: Viewer) -> Result<Tree, String> {
        card(&entity.entity_ref)
    }
}

impl pages::Guest for Plugin {
    fn list_pages() -> Vec<Page> {
        vec![Page {
            id: "visits".into(),
            title: "Visits".into(),
        }]
    }

    fn render_page(_page_id: String, viewer: Viewer) -> Result<Tree, String> {
        let mut ui = TreeBuilder::new();
        let mut rows = Vec::new();
        for key in storage::list_keys("visits/", None, 100)? {
            let entity_ref = key.trim_start_matches("visits/").to_string();
            let visits = count(&entity_ref)?.to_string();
            rows.push(vec![ui.text(entity_ref), ui.text(visits)]);
        }
        let table = if rows.is_empty() {
            ui.empty("No visits yet.")
        } else {
            ui.table(&["Entity", "Visits"], rows)
        };
        let seen_by = if viewer.user_ref.is_empty() { "anonymous" } else { &viewer.user_ref };
        let root = ui.section(format!("Visits, seen by {seen_by}"), vec![table]);
        Ok(ui.finish(root))
    }
}

impl interactions::Guest for Plugin {
    fn handle_action(request: ActionRequest) -> Result<ActionOutcome, String> {
        let Some(entity) = request.entity.filter(|_| request.action_id == "visit") else {
            return Err(format!("unknown action '{}'", request.action_id));
        };
        let visits = count(&entity.entity_ref)? + 1;
        storage::set(
            &format!("visits/{}", entity.entity_ref),
            visits.to_string().as_bytes(),
        )?;
        Ok(ActionOutcome {
            tree: Some(card(&entity.entity_ref)?),
            notice: Some(Notice {
                message: format!("Visit {visits} counted."),
                tone: Tone::Success,
            }),
        })
    }
}

impl incoming_handler::Guest for Plugin {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        routes::serve(request, out, route);
    }
}

fn route(request: Request) -> Reply {
    match request.route().strip_prefix("/count/") {
        Some(entity_ref) if request.method == "GET" => match count(entity_ref) {
            Ok(visits) => Reply::json(
                200,
                &serde_json::json!({"entityRef": entity_ref, "visits": visits}),
            ),
            Err(e) => Reply::text(500, e),
        },
        _ => Reply::text(404, format!("no route {} {}", request.method, request.route())),
    }
}

fn card(entity_ref: &str) -> Result<Tree, String> {
    let mut ui = TreeBuilder::new();
    let facts = ui.key_values([("Visits", count(entity_ref)?.to_string())]);
    let visit = ui.button("visit", "Visit", Tone::Success);
    let root = ui.list(vec![facts, visit]);
    Ok(ui.finish(root))
}

fn count(entity_ref: &str) -> Result<u64, String> {
    Ok(storage::get(&format!("visits/{entity_ref}"))?
        .and_then(|bytes| String::from_utf8(bytes).ok()?.parse().ok())
        .unwrap_or(0))
}

export!(Plugin);
