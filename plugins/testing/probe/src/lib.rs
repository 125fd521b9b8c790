//! Test plugin `probe`: one tab shows its build marker (tests patch the marker in the binary to
//! make many distinct versions), another calls every host import and shows what came back.

use greenroom_sdk::entity_tabs::{self, Tab};
use greenroom_sdk::meta::{self, PluginInfo};
use greenroom_sdk::types::{Entity, Tree, Viewer};
use greenroom_sdk::ui::TreeBuilder;
use greenroom_sdk::{catalog, config, docs, http, log, templating};

/// Replaced byte-for-byte by the hot-reload test; keep the length.
const BUILD: &str = "build-000000";

struct Probe;

impl meta::Guest for Probe {
    fn info() -> PluginInfo {
        PluginInfo {
            id: "probe".into(),
            name: "Probe".into(),
            version: BUILD.into(),
            description: "Test plugin: shows its build and what every host import returns."
                .into(),
        }
    }
}

impl entity_tabs::Guest for Probe {
    fn tabs_for(_entity: Entity, _viewer: Viewer) -> Vec<Tab> {
        ["build", "imports", "slow"]
            .into_iter()
            .map(|id| Tab {
                id: id.into(),
                title: id.into(),
            })
            .collect()
    }

    fn render(tab_id: String, entity: Entity, _viewer: Viewer) -> Result<Tree, String> {
        let mut ui = TreeBuilder::new();
        let root = match tab_id.as_str() {
            "build" => ui.text(format!("probe {BUILD}")),
            // Busy for three seconds by the clock, so a test can swap the plugin while this
            // call runs. (A fixed count of spins took 1 s under Cranelift and over 10 s
            // under Winch on a loaded machine.)
            "slow" => {
                log::log(log::Level::Info, "slow render started");
                let started = std::time::Instant::now();
                while started.elapsed() < std::time::Duration::from_secs(3) {
                    std::hint::spin_loop();
                }
                ui.text(format!("probe {BUILD}"))
            }
            "imports" => ui.key_values(imports(&entity)),
            other => return Err(format!("unknown tab '{other}'")),
        };
        Ok(ui.finish(root))
    }
}

fn show<T>(result: Result<T, String>, f: impl FnOnce(T) -> String) -> String {
    result.map_or_else(|e| format!("error: {e}"), f)
}

fn imports(entity: &Entity) -> Vec<(String, String)> {
    let groups = catalog::query(
        &[catalog::Filter {
            key: "kind".into(),
            value: "group".into(),
        }],
        10,
        None,
    );
    let relations = catalog::relations(&entity.entity_ref);
    let greeting = templating::render(
        "Hello {{ name | upper }}",
        &format!("{{\"name\": \"{}\"}}", entity.name),
    );
    let pages = docs::list_pages(&entity.entity_ref);
    let first_page = pages
        .as_ref()
        .ok()
        .and_then(|p| p.first())
        .map(|p| docs::get_page(&entity.entity_ref, &p.path));
    let echo = config::get("echo-url").and_then(|url| {
        let url = url.ok_or("echo-url is not set")?;
        let response = match config::get("http-timeout-ms").ok().flatten() {
            Some(ms) => {
                let ms = ms.parse().map_err(|e| format!("http-timeout-ms: {e}"))?;
                http::get_with_timeout(&url, &[], std::time::Duration::from_millis(ms))
            }
            None => http::get(&url, &[]),
        };
        response.map(|r| format!("{} {}", r.status, r.text()))
    });
    vec![
        ("groups".into(), show(groups, |p| p.total_items.to_string())),
        ("relations".into(), show(relations, |r| r.len().to_string())),
        ("template".into(), show(greeting, |t| t)),
        (
            "docs".into(),
            show(pages.clone(), |p| {
                p.iter().map(|p| p.title.clone()).collect::<Vec<_>>().join(", ")
            }),
        ),
        (
            "first page".into(),
            first_page.map_or("none".into(), |page| show(page, |p| p.html)),
        ),
        ("config greeting".into(), show(config::get("greeting"), |v| format!("{v:?}"))),
        ("config undeclared".into(), show(config::get("undeclared"), |v| format!("{v:?}"))),
        ("http".into(), show(echo, |e| e)),
    ]
}

greenroom_sdk::export_plugin!(Probe);
