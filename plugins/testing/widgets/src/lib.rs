//! Test plugin `widgets` (contract 0.2.0): a counter kept in the plugin's storage, shown as an
//! entity card, an entity tab and a page, with buttons and a form that change it; the notes
//! set with it feed search (type `widget-note`, collected incrementally after each change the
//! plugin asks to be collected; type `widget-board`, the page, about no entity); and actions
//! that misbehave on purpose (loop, trap, fill the storage past its quota, spoil the search
//! collection: `search-mode` bad, loop or pages).

use greenroom_sdk::types::{Entity, FieldValue, NodeId, Tone, Tree, Viewer};
use greenroom_sdk::ui::{TreeBuilder, field};
use greenroom_sdk::schedule::{self, Job};
use greenroom_sdk::storage;

greenroom_sdk::bind_world!(
    inline: r#"
        package test:widgets;
        world widgets {
            include greenroom:plugin/entity-tabs-plugin@0.2.0;
            include greenroom:plugin/entity-cards-plugin@0.2.0;
            include greenroom:plugin/pages-plugin@0.2.0;
            include greenroom:plugin/interactive@0.2.0;
            include greenroom:plugin/search-source@0.2.0;
        }
    "#,
    "../../../wit/v0.2.0"
);

use exports::greenroom::plugin::entity_cards::{self, Card, CardSize};
use exports::greenroom::plugin::interactions::{self, ActionOutcome, ActionRequest, Notice, Surface};
use exports::greenroom::plugin::pages::{self, Page};
use exports::greenroom::plugin::entity_tabs::{self, Tab};
use exports::greenroom::plugin::meta::{self, PluginInfo};
use exports::greenroom::plugin::search_documents::{
    self, Document, DocumentType, DocumentsPage,
};

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
                noted(entity_ref)?;
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
            // How the next search collections go: "" (well), "bad", "loop" or "pages".
            ("search-mode", _) => {
                let mode = match value(&request, "mode") {
                    Some(FieldValue::Text(mode)) => mode.clone(),
                    _ => String::new(),
                };
                storage::set("search-mode", mode.as_bytes())?;
                schedule::run_soon(Job::SearchDocuments)?;
                return Ok(ActionOutcome {
                    tree: None,
                    notice: Some(notice(format!("search mode '{mode}'"), Tone::Info)),
                });
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

const NOTES: &str = "widget-note";
const BOARD: &str = "widget-board";

impl search_documents::Guest for Widgets {
    fn document_types() -> Vec<DocumentType> {
        vec![
            DocumentType {
                name: NOTES.into(),
                title: "Widget notes".into(),
                refresh_interval_seconds: 3600,
            },
            DocumentType {
                name: BOARD.into(),
                title: "Widget boards".into(),
                refresh_interval_seconds: 3600,
            },
        ]
    }

    /// Notes: in full, every note; from a checkpoint (the number of changes seen), the
    /// notes changed since, an emptied one as removed. The board: one document, in full.
    fn collect(
        document_type: String,
        since: Option<String>,
        page: Option<String>,
    ) -> Result<DocumentsPage, String> {
        let mode = String::from_utf8(storage::get("search-mode")?.unwrap_or_default())
            .unwrap_or_default();
        let mut answer = DocumentsPage {
            documents: Vec::new(),
            removed: Vec::new(),
            next_page: None,
            checkpoint: None,
            full: since.is_none(),
        };
        match mode.as_str() {
            "loop" => loop {
                std::hint::black_box(());
            },
            "pages" => {
                let n: u64 = page.and_then(|p| p.parse().ok()).unwrap_or(0);
                answer.next_page = Some((n + 1).to_string());
                return Ok(answer);
            }
            _ => {}
        }
        if document_type == BOARD {
            answer.documents.push(Document {
                id: "board".into(),
                title: "Counters board".into(),
                text: "Every counter of the widgets plugin, on one page.".into(),
                location: "/p/widgets/board".into(),
                entity_ref: None,
                fields: Vec::new(),
            });
            return Ok(answer);
        }
        let changes = changes()?;
        let collection = if since.is_some() { "changes" } else { "full" };
        let entities: Vec<String> = match since.and_then(|s| s.parse::<u64>().ok()) {
            Some(seen) => (seen..changes)
                .filter_map(|i| storage::get(&format!("noted/{i:08}")).transpose())
                .map(|bytes| bytes.map(|b| String::from_utf8_lossy(&b).into_owned()))
                .collect::<Result<_, _>>()?,
            None => storage::list_keys("note/", None, 1000)?
                .into_iter()
                .map(|key| key.trim_start_matches("note/").to_string())
                .collect(),
        };
        for entity_ref in entities {
            let note = storage::get(&format!("note/{entity_ref}"))?
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            if note.is_empty() {
                answer.removed.push(entity_ref);
                continue;
            }
            let count = count(&entity_ref)?;
            answer.documents.push(Document {
                id: entity_ref.clone(),
                title: format!("Note on {entity_ref}"),
                text: note,
                location: "/p/widgets/board".into(),
                entity_ref: Some(entity_ref),
                fields: vec![
                    ("count".into(), count.to_string()),
                    // Which kind of collection brought it, for tests to see.
                    ("collection".into(), collection.into()),
                ],
            });
        }
        if mode == "bad" {
            answer.documents.push(Document {
                id: "spoiled".into(),
                title: "Spoiled".into(),
                text: "A link that would run script.".into(),
                location: "javascript:alert(1)".into(),
                entity_ref: None,
                fields: Vec::new(),
            });
        }
        answer.checkpoint = Some(changes.to_string());
        Ok(answer)
    }
}

/// How many note changes there were.
fn changes() -> Result<u64, String> {
    Ok(storage::get("noted-next")?
        .and_then(|bytes| String::from_utf8(bytes).ok()?.parse().ok())
        .unwrap_or(0))
}

/// Records that an entity's note changed, and asks for it to be collected.
fn noted(entity_ref: &str) -> Result<(), String> {
    let next = changes()?;
    storage::set(&format!("noted/{next:08}"), entity_ref.as_bytes())?;
    store("noted-next", next + 1)?;
    schedule::run_soon(Job::SearchDocuments)
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
