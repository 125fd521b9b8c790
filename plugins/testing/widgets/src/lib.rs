//! Test plugin `widgets` (contract 0.2.0): a counter kept in the plugin's storage, shown as an
//! entity card, an entity tab and a page, with buttons and a form that change it; and actions
//! that misbehave on purpose (loop, trap, fill the storage past its quota).

use greenroom_sdk::types::{Entity, FieldValue, NodeId, Tone, Tree, Viewer};
use greenroom_sdk::ui::{TreeBuilder, field};
use greenroom_sdk::storage;

greenroom_sdk::bind_world!(
    inline: r#"
        package test:widgets;
        world widgets {
            include greenroom:plugin/entity-tabs-plugin@0.2.0;
            include greenroom:plugin/entity-cards-plugin@0.2.0;
            include greenroom:plugin/pages-plugin@0.2.0;
            include greenroom:plugin/interactive@0.2.0;
        }
    "#,
    "../../../wit/v0.2.0"
);

use exports::greenroom::plugin::entity_cards::{self, Card, CardSize};
use exports::greenroom::plugin::interactions::{self, ActionOutcome, ActionRequest, Notice, Surface};
use exports::greenroom::plugin::pages::{self, Page};
use exports::greenroom::plugin::entity_tabs::{self, Tab};
use exports::greenroom::plugin::meta::{self, PluginInfo};

struct Widgets;

impl meta::Guest for Widgets {
    fn info() -> PluginInfo {
        PluginInfo {
            id: "widgets".into(),
            name: "Widgets".into(),
            version: "0.2.0".into(),
            description: "Test plugin: a counter card, tab and page with buttons and a form."
                .into(),
        }
    }
}

impl entity_tabs::Guest for Widgets {
    fn tabs_for(entity: Entity, _viewer: Viewer) -> Vec<Tab> {
        offered(&entity)
            .then(|| Tab {
                id: "counter".into(),
                title: "Counter".into(),
            })
            .into_iter()
            .collect()
    }

    fn render(tab_id: String, entity: Entity, viewer: Viewer) -> Result<Tree, String> {
        match tab_id.as_str() {
            "counter" => counter(&entity.entity_ref, &viewer),
            other => Err(format!("unknown tab '{other}'")),
        }
    }
}

impl entity_cards::Guest for Widgets {
    fn cards_for(entity: Entity, _viewer: Viewer) -> Vec<Card> {
        offered(&entity)
            .then(|| Card {
                id: "counter".into(),
                title: "Counter".into(),
                size: CardSize::Small,
            })
            .into_iter()
            .collect()
    }

    fn render_card(card_id: String, entity: Entity, viewer: Viewer) -> Result<Tree, String> {
        match card_id.as_str() {
            "counter" => counter(&entity.entity_ref, &viewer),
            other => Err(format!("unknown card '{other}'")),
        }
    }
}

impl pages::Guest for Widgets {
    fn list_pages() -> Vec<Page> {
        vec![Page {
            id: "board".into(),
            title: "Counters".into(),
        }]
    }

    fn render_page(page_id: String, viewer: Viewer) -> Result<Tree, String> {
        if page_id != "board" {
            return Err(format!("unknown page '{page_id}'"));
        }
        board(&viewer)
    }
}

impl interactions::Guest for Widgets {
    fn handle_action(request: ActionRequest) -> Result<ActionOutcome, String> {
        let viewer = &request.viewer;
        let entity_ref = match (&request.surface, &request.entity) {
            (Surface::Page(_), _) => None,
            (_, Some(entity)) => Some(entity.entity_ref.clone()),
            (_, None) => return Err("a tab or card action without its entity".into()),
        };
        let key = |entity_ref: &str| format!("count/{entity_ref}");
        let notice = |message: String, tone| Notice { message, tone };
        let message = match (request.action_id.as_str(), &entity_ref) {
            ("increment", Some(entity_ref)) => {
                let count = count(entity_ref)? + 1;
                store(&key(entity_ref), count)?;
                notice(format!("{} counted {count}", viewer.user_ref), Tone::Success)
            }
            ("reset", Some(entity_ref)) => {
                storage::delete(&key(entity_ref))?;
                notice("reset".into(), Tone::Warning)
            }
            ("set", Some(entity_ref)) => {
                let count = match value(&request, "count") {
                    Some(FieldValue::Number(n)) if *n >= 0.0 => *n as u64,
                    other => return Err(format!("count must be a number ≥ 0, not {other:?}")),
                };
                let by = match value(&request, "step") {
                    Some(FieldValue::Text(step)) => step.parse::<u64>().unwrap_or(1),
                    _ => 1,
                };
                let doubled = matches!(value(&request, "double"), Some(FieldValue::Checkbox(true)));
                let note = match value(&request, "note") {
                    Some(FieldValue::Text(note)) => note.clone(),
                    _ => String::new(),
                };
                let count = if doubled { count * 2 } else { count } * by;
                store(&key(entity_ref), count)?;
                storage::set(&format!("note/{entity_ref}"), note.as_bytes())?;
                notice(format!("set to {count}"), Tone::Info)
            }
            // Answers with a notice only: the surface keeps its tree.
            ("ping", _) => {
                return Ok(ActionOutcome {
                    tree: None,
                    notice: Some(notice(format!("pong for {}", viewer.user_ref), Tone::Info)),
                });
            }
            ("loop", _) => loop {
                std::hint::black_box(());
            },
            ("trap", _) => panic!("widgets trapped on purpose"),
            // Writes until the storage refuses; the refusal is the action's error.
            ("fill", _) => {
                let chunk = vec![b'x'; 64 << 10];
                for i in 0.. {
                    storage::set(&format!("fill/{i:06}"), &chunk)?;
                }
                unreachable!()
            }
            ("clear-fill", _) => {
                loop {
                    let keys = storage::list_keys("fill/", None, 100)?;
                    if keys.is_empty() {
                        break;
                    }
                    for key in keys {
                        storage::delete(&key)?;
                    }
                }
                notice("fill cleared".into(), Tone::Neutral)
            }
            (other, _) => return Err(format!("unknown action '{other}'")),
        };
        let tree = match &entity_ref {
            Some(entity_ref) => counter(entity_ref, viewer)?,
            None => board(viewer)?,
        };
        Ok(ActionOutcome {
            tree: Some(tree),
            notice: Some(message),
        })
    }
}

/// Components get the counter; other kinds nothing.
fn offered(entity: &Entity) -> bool {
    entity.kind.eq_ignore_ascii_case("component")
}

fn value<'a>(request: &'a ActionRequest, name: &str) -> Option<&'a FieldValue> {
    request
        .values
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value)
}

fn count(entity_ref: &str) -> Result<u64, String> {
    Ok(storage::get(&format!("count/{entity_ref}"))?
        .and_then(|bytes| String::from_utf8(bytes).ok()?.parse().ok())
        .unwrap_or(0))
}

fn store(key: &str, count: u64) -> Result<(), String> {
    storage::set(key, count.to_string().as_bytes())
}

fn counter(entity_ref: &str, viewer: &Viewer) -> Result<Tree, String> {
    let mut ui = TreeBuilder::new();
    let note = storage::get(&format!("note/{entity_ref}"))?
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    let facts = ui.key_values([
        ("Count", count(entity_ref)?.to_string()),
        ("Viewer", viewer.user_ref.clone()),
        ("Owns through", viewer.ownership_refs.join(", ")),
        ("Note", note),
    ]);
    let buttons = controls(&mut ui);
    let form = ui.form(
        "set",
        vec![
            field::required(field::number("count", "Count", 0.0)),
            field::select("step", "Multiply by", &[("1", "one"), ("10", "ten")]),
            field::checkbox("double", "Double it", false),
            field::text("note", "Note", ""),
        ],
        "Set",
    );
    let root = ui.list(vec![facts, buttons, form]);
    Ok(ui.finish(root))
}

fn controls(ui: &mut TreeBuilder) -> NodeId {
    let increment = ui.button("increment", "Add one", Tone::Success);
    let reset = ui.confirmed_button("reset", "Reset", Tone::Danger, "Reset the counter?");
    let ping = ui.button("ping", "Ping", Tone::Neutral);
    ui.list(vec![increment, reset, ping])
}

fn board(viewer: &Viewer) -> Result<Tree, String> {
    let mut ui = TreeBuilder::new();
    let mut rows = Vec::new();
    for key in storage::list_keys("count/", None, 100)? {
        let entity_ref = key.trim_start_matches("count/").to_string();
        let count = count(&entity_ref)?;
        let name = ui.text(entity_ref);
        let count = ui.text(count.to_string());
        rows.push(vec![name, count]);
    }
    let table = if rows.is_empty() {
        ui.empty("No counters yet.")
    } else {
        ui.table(&["Entity", "Count"], rows)
    };
    let hello = ui.text(format!("Counters seen by {}", viewer.user_ref));
    let ping = ui.button("ping", "Ping", Tone::Neutral);
    let root = ui.section("Counters", vec![hello, table, ping]);
    Ok(ui.finish(root))
}

export!(Widgets);
