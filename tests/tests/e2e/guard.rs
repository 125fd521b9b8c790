//! What a web page elsewhere, a rebound host name or two admins at once can do to a running
//! portal with no sign-in configured: state-changing requests from other sites and with form
//! bodies are refused and change nothing, host names the portal is not served under are
//! refused, concurrent admin operations on one plugin leave one consistent state, and an
//! upload never replaces another plugin's file.

use std::sync::Arc;

use greenroom_e2e::{Server, plugins_folder, start_with_config, test_plugins};
use serde_json::Value;

fn locations(server: &Server) -> usize {
    server
        .get_ok("/api/catalog/locations")
        .as_array()
        .unwrap()
        .len()
}

fn probe_state(server: &Server) -> Value {
    server.get_ok("/api/plugins/probe")["state"].clone()
}

#[test]
fn state_changes_from_other_sites_or_with_form_bodies_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugins_folder(tmp.path(), &[("probe", None)]);
    let server = start_with_config(tmp.path(), &[], &plugins, "");
    let before = locations(&server);
    let json = ("content-type", "application/json");
    let location = br#"{"type": "file", "target": "/etc/passwd"}"#;

    let evil = ("origin", "http://evil.example");
    let (status, body) = server.raw("POST", "/api/catalog/locations", &[json, evil], location);
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["name"], "NotAllowedError", "{body}");
    let cross = ("sec-fetch-site", "cross-site");
    let (status, _) = server.raw("POST", "/api/plugins/probe/disable", &[cross], b"");
    assert_eq!(status, 403);
    let (status, _) = server.raw("DELETE", "/api/plugins/probe", &[evil], b"");
    assert_eq!(status, 403);
    // The body types any page may send without asking first.
    let plain = ("content-type", "text/plain");
    let (status, body) = server.raw("POST", "/api/catalog/locations", &[plain], location);
    assert_eq!(status, 415, "{body}");
    let form = ("content-type", "application/x-www-form-urlencoded");
    let (status, _) = server.raw("POST", "/api/catalog/refresh", &[form], b"entityRef=x");
    assert_eq!(status, 415);
    let probe = std::fs::read(test_plugins().join("probe.wasm")).unwrap();
    let (status, _) = server.raw("POST", "/api/plugins", &[plain], &probe);
    assert_eq!(status, 415);
    assert_eq!(locations(&server), before);
    assert_eq!(probe_state(&server), "loaded");

    // The portal's own pages (same origin) and scripts (no browser headers) still can.
    let origin = server.base_url.clone();
    let same = [
        ("origin", origin.as_str()),
        ("sec-fetch-site", "same-origin"),
    ];
    let (status, body) = server.raw("POST", "/api/plugins/probe/disable", &same, b"");
    assert_eq!(status, 200, "{body}");
    assert_eq!(probe_state(&server), "disabled");
    let (status, _) = server.raw("POST", "/api/plugins/probe/enable", &[], b"");
    assert_eq!(status, 200);
    assert_eq!(probe_state(&server), "loaded");
}

#[test]
fn requests_naming_a_host_the_portal_is_not_served_under_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugins_folder(tmp.path(), &[]);
    let server = start_with_config(
        tmp.path(),
        &[],
        &plugins,
        "hostNames: [portal.example.com]\n",
    );
    let port = server.base_url.rsplit(':').next().unwrap().to_string();
    let path = "/api/catalog/entities/by-name/component/default/checkout";
    let as_host = |host: &str| server.raw("GET", path, &[("host", host)], b"");

    let (status, body) = as_host(&format!("rebound.evil.example:{port}"));
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("rebound.evil.example"),
        "{body}"
    );
    let (status, _) = server.raw("GET", "/catalog", &[("host", "rebound.evil.example")], b"");
    assert_eq!(
        status, 403,
        "the web UI is refused under a rebound name too"
    );
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "portal.example.com".to_string(),
    ] {
        let (status, body) = as_host(&host);
        assert_eq!(status, 200, "{host}: {body}");
        assert_eq!(body["metadata"]["name"], "checkout");
    }
}

#[test]
fn concurrent_admin_operations_on_one_plugin_leave_one_consistent_state() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugins_folder(tmp.path(), &[]);
    let server = Arc::new(start_with_config(tmp.path(), &[], &plugins, ""));
    let probe = Arc::new(std::fs::read(test_plugins().join("probe.wasm")).unwrap());

    let at_once = |work: fn(&Server, &[u8]) -> u16| -> Vec<u16> {
        let threads: Vec<_> = (0..6)
            .map(|_| {
                let (server, probe) = (server.clone(), probe.clone());
                std::thread::spawn(move || work(&server, &probe))
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    };
    let uploads = at_once(|server, probe| server.post_bytes("/api/plugins", probe).0);
    assert!(uploads.iter().all(|s| *s == 201), "{uploads:?}");
    let switches =
        at_once(|server, _| server.raw("POST", "/api/plugins/probe/disable", &[], b"").0);
    assert!(switches.iter().all(|s| *s == 200), "{switches:?}");
    assert_eq!(probe_state(&server), "disabled");
    let deletes = at_once(|server, _| server.delete("/api/plugins/probe").0);
    assert_eq!(
        deletes.iter().filter(|s| **s == 204).count(),
        1,
        "{deletes:?}"
    );
    assert!(
        deletes.iter().all(|s| [204, 404].contains(s)),
        "{deletes:?}"
    );

    let (status, _) = server.get("/api/plugins/probe");
    assert_eq!(status, 404);
    let left: Vec<String> = std::fs::read_dir(&plugins)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        left.is_empty(),
        "no component or partial upload is left: {left:?}"
    );
}

#[test]
fn a_damaged_switches_file_keeps_plugins_disabled() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugins_folder(tmp.path(), &[("probe", None)]);
    let server = start_with_config(tmp.path(), &[], &plugins, "");
    let (status, _) = server.raw("POST", "/api/plugins/probe/disable", &[], b"");
    assert_eq!(status, 200);
    drop(server);
    let switches = tmp.path().join("data/plugin-switches.json");
    let text = std::fs::read_to_string(&switches).unwrap();
    std::fs::write(&switches, &text[..text.len() / 2]).unwrap();

    let server = start_with_config(tmp.path(), &[], &plugins, "");
    assert_eq!(probe_state(&server), "disabled");
    assert!(
        server.log().contains("plugin-switches.json are damaged"),
        "{}",
        server.log()
    );
}

/// An upload never overwrites another plugin's file, even one named after the uploaded id
/// (file names need not match ids): it goes beside it under a free name.
#[test]
fn an_upload_never_replaces_another_plugins_file() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugins_folder(tmp.path(), &[]);
    // `probe.wasm` holding the hostile plugin (id `hostile`).
    std::fs::copy(
        test_plugins().join("hostile.wasm"),
        plugins.join("probe.wasm"),
    )
    .unwrap();
    let server = start_with_config(tmp.path(), &[], &plugins, "");
    let (status, _) = server.get("/api/plugins/hostile");
    assert_eq!(status, 200);
    let probe = std::fs::read(test_plugins().join("probe.wasm")).unwrap();
    let (status, body) = server.post_bytes("/api/plugins", &probe);
    assert_eq!(status, 201, "{body}");
    for id in ["hostile", "probe"] {
        let (status, body) = server.get(&format!("/api/plugins/{id}"));
        assert_eq!(status, 200, "{id}: {body}");
        assert_eq!(body["state"], "loaded", "{id}: {body}");
    }
    assert_eq!(
        std::fs::read(plugins.join("probe.wasm")).unwrap(),
        std::fs::read(test_plugins().join("hostile.wasm")).unwrap()
    );
    assert_eq!(std::fs::read(plugins.join("probe-2.wasm")).unwrap(), probe);
}

#[test]
fn every_response_carries_security_headers_and_docs_keep_their_sandbox() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    std::fs::create_dir_all(site.join("docs")).unwrap();
    std::fs::write(
        site.join("catalog-info.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: documented\n  annotations:\n    backstage.io/techdocs-ref: dir:.\nspec:\n  type: service\n  lifecycle: production\n  owner: payments\n",
    )
    .unwrap();
    std::fs::write(site.join("docs/index.md"), "# Hello\n").unwrap();
    let plugins = plugins_folder(tmp.path(), &[]);
    let server = start_with_config(
        tmp.path(),
        &[site],
        &plugins,
        "techdocs:\n  allowedIframeHosts: [www.youtube.com]\n",
    );
    for path in ["/", "/catalog", "/api/catalog/entities", "/api/nope"] {
        let (_, headers, _) = server.get_bytes(path);
        let policy = headers
            .get("content-security-policy")
            .unwrap_or_else(|| panic!("{path}: {headers:?}"));
        assert!(
            policy.contains("script-src 'self' 'wasm-unsafe-eval';"),
            "{path}: {policy}"
        );
        assert!(
            policy.contains("frame-ancestors 'none'"),
            "{path}: {policy}"
        );
        assert!(
            policy.contains("frame-src https://www.youtube.com;"),
            "{path}: {policy}"
        );
        assert!(!policy.contains(" 'unsafe-eval'"), "{policy}");
        assert_eq!(
            headers.get("x-content-type-options").map(String::as_str),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(
            headers.get("referrer-policy").map(String::as_str),
            Some("strict-origin-when-cross-origin"),
            "{path}"
        );
    }
    // A docs site's own files keep their sandboxing policy.
    let (status, headers, _) =
        server.get_bytes("/api/techdocs/static/docs/default/component/documented/index.html");
    assert_eq!(status, 200);
    assert!(
        headers["content-security-policy"].contains("sandbox"),
        "{headers:?}"
    );
}

#[test]
fn without_sign_in_the_server_refuses_to_listen_beyond_loopback() {
    let tmp = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(greenroom_e2e::greenroom_binary())
        .args(["serve", "--listen", "0.0.0.0:0", "--data"])
        .arg(tmp.path().join("data"))
        .arg("--plugins")
        .arg(tmp.path().join("plugins"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("refusing to listen on 0.0.0.0:0") && stderr.contains("--allow-anonymous"),
        "{stderr}"
    );
}
