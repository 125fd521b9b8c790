//! Plugin work never takes the capacity the rest of the server needs: the load test of
//! plugins that loop and plugins that wait on a slow API while the catalog is read.

use std::time::Duration;

use greenroom_e2e::{
    FakeApi, Server, eventually, fixture_catalog, key_values, plugins_folder, start_with_config,
};
use serde_json::Value;

const ENTITY: &str = "entity=component:default/checkout";
/// Renders of each plugin sent at once.
const RENDERS: usize = 100;

fn stats(server: &Server, plugin: &str) -> Value {
    server.get_ok(&format!("/api/plugins/{plugin}"))["stats"].clone()
}

/// 100 renders of a plugin that loops until its deadline and 100 of one waiting on a slow
/// API, with catalog reads meanwhile: the reads all answer while every admitted render is
/// still running, the looping plugin gets its concurrency limit and fast 503s for the rest,
/// and the waiting plugin's calls all end with their own answer, none with a host timeout.
#[test]
fn looping_and_waiting_plugins_never_hold_up_the_catalog() {
    let tmp = tempfile::tempdir().unwrap();
    // Long waits and deadlines, so every render is admitted and running before the first
    // ends, even on a machine busy with other tests.
    let api = FakeApi::start_slow("slow-ok", Duration::from_secs(6));
    let port = api.port;
    let probe_manifest =
        format!("[capabilities]\nhosts = [\"127.0.0.1:{port}\"]\nconfig = [\"echo-url\"]\n");
    let plugins = plugins_folder(
        tmp.path(),
        &[("hostile", None), ("probe", Some(probe_manifest))],
    );
    let server = start_with_config(
        tmp.path(),
        &[],
        &plugins,
        &format!(
            "plugins:\n  hostile:\n    limits: {{timeoutMs: 10000}}\n  probe:\n    allowedHosts: ['127.0.0.1:{port}']\n    config: {{echo-url: 'http://127.0.0.1:{port}/slow'}}\n    limits: {{timeoutMs: 15000, concurrency: {RENDERS}}}\n"
        ),
    );
    let limit = stats(&server, "hostile");
    assert_eq!(limit["running"], 0);
    let default_concurrency = server.get_ok("/api/plugins/hostile")["grants"]["concurrency"]
        .as_u64()
        .unwrap() as usize;
    assert_eq!(default_concurrency, 32);

    std::thread::scope(|scope| {
        let looping: Vec<_> = (0..RENDERS)
            .map(|_| {
                scope.spawn(|| {
                    server.get_with_header(
                        &format!("/api/plugins/hostile/tabs/loop?{ENTITY}"),
                        "retry-after",
                    )
                })
            })
            .collect();
        let waiting: Vec<_> = (0..RENDERS)
            .map(|_| {
                scope.spawn(|| server.get(&format!("/api/plugins/probe/tabs/imports?{ENTITY}")))
            })
            .collect();

        eventually(
            "every admitted render running",
            Duration::from_secs(20),
            || {
                let (hostile, probe) = (stats(&server, "hostile"), stats(&server, "probe"));
                (hostile["running"] == default_concurrency
                    && probe["running"] == RENDERS
                    && hostile["refused"] == RENDERS - default_concurrency)
                    .then_some(())
            },
        );
        for round in 0..20 {
            let (status, body) =
                server.get("/api/catalog/entities/by-name/component/default/checkout");
            assert_eq!(status, 200, "read {round}: {body}");
            let (status, body) =
                server.get("/api/catalog/entities/by-query?filter=kind=component&limit=5");
            assert_eq!(status, 200, "query {round}: {body}");
            assert_eq!(server.get("/api/plugins").0, 200);
        }
        // The reads did not wait for the renders: those are all still running.
        let (hostile, probe) = (stats(&server, "hostile"), stats(&server, "probe"));
        assert_eq!(hostile["running"], default_concurrency, "{hostile}");
        assert_eq!(probe["running"], RENDERS, "{probe}");

        let mut timed_out = 0;
        let mut refused = 0;
        for render in looping {
            let (status, retry_after, body) = render.join().unwrap();
            let message = body["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            match status {
                502 => {
                    assert!(message.contains("timed out after 10s"), "{body}");
                    timed_out += 1;
                }
                503 => {
                    assert_eq!(retry_after.as_deref(), Some("1"), "{body}");
                    assert!(
                        message.contains("plugin 'hostile' is busy (32 of its calls are running)"),
                        "{body}"
                    );
                    refused += 1;
                }
                other => panic!("loop render answered {other}: {body}"),
            }
        }
        assert_eq!(
            (timed_out, refused),
            (default_concurrency, RENDERS - default_concurrency)
        );
        for render in waiting {
            let (status, tab) = render.join().unwrap();
            assert_eq!(status, 200, "{tab}");
            assert_eq!(key_values(&tab)["http"], "200 slow-ok", "{tab}");
        }
    });
    let (hostile, probe) = (stats(&server, "hostile"), stats(&server, "probe"));
    assert_eq!(
        (
            &hostile["timeouts"],
            &hostile["refused"],
            &hostile["running"]
        ),
        (&Value::from(32), &Value::from(68), &Value::from(0)),
        "{hostile}"
    );
    assert_eq!(
        (
            &probe["timeouts"],
            &probe["failures"],
            &probe["refused"],
            &probe["calls"]
        ),
        (
            &Value::from(0),
            &Value::from(0),
            &Value::from(0),
            &Value::from(RENDERS)
        ),
        "{probe}"
    );
    assert_eq!(api.hits(), RENDERS);
}

fn state(server: &Server, plugin: &str) -> Option<(String, Option<String>)> {
    let (status, body) = server.get(&format!("/api/plugins/{plugin}"));
    (status == 200).then(|| {
        (
            body["state"].as_str().unwrap().to_string(),
            body["tier"].as_str().map(String::from),
        )
    })
}

fn loaded_with(tier: &str) -> Option<(String, Option<String>)> {
    Some(("loaded".into(), Some(tier.into())))
}

/// Plugins compile in parallel and off the request path: a small Rust plugin dropped right
/// after a large Python one (compile cache cold) serves before the Python one's optimised
/// code is ready. The Python one is listed as loading, then serves from its baseline (Winch)
/// code, then from its optimised code.
#[test]
fn a_small_plugin_serves_while_a_large_one_is_still_compiling() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugins_folder(tmp.path(), &[]);
    let cold_cache = tmp.path().join("cold-cache");
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::write(
        repo.join("catalog-info.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: pipelines\n  annotations:\n    github.com/project-slug: acme/pipelines\nspec:\n  type: service\n  lifecycle: production\n  owner: payments\n",
    )
    .unwrap();
    let server = Server::start_with_args(
        &[fixture_catalog(), repo.join("catalog-info.yaml")],
        &plugins,
        &tmp.path().join("data"),
        &["--plugin-cache", cold_cache.to_str().unwrap()],
    );
    let staged = plugins_folder(
        &tmp.path().join("staged"),
        &[("ci-status", None), ("ownership", None)],
    );
    for name in ["ci-status.wasm", "ownership.wasm"] {
        let partial = plugins.join(format!("{name}.partial"));
        std::fs::copy(staged.join(name), &partial).unwrap();
        std::fs::rename(&partial, plugins.join(name)).unwrap();
    }
    eventually("the Rust plugin serving", Duration::from_secs(20), || {
        (state(&server, "ownership")? == loaded_with("optimized")?).then_some(())
    });
    let python = state(&server, "ci-status");
    assert_ne!(
        python,
        loaded_with("optimized"),
        "the small plugin waited for the large one's optimised code"
    );
    let (status, _) = server.get(&format!("/api/plugins/ownership/tabs/ownership?{ENTITY}"));
    assert_eq!(status, 200);

    let served = eventually("the Python plugin serving", Duration::from_secs(60), || {
        state(&server, "ci-status").filter(|(state, _)| state != "loading")
    });
    assert_eq!(Some(served), loaded_with("baseline"));
    // Baseline code runs the plugin for real: its own refusal of an ungranted host.
    let ci_tab = "/api/plugins/ci-status/tabs/ci?entity=component:default/pipelines";
    let refused = "denied: host api.github.com:443 is not granted to plugin ci-status";
    let (status, body) = server.get(ci_tab);
    assert_eq!(status, 502, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains(refused),
        "{body}"
    );

    eventually(
        "the optimised code swapped in",
        Duration::from_secs(120),
        || (state(&server, "ci-status")? == loaded_with("optimized")?).then_some(()),
    );
    let (status, body) = server.get(ci_tab);
    assert_eq!(status, 502, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains(refused),
        "{body}"
    );
}
