//! Search through the real server: Backstage's `/api/search/query` over the catalog — a test
//! corpus with the expected top results (exact names first, name parts, a typo, a prefix,
//! phrases, filters), user text never taken as engine syntax, validation, cursors,
//! highlights, a change searchable without a restart, and what a caller may not read left
//! out before paging.

use std::path::{Path, PathBuf};
use std::time::Duration;

use greenroom_e2e::{Server, eventually, plugins_folder, start_with_config};
use serde_json::{Value, json};

const CORPUS: &str = "apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: route-planner, description: Plans delivery routes for the drivers., tags: [java]}
spec: {type: service, lifecycle: production, owner: logistics}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: payment-gateway, title: Payment Gateway, description: Takes card payments and refunds them.}
spec: {type: service, lifecycle: experimental, owner: payments}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: orderTracker, description: Follows every order from basket to door.}
spec: {type: website, lifecycle: production, owner: logistics}
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata: {name: routes-api, description: The route planner's API; checkout calls it too.}
spec: {type: openapi, lifecycle: production, owner: logistics, definition: 'openapi: 3.0.0'}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: logistics}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: jdoe}
spec: {profile: {displayName: Jane Marlowe, email: jane@example.com}, memberOf: [logistics]}
";

fn corpus(dir: &Path) -> PathBuf {
    let folder = dir.join("corpus");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("catalog-info.yaml"), CORPUS).unwrap();
    folder
}

fn search(server: &Server, query: &str) -> Value {
    server.get_ok(&format!("/api/search/query?{query}"))
}

/// The names of the results, best first.
fn names(answer: &Value) -> Vec<String> {
    answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["document"]["name"].as_str().unwrap().to_string())
        .collect()
}

/// A server on the corpus (and no plugins), and the corpus' folder.
fn corpus_server(dir: &Path) -> (Server, PathBuf) {
    let plugins = plugins_folder(dir, &[]);
    let folder = corpus(dir);
    let server = Server::start(std::slice::from_ref(&folder), &plugins, &dir.join("data"));
    (server, folder)
}

/// The names `logistics` finds, best first, from one page holding them all.
fn seen_in_order(server: &Server) -> Vec<String> {
    names(&search(server, "term=logistics&pageLimit=100"))
}

fn term(text: &str) -> String {
    format!("term={}", urlencoding(text))
}

/// Every byte but letters and digits percent-encoded.
fn urlencoding(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[test]
fn the_corpus_finds_what_people_mean() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugins_folder(tmp.path(), &[]);
    let server = Server::start(
        &[greenroom_e2e::fixture_catalog(), corpus(tmp.path())],
        &plugins,
        &tmp.path().join("data"),
    );
    // (what is typed, what must come first)
    for (typed, first) in [
        ("checkout", "checkout"), // the exact name beats routes-api, which mentions it
        ("planner", "route-planner"), // a part of a name
        ("route planner", "route-planner"),
        ("chekout", "checkout"),                // one typo
        ("paymnet gateway", "payment-gateway"), // a swap, in a word of five letters or more
        ("ledg", "ledger"),                     // the word being typed
        ("tracker", "orderTracker"),            // camelCase parts
        ("\"card payments\"", "payment-gateway"),
        ("java", "route-planner"), // tags
    ] {
        let found = names(&search(&server, &term(typed)));
        assert_eq!(
            found.first().map(String::as_str),
            Some(first),
            "{typed}: {found:?}"
        );
    }
    // A phrase is in order; words are all needed.
    assert!(names(&search(&server, &term("\"payments card\""))).is_empty());
    assert!(names(&search(&server, &term("route zebra"))).is_empty());
    // Words under five letters are not fuzzed: "lodg", done typing, is not "ledg…".
    assert!(!names(&search(&server, &term("lodg "))).contains(&"ledger".to_string()));

    // Filters: any of several values, on Backstage's fields.
    let apis = names(&search(&server, "term=route&filters[kind]=API"));
    assert_eq!(apis, ["routes-api"]);
    let production = names(&search(
        &server,
        "filters[lifecycle]=production&filters[owner][0]=logistics&filters[owner][1]=payments&pageLimit=100",
    ));
    assert!(
        production.contains(&"route-planner".to_string())
            && production.contains(&"checkout".to_string()),
        "{production:?}"
    );
    assert!(
        !production.contains(&"payment-gateway".to_string()),
        "{production:?}"
    );

    // What people type is text, never syntax.
    for typed in [
        "kind:api",
        "\"unbalanced",
        "*",
        "-checkout",
        "route AND NOT planner",
        "NEAR(a b)",
        "a\\b",
        "(((",
        "<script>",
    ] {
        let (status, body) = server.get(&format!("/api/search/query?{}", term(typed)));
        assert_eq!(status, 200, "{typed}: {body}");
    }
    assert_eq!(names(&search(&server, &term("-checkout")))[0], "checkout");

    // Highlights: the matched words between the answer's own tags; documents as Backstage's.
    let answer = search(&server, &term("checkout"));
    let hit = &answer["results"][0];
    assert_eq!(hit["type"], "software-catalog");
    assert_eq!(hit["rank"], 1);
    assert_eq!(
        hit["document"]["location"],
        "/catalog/default/component/checkout"
    );
    assert_eq!(hit["document"]["kind"], "Component");
    let (pre, post) = (
        hit["highlight"]["preTag"].as_str().unwrap(),
        hit["highlight"]["postTag"].as_str().unwrap(),
    );
    assert_eq!(
        hit["highlight"]["fields"]["title"],
        format!("{pre}Checkout{post} Service")
    );
    let other = search(&server, &term("checkout"));
    assert_ne!(
        other["results"][0]["highlight"]["preTag"], pre,
        "tags are made per answer"
    );
}

#[test]
fn catalog_documents_have_backstages_fields() {
    let tmp = tempfile::tempdir().unwrap();
    let (server, _) = corpus_server(tmp.path());
    // A person is found by display name; their text is Backstage's (` : ` before each of
    // display name and email), and a kind without `spec.type` is typed `other`.
    let answer = search(&server, &term("marlowe"));
    assert_eq!(names(&answer), ["jdoe"], "{answer}");
    let document = &answer["results"][0]["document"];
    assert_eq!(document["text"], " : Jane Marlowe : jane@example.com");
    assert_eq!(document["type"], "other");
    assert_eq!(document["componentType"], "other");
    assert_eq!(document["lifecycle"], "");
    assert_eq!(document["owner"], "");
    assert_eq!(document["location"], "/catalog/default/user/jdoe");
    let api = &search(&server, &term("routes-api"))["results"][0]["document"];
    assert_eq!(api["componentType"], "openapi", "{api}");
    assert_eq!(api["kind"], "API", "{api}");
}

/// `search.maxTermLength` and `search.maxPageLimit` bound queries, as in Backstage.
#[test]
fn the_operator_sets_the_query_limits() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugins_folder(tmp.path(), &[]);
    let server = start_with_config(
        tmp.path(),
        &[corpus(tmp.path())],
        &plugins,
        "search: {maxTermLength: 10, maxPageLimit: 5}\n",
    );
    for (query, status) in [
        ("term=logistics", 200),
        ("term=logistics-x", 400),
        ("term=route&pageLimit=5", 200),
        ("term=route&pageLimit=6", 400),
    ] {
        let (got, body) = server.get(&format!("/api/search/query?{query}"));
        assert_eq!(got, status, "{query}: {body}");
    }
}

#[test]
fn pages_validation_and_freshness() {
    let tmp = tempfile::tempdir().unwrap();
    let (server, folder) = corpus_server(tmp.path());
    let first = search(&server, "term=logistics&pageLimit=1");
    let total = first["numberOfResults"].as_u64().unwrap();
    assert!(total >= 3, "{first}");
    let mut seen = names(&first);
    let mut page = first;
    while let Some(next) = page["nextPageCursor"].as_str() {
        page = search(
            &server,
            &format!("term=logistics&pageLimit=1&pageCursor={next}"),
        );
        assert!(page["previousPageCursor"].is_string());
        seen.extend(names(&page));
    }
    assert_eq!(seen.len() as u64, total);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len() as u64, total, "every result once");
    // Backstage's cursors (a page number in base64, which its search page makes itself);
    // an empty one is the first page; no cursor is sent where there is no page.
    let second = search(&server, "term=logistics&pageLimit=1&pageCursor=MQ==");
    assert_eq!(names(&second), seen_in_order(&server)[1..2]);
    let opening = search(&server, "term=logistics&pageLimit=1&pageCursor=");
    assert_eq!(names(&opening), seen_in_order(&server)[..1]);
    assert!(opening.get("previousPageCursor").is_none(), "{opening}");
    let all = search(&server, "term=logistics&pageLimit=100");
    assert!(all.get("nextPageCursor").is_none(), "{all}");
    // Zero asks for the default page; a field no document is filtered on matches nothing.
    assert_eq!(
        search(&server, "term=logistics&pageLimit=0")["results"]
            .as_array()
            .unwrap()
            .len() as u64,
        total.min(25)
    );
    assert_eq!(
        search(&server, "term=logistics&filters[color]=red")["numberOfResults"],
        0
    );
    // Highlights name only the fields the words matched in: the group's title, nothing of
    // a component it owns (found by its owner).
    let fields_of = |name: &str| {
        all["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["document"]["name"] == name)
            .map(|r| r["highlight"]["fields"].clone())
            .unwrap()
    };
    assert!(fields_of("logistics")["title"].is_string(), "{all}");
    assert_eq!(fields_of("route-planner"), json!({}), "{all}");
    for result in all["results"].as_array().unwrap() {
        for (field, marked) in result["highlight"]["fields"].as_object().unwrap() {
            assert!(
                marked
                    .as_str()
                    .unwrap()
                    .contains(result["highlight"]["preTag"].as_str().unwrap()),
                "{field}: {result}"
            );
        }
    }

    for (query, says) in [
        (format!("term={}", "x".repeat(101)), "term"),
        ("pageLimit=101".to_string(), "pageLimit"),
        ("pageLimit=many".to_string(), "pageLimit"),
        ("pageCursor=not-a-cursor".to_string(), "pageCursor"),
        ("types[0]=nonsense".to_string(), "types"),
    ] {
        let (status, body) = server.get(&format!("/api/search/query?{query}"));
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["error"]["name"], "InputError");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(says),
            "{body}"
        );
    }
    let facets = server.get_ok("/api/search/facets?term=logistics");
    assert_eq!(facets["types"]["software-catalog"], total);
    assert_eq!(facets["kinds"]["api"], 1);
    // The registry of document types: what `types[]` may name, with the UI's titles.
    assert_eq!(
        server.get_ok("/api/search/types"),
        json!([
            {"type": "software-catalog", "title": "Software Catalog", "source": "greenroom"},
            {"type": "techdocs", "title": "Documentation", "source": "greenroom"},
        ])
    );

    // A new entity is searchable as soon as the catalog has it, without a restart.
    std::fs::write(
        folder.join("more.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: zephyr-relay}\nspec: {type: service, lifecycle: production, owner: logistics}\n",
    )
    .unwrap();
    std::fs::write(
        folder.join("catalog-info.yaml"),
        format!("{CORPUS}---\napiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {{name: more}}\nspec: {{targets: [./more.yaml]}}\n"),
    )
    .unwrap();
    eventually(
        "the new entity to be searchable",
        Duration::from_secs(20),
        || (names(&search(&server, &term("zephyr"))) == ["zephyr-relay"]).then_some(()),
    );
    // And gone when it is.
    std::fs::write(folder.join("catalog-info.yaml"), CORPUS).unwrap();
    eventually(
        "the removed entity to leave search",
        Duration::from_secs(20),
        || {
            names(&search(&server, &term("zephyr")))
                .is_empty()
                .then_some(())
        },
    );
}

#[test]
fn what_a_caller_may_not_read_is_not_found() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("policy.yaml"),
        "roles:\n  reader:\n    members: ['*']\n    allow:\n      - permission: catalog.entity.read\n        conditions: {not: {rule: IS_ENTITY_KIND, params: {kinds: [api]}}}\n",
    )
    .unwrap();
    let plugins = plugins_folder(tmp.path(), &[]);
    let server = start_with_config(
        tmp.path(),
        &[corpus(tmp.path())],
        &plugins,
        concat!(
            greenroom_e2e::proxy_sign_in!(),
            "permission:\n  enabled: true\n  policyFile: policy.yaml\n"
        ),
    );
    let (status, answer) = server.raw(
        "GET",
        &format!("/api/search/query?{}", term("route")),
        &[("x-forwarded-user", "ada")],
        b"",
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(names(&answer), ["route-planner"]);
    assert_eq!(answer["numberOfResults"], 1);
    let (_, facets) = server.raw(
        "GET",
        "/api/search/facets?term=route",
        &[("x-forwarded-user", "ada")],
        b"",
    );
    assert_eq!(facets["types"]["software-catalog"], 1, "{facets}");
}

/// Docs pages are searched too, one document per section, linking to its anchor.
#[test]
fn docs_sections_are_found_with_their_anchor() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("handbook");
    std::fs::create_dir_all(site.join("docs")).unwrap();
    std::fs::write(
        site.join("catalog-info.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: handbook\n  title: The Handbook\n  annotations:\n    backstage.io/techdocs-ref: dir:.\nspec: {type: documentation, lifecycle: production, owner: platform}\n",
    )
    .unwrap();
    std::fs::write(
        site.join("mkdocs.yml"),
        "site_name: Handbook\nnav:\n  - Home: index.md\n",
    )
    .unwrap();
    std::fs::write(
        site.join("docs/index.md"),
        "# Handbook\n\nWelcome aboard.\n\n## Deployment\n\nShip with the zeppelin pipeline.\n",
    )
    .unwrap();
    let plugins = plugins_folder(tmp.path(), &[]);
    let server = Server::start(
        std::slice::from_ref(&site),
        &plugins,
        &tmp.path().join("data"),
    );
    let answer = search(&server, &term("zeppelin"));
    let hit = &answer["results"][0];
    assert_eq!(answer["numberOfResults"], 1, "{answer}");
    assert_eq!(hit["type"], "techdocs");
    let location = hit["document"]["location"].as_str().unwrap();
    assert!(
        location.starts_with("/docs/default/component/handbook/")
            && location.ends_with("#deployment"),
        "{location}"
    );
    // Backstage's techdocs fields: the section's own title, its path with the anchor, the
    // entity lowercased, its title, type, lifecycle and owner's name; ours: the page's title
    // (the nav's).
    let document = &hit["document"];
    assert_eq!(document["title"], "Deployment", "{hit}");
    assert_eq!(document["path"], "#deployment", "{hit}");
    assert_eq!(document["pageTitle"], "Home", "{hit}");
    for (field, value) in [
        ("kind", "component"),
        ("namespace", "default"),
        ("name", "handbook"),
        ("entityTitle", "The Handbook"),
        ("componentType", "documentation"),
        ("type", "documentation"),
        ("lifecycle", "production"),
        ("owner", "platform"),
    ] {
        assert_eq!(document[field], value, "{field}: {hit}");
    }
    let pre = hit["highlight"]["preTag"].as_str().unwrap();
    assert!(
        hit["highlight"]["fields"]["text"]
            .as_str()
            .unwrap()
            .contains(&format!("{pre}zeppelin"))
    );
    // By type: the catalog's document of the handbook is not a docs section (of which
    // only the opening, under its "Handbook" heading, says handbook).
    assert_eq!(
        names(&search(&server, "term=handbook&types[0]=techdocs")).len(),
        1
    );
    assert_eq!(
        names(&search(&server, "term=handbook&types[0]=software-catalog")),
        ["handbook"]
    );
    let facets = server.get_ok("/api/search/facets?term=handbook");
    assert_eq!(facets["types"]["techdocs"], 1, "{facets}");
    assert_eq!(facets["types"]["software-catalog"], 1, "{facets}");
}

/// An edit to a docs page is searchable without a view of the docs or a restart.
#[test]
fn an_edited_docs_page_is_searchable_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("guide");
    std::fs::create_dir_all(site.join("docs")).unwrap();
    std::fs::write(
        site.join("catalog-info.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: guide\n  annotations:\n    backstage.io/techdocs-ref: dir:.\nspec: {type: documentation, lifecycle: production, owner: platform}\n",
    )
    .unwrap();
    std::fs::write(site.join("mkdocs.yml"), "site_name: Guide\n").unwrap();
    std::fs::write(site.join("docs/index.md"), "# Guide\n\nNothing yet.\n").unwrap();
    let plugins = plugins_folder(tmp.path(), &[]);
    let server = Server::start(
        std::slice::from_ref(&site),
        &plugins,
        &tmp.path().join("data"),
    );
    assert!(names(&search(&server, &term("quokka"))).is_empty());
    std::fs::write(
        site.join("docs/index.md"),
        "# Guide\n\nFeed the quokka daily.\n",
    )
    .unwrap();
    eventually(
        "the edited page to be searchable",
        Duration::from_secs(20),
        || (names(&search(&server, &term("quokka"))) == ["guide"]).then_some(()),
    );
}
