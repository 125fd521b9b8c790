//! TechDocs through the real server: a site built natively from `mkdocs.yml` and markdown,
//! served through Backstage's TechDocs API (metadata, static files, sync) and the reader's
//! JSON, rebuilt when its files change, confined to its folder, and sanitized.

use std::path::Path;
use std::time::Duration;

use greenroom_e2e::{Server, eventually};
use serde_json::Value;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn component(name: &str, annotations: &str) -> String {
    format!(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n  annotations:\n{annotations}spec:\n  type: service\n  lifecycle: production\n  owner: platform\n"
    )
}

/// A catalog with a documented service, one borrowing its docs and one with a URL site.
fn site(root: &Path) {
    write(
        &root.join("catalog-info.yaml"),
        &[
            component("svc", "    backstage.io/techdocs-ref: dir:.\n"),
            component(
                "svc-worker",
                "    backstage.io/techdocs-entity: component:default/svc\n",
            ),
            component(
                "remote",
                "    backstage.io/techdocs-ref: url:https://github.com/acme/remote\n",
            ),
        ]
        .join("---\n"),
    );
    write(
        &root.join("mkdocs.yml"),
        "site_name: Service docs\nsite_description: All about svc\nrepo_url: https://github.com/acme/svc\nnav:\n  - Home: index.md\n  - Guides:\n      - guides/setup.md\n      - Source: https://github.com/acme/svc\n  - missing.md\nplugins:\n  - techdocs-core\n",
    );
    write(
        &root.join("docs/index.md"),
        "# Welcome\n\nRead the [setup](guides/setup.md#install) first.\n\n![logo](img/logo.png)\n\n<script>alert(1)</script>\n\n!!! warning \"Careful\"\n    Do not <b onclick=\"x()\">click</b>.\n",
    );
    write(
        &root.join("docs/guides/setup.md"),
        "# Setting up\n\n## Install\n\nBack [home](../index.md).\n\n## Install\n\n```mermaid\ngraph TD; A-->B\n```\n",
    );
    std::fs::create_dir_all(root.join("docs/img")).unwrap();
    std::fs::write(root.join("docs/img/logo.png"), b"\x89PNG fake").unwrap();
}

fn start(dir: &tempfile::TempDir) -> Server {
    let root = dir.path().join("svc");
    site(&root);
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    Server::start(
        &[root.join("catalog-info.yaml")],
        &plugins,
        &dir.path().join("data"),
    )
}

#[test]
fn backstages_techdocs_api_serves_a_site_built_from_mkdocs_sources() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir);

    let metadata = server.get_ok("/api/techdocs/metadata/techdocs/default/component/svc");
    assert_eq!(metadata["site_name"], "Service docs");
    assert_eq!(metadata["site_description"], "All about svc");
    assert!(metadata["build_timestamp"].as_u64().unwrap() > 1_700_000_000_000);
    assert!(!metadata["etag"].as_str().unwrap().is_empty());
    let files: Vec<&str> = metadata["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    for file in ["index.html", "guides/setup/index.html", "img/logo.png"] {
        assert!(files.contains(&file), "{file} not in {files:?}");
    }

    let entity = server.get_ok("/api/techdocs/metadata/entity/default/component/svc");
    assert_eq!(entity["metadata"]["name"], "svc");
    assert_eq!(entity["locationMetadata"]["type"], "dir");

    // Pages are HTML documents, assets keep their bytes; everything under static is inert.
    let (status, headers, body) =
        server.get_bytes("/api/techdocs/static/docs/default/component/svc/index.html");
    assert_eq!(status, 200);
    assert!(headers["content-type"].starts_with("text/html"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(headers["content-security-policy"].contains("default-src 'none'"));
    assert!(headers["content-security-policy"].contains("sandbox"));
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains("<h1 id=\"welcome\">Welcome"), "{html}");
    assert!(html.contains("href=\"guides/setup/#install\""), "{html}");
    assert!(
        html.contains("<div class=\"admonition warning\">"),
        "{html}"
    );
    assert!(
        !html.contains("<script") && !html.contains("onclick"),
        "{html}"
    );
    let (status, headers, body) =
        server.get_bytes("/api/techdocs/static/docs/default/component/svc/img/logo.png");
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(body, b"\x89PNG fake");
    let (status, _, body) =
        server.get_bytes("/api/techdocs/static/docs/default/component/svc/guides/setup/");
    assert_eq!(status, 200);
    assert!(String::from_utf8(body).unwrap().contains("href=\"../../\""));
    // Mixed case redirects to lower case; nothing outside the site is served.
    let (status, _) = server.raw(
        "GET",
        "/api/techdocs/static/docs/default/Component/SVC/index.html",
        &[],
        b"",
    );
    assert_eq!(status, 308);
    for path in [
        "../../../../etc/passwd",
        "%2e%2e/%2e%2e/mkdocs.yml",
        "mkdocs.yml",
        "docs/index.md",
    ] {
        let (status, _, _) = server.get_bytes(&format!(
            "/api/techdocs/static/docs/default/component/svc/{path}"
        ));
        assert_eq!(status, 404, "{path}");
    }
    // Sync: built already and unchanged.
    let (status, headers, body) = server.get_bytes("/api/techdocs/sync/default/component/svc");
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/event-stream");
    let events = String::from_utf8(body).unwrap();
    assert!(events.contains("event: log\n"), "{events}");
    assert!(
        events.contains("event: finish\ndata: {\"updated\":false}"),
        "{events}"
    );

    // The borrowed site is the lender's; a URL site is refused by name.
    let borrowed = server.get_ok("/api/docs/site/default/component/svc-worker");
    assert_eq!(borrowed["entityRef"], "component:default/svc");
    let (status, body) = server.get("/api/techdocs/metadata/techdocs/default/component/remote");
    assert_eq!(status, 404);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("is not supported"),
        "{body}"
    );
}

#[test]
fn the_reader_gets_nav_pages_with_contents_and_neighbours_and_edits_show_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir);
    let site = server.get_ok("/api/docs/site/default/component/svc");
    assert_eq!(site["siteName"], "Service docs");
    assert_eq!(site["owner"], "platform");
    assert_eq!(site["lifecycle"], "production");
    assert_eq!(site["home"], "");
    assert_eq!(
        site["nav"],
        serde_json::json!([
            {"type": "page", "title": "Home", "path": ""},
            {"type": "section", "title": "Guides", "children": [
                {"type": "page", "title": "Setting up", "path": "guides/setup/"},
                {"type": "link", "title": "Source", "url": "https://github.com/acme/svc"},
            ]},
            {"type": "link", "title": "missing.md", "url": "missing.md"},
        ])
    );
    let warnings: Vec<&str> = site["build"]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("'missing.md'"));
    assert!(site["build"]["failed"].is_null());

    // Links between pages stay relative (the reader mirrors the site's URLs); images point
    // at the static endpoint.
    let home = server.get_ok("/api/docs/page/default/component/svc/");
    let html = home["html"].as_str().unwrap();
    assert!(html.contains("href=\"guides/setup/#install\""), "{html}");
    assert!(
        html.contains("src=\"/api/techdocs/static/docs/default/component/svc/img/logo.png\""),
        "{html}"
    );
    assert_eq!(home["next"]["path"], "guides/setup/");

    let page = server.get_ok("/api/docs/page/default/component/svc/guides/setup/");
    assert_eq!(page["title"], "Setting up");
    assert_eq!(page["source"], "guides/setup.md");
    let toc: Vec<(&str, u64)> = page["toc"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h: &Value| (h["id"].as_str().unwrap(), h["level"].as_u64().unwrap()))
        .collect();
    assert_eq!(toc, [("setting-up", 1), ("install", 2), ("install_1", 2)]);
    assert_eq!(page["prev"]["path"], "");
    assert_eq!(page["prev"]["title"], "Home");
    assert!(page["next"].is_null());
    assert_eq!(
        page["editUrl"],
        "https://github.com/acme/svc/edit/master/docs/guides/setup.md"
    );
    assert!(
        page["html"]
            .as_str()
            .unwrap()
            .contains("<pre class=\"mermaid\">")
    );

    // An edit is served within a second, and sync (which always looks) says the site changed.
    write(
        &dir.path().join("svc/docs/guides/setup.md"),
        "# Setting up, edited\n\nNew text.\n",
    );
    eventually("the edited page", Duration::from_secs(1), || {
        let page = server.get_ok("/api/docs/page/default/component/svc/guides/setup/");
        (page["title"] == "Setting up, edited").then_some(())
    });
    write(&dir.path().join("svc/docs/index.md"), "# Welcome back\n");
    let (_, _, body) = server.get_bytes("/api/techdocs/sync/default/component/svc");
    let events = String::from_utf8(body).unwrap();
    assert!(
        events.contains("event: finish\ndata: {\"updated\":true}"),
        "{events}"
    );

    // A broken configuration keeps the last good build and says why.
    write(&dir.path().join("svc/mkdocs.yml"), "site_name: [unclosed\n");
    let site = eventually("the failed build", Duration::from_secs(1), || {
        let site = server.get_ok("/api/docs/site/default/component/svc");
        site["build"]["failed"].is_string().then_some(site)
    });
    assert_eq!(site["siteName"], "Service docs");
    assert!(
        site["build"]["failed"]
            .as_str()
            .unwrap()
            .contains("mkdocs.yml"),
        "{site}"
    );
    let (status, body) = server.get("/api/docs/page/default/component/svc/nowhere/");
    assert_eq!(status, 404, "{body}");
}

/// A built site is watched: an edit is rebuilt (that page alone) before anyone views it.
#[test]
fn an_edit_to_a_built_site_is_rebuilt_without_a_view() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir);
    server.get_ok("/api/docs/site/default/component/svc");
    let builds = || -> Vec<String> {
        server
            .log()
            .lines()
            .filter(|l| l.contains("docs site built"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(builds().len(), 1, "{}", server.log());
    write(
        &dir.path().join("svc/docs/guides/setup.md"),
        "# Setting up, watched\n",
    );
    let rebuilt = eventually("the watcher's rebuild", Duration::from_secs(5), || {
        builds().get(1).cloned()
    });
    assert!(rebuilt.contains("rendered=1"), "{rebuilt}");
    let page = server.get_ok("/api/docs/page/default/component/svc/guides/setup/");
    assert_eq!(page["title"], "Setting up, watched");
}
