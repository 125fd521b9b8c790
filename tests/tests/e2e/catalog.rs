//! The software catalog end to end: catalog files on disk -> the real server -> Backstage's
//! catalog REST API. Most tests read the demo organisation in `fixtures/org` (a root file
//! whose Location entity pulls in `teams/*.yaml`, the `services` folder and `ops/ops.yaml`;
//! two namespaces; every relation pair). Tests that change files work on a private copy, each
//! with its own server, and wait for the watcher by polling with a deadline.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use greenroom_api::EntityRef;
use greenroom_e2e::{Server, eventually, names};
use serde_json::{Value, json};

/// How long a test waits for the watcher before failing. The server promises changes show
/// within a second; `file_changes_show_in_the_api_within_a_second` checks that promise,
/// the other tests allow slack for loaded machines.
const WATCH_DEADLINE: Duration = Duration::from_secs(5);

const API: &str = "/api/catalog";

/// Every entity the demo organisation defines (besides its generated location entity).
const ORG_REFS: [&str; 19] = [
    "api:default/checkout-api",
    "api:ops/metrics-api",
    "component:default/checkout",
    "component:default/checkout-worker",
    "component:default/storefront",
    "component:ops/collector",
    "domain:default/commerce",
    "domain:default/payments-domain",
    "group:default/engineering",
    "group:default/payments",
    "group:default/platform",
    "group:ops/sre",
    "location:default/optional-extras",
    "location:default/org-parts",
    "resource:default/orders-db",
    "system:default/shop",
    "template:ops/new-service",
    "user:default/ada",
    "user:default/grace",
];

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn fixture_org() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/org")
}

/// Starts a server on `catalogs` with its data (and an empty plugins folder) in `dir`.
fn start(dir: &tempfile::TempDir, catalogs: &[PathBuf], extra_args: &[&str]) -> Server {
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    Server::start_with_args(catalogs, &plugins, &dir.path().join("data"), extra_args)
}

/// A private copy of the demo organisation in `dir`; returns its folder.
fn copy_org(dir: &tempfile::TempDir) -> PathBuf {
    let to = dir.path().join("org");
    copy_dir(&fixture_org(), &to);
    to
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Replaces `from` (which must occur exactly once) with `to` in a file.
fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert_eq!(
        text.matches(from).count(),
        1,
        "{from:?} in {}",
        path.display()
    );
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// Drops the YAML document defining `metadata.name: <name>` from a file; returns the file's
/// previous text so it can be put back.
fn remove_document(path: &Path, name: &str) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let documents: Vec<&str> = text.split("\n---\n").collect();
    let kept: Vec<&str> = documents
        .iter()
        .copied()
        .filter(|d| !d.contains(&format!("\n  name: {name}\n")))
        .collect();
    assert_eq!(
        kept.len() + 1,
        documents.len(),
        "{name} in {}",
        path.display()
    );
    std::fs::write(path, kept.join("\n---\n")).unwrap();
    text
}

/// A component document for ad-hoc catalog files.
fn component(name: &str, extra_metadata: &str) -> String {
    format!(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n{extra_metadata}spec:\n  type: service\n  lifecycle: production\n  owner: platform\n"
    )
}

/// The entity for `kind:namespace/name`, or `None` on 404.
fn entity(server: &Server, entity_ref: &str) -> Option<Value> {
    let (kind, rest) = entity_ref.split_once(':').unwrap();
    let (namespace, name) = rest.split_once('/').unwrap();
    let (status, body) = server.get(&format!("{API}/entities/by-name/{kind}/{namespace}/{name}"));
    match status {
        200 => Some(body),
        404 => {
            assert_eq!(body["error"]["name"], "NotFoundError", "{body}");
            None
        }
        _ => panic!("GET {entity_ref} answered {status}: {body}"),
    }
}

fn must(server: &Server, entity_ref: &str) -> Value {
    entity(server, entity_ref).unwrap_or_else(|| panic!("{entity_ref} is not in the catalog"))
}

/// The canonical ref of an entity as served.
fn ref_of(entity: &Value) -> String {
    EntityRef::of(entity).to_string()
}

fn refs(items: &Value) -> Vec<String> {
    items.as_array().unwrap().iter().map(ref_of).collect()
}

/// Every entity in the catalog, by ref.
fn all_entities(server: &Server) -> BTreeMap<String, Value> {
    let page = server.get_ok(&format!("{API}/entities/by-query?limit=1000"));
    assert!(page["pageInfo"]["nextCursor"].is_null());
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (ref_of(e), e.clone()))
        .collect()
}

fn relations(entity: &Value) -> Vec<(String, String)> {
    entity["relations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["type"].as_str().unwrap().to_string(),
                r["targetRef"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn has_relation(entity: &Value, kind: &str, target: &str) -> bool {
    relations(entity)
        .iter()
        .any(|(k, t)| k == kind && t == target)
}

fn annotation<'a>(entity: &'a Value, key: &str) -> &'a Value {
    &entity["metadata"]["annotations"][key]
}

fn errors(server: &Server) -> Vec<Value> {
    server.get_ok(&format!("{API}/errors"))["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// `location:default/generated-<sha1 of "file:<target>">`, Backstage's name for the entity
/// of a configured or registered location.
fn generated_location_ref(target: &Path) -> String {
    format!(
        "location:default/generated-{}",
        sha1_hex(format!("file:{}", target.display()).as_bytes())
    )
}

/// SHA-1 (FIPS 180-4), hex encoded: enough to name generated location entities without a
/// dependency.
fn sha1_hex(data: &[u8]) -> String {
    let mut h: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    let mut message = data.to_vec();
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&(data.len() as u64 * 8).to_be_bytes());
    for block in message.chunks(64) {
        let mut w = [0u32; 80];
        for (i, word) in block.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes(word.try_into().unwrap());
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, word) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A827999),
                20..=39 => (b ^ c ^ d, 0x6ED9EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                _ => (b ^ c ^ d, 0xCA62C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*word);
            (e, d, c, b, a) = (d, c, b.rotate_left(30), a, t);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
}

/// Asserts a Backstage error body with this status and error name.
fn assert_error(status: u16, body: &Value, expected_status: u16, name: &str) {
    assert_eq!(status, expected_status, "{body}");
    assert_eq!(body["error"]["name"], name, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    assert_eq!(body["response"]["statusCode"], expected_status, "{body}");
    assert!(body["request"]["method"].is_string(), "{body}");
    assert!(body["request"]["url"].is_string(), "{body}");
}

// ---------------------------------------------------------------------------------------
// Reading sources
// ---------------------------------------------------------------------------------------

#[test]
fn the_org_is_read_through_its_location_entity_with_annotations_and_ancestry() {
    assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    let dir = tempfile::tempdir().unwrap();
    let org = fixture_org();
    let root_file = org.join("catalog-info.yaml");
    let server = start(&dir, std::slice::from_ref(&root_file), &[]);

    // The optional Location target is missing without complaint; nothing else is wrong.
    assert_eq!(errors(&server), Vec::<Value>::new());
    let generated = generated_location_ref(&root_file);
    let all = all_entities(&server);
    let mut expected: Vec<String> = ORG_REFS.iter().map(|r| r.to_string()).collect();
    expected.push(generated.clone());
    expected.sort();
    assert_eq!(all.keys().cloned().collect::<Vec<_>>(), expected);

    // The configured location and its generated entity.
    let locations = server.get_ok(&format!("{API}/locations"));
    assert_eq!(locations.as_array().unwrap().len(), 1, "{locations}");
    let location = &locations[0]["data"];
    assert_eq!(location["type"], "file");
    assert_eq!(location["target"], root_file.display().to_string());
    assert_eq!(location["entityRef"], generated);
    let location_id = location["id"].as_str().unwrap();
    let generated_entity = &all[&generated];
    assert_eq!(generated_entity["spec"]["type"], "file");
    assert_eq!(
        generated_entity["spec"]["target"],
        root_file.display().to_string()
    );
    assert_eq!(
        server.get_ok(&format!(
            "{API}/locations/by-entity/component/default/checkout"
        ))["id"],
        location_id
    );

    // managed-by-location is the file that defines the entity; the origin is the configured
    // location it was reached from.
    let origin = format!("file:{}", root_file.display());
    for (entity_ref, file) in [
        ("component:default/checkout", "services/catalog-info.yaml"),
        ("group:ops/sre", "ops/ops.yaml"),
        ("user:default/ada", "teams/people.yaml"),
        ("domain:default/commerce", "catalog-info.yaml"),
    ] {
        let e = &all[entity_ref];
        assert_eq!(
            annotation(e, "backstage.io/managed-by-location"),
            format!("file:{}", org.join(file).display()).as_str(),
            "{entity_ref}"
        );
        assert_eq!(
            annotation(e, "backstage.io/managed-by-origin-location"),
            origin.as_str(),
            "{entity_ref}"
        );
        assert_eq!(e["metadata"]["uid"].as_str().unwrap().len(), 36);
    }

    // Ancestry: entity -> the Location entity that pointed at its file -> generated location.
    let ancestry = server.get_ok(&format!(
        "{API}/entities/by-name/component/default/checkout/ancestry"
    ));
    assert_eq!(ancestry["rootEntityRef"], "component:default/checkout");
    let chain: Vec<(String, Value)> = ancestry["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (ref_of(&i["entity"]), i["parentEntityRefs"].clone()))
        .collect();
    assert_eq!(
        chain,
        [
            (
                "component:default/checkout".to_string(),
                json!(["location:default/org-parts"])
            ),
            (
                "location:default/org-parts".to_string(),
                json!([generated.clone()])
            ),
            (generated.clone(), json!([])),
        ]
    );
    let ancestry = server.get_ok(&format!(
        "{API}/entities/by-name/domain/default/commerce/ancestry"
    ));
    assert_eq!(ancestry["items"].as_array().unwrap().len(), 2);
    assert_eq!(ancestry["items"][0]["parentEntityRefs"], json!([generated]));
    let (status, body) = server.get(&format!(
        "{API}/entities/by-name/component/default/nope/ancestry"
    ));
    assert_error(status, &body, 404, "NotFoundError");

    // Placeholders: $text, $json and $yaml, relative to the file that uses them.
    let api = &all["api:default/checkout-api"];
    assert_eq!(
        api["spec"]["definition"],
        std::fs::read_to_string(org.join("services/checkout-api.yaml")).unwrap()
    );
    assert_eq!(
        api["metadata"]["links"],
        json!([{"url": "https://example.com/checkout", "title": "Runbook"}])
    );
    assert_eq!(
        all["group:ops/sre"]["spec"]["profile"],
        json!({"displayName": "Site Reliability", "email": "sre@example.com"})
    );

    // By uid, and by refs (in the order asked, null for unknown, refs case-insensitive).
    let uid = all["component:default/checkout"]["metadata"]["uid"]
        .as_str()
        .unwrap();
    assert_eq!(
        server.get_ok(&format!("{API}/entities/by-uid/{uid}")),
        all["component:default/checkout"]
    );
    let (status, body) = server.get(&format!(
        "{API}/entities/by-uid/00000000-0000-0000-0000-000000000000"
    ));
    assert_error(status, &body, 404, "NotFoundError");
    let (status, body) = server.post(
        &format!("{API}/entities/by-refs"),
        &json!({"entityRefs": ["group:ops/sre", "component:default/nope", "Component:Default/Checkout"],
                "fields": ["kind", "metadata.name"]}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"items": [
            {"kind": "Group", "metadata": {"name": "sre"}},
            null,
            {"kind": "Component", "metadata": {"name": "checkout"}},
        ]})
    );
    // A ref asked for twice is answered twice, with its relations each time.
    let (status, body) = server.post(
        &format!("{API}/entities/by-refs"),
        &json!({"entityRefs": ["component:default/checkout", "component:default/nope", "component:default/checkout"]}),
    );
    assert_eq!(status, 200, "{body}");
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert!(items[1].is_null());
    assert_eq!(items[0], items[2]);
    assert!(
        !items[2]["relations"].as_array().unwrap().is_empty(),
        "{body}"
    );
}

#[test]
fn catalog_paths_may_be_files_folders_or_globs_and_location_targets_are_followed() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("sources");
    let tree = base.join("tree");
    write(&tree.join("a/catalog-info.yaml"), &component("tree-a", ""));
    write(
        &tree.join("b/c/catalog-info.yaml"),
        &component("tree-c", ""),
    );
    write(
        &tree.join(".hidden/catalog-info.yaml"),
        &component("hidden", ""),
    );
    write(&tree.join("b/other.yaml"), &component("not-scanned", ""));
    write(&base.join("globbed/x.yaml"), &component("glob-x", ""));
    write(&base.join("globbed/y.yaml"), &component("glob-y", ""));
    write(&base.join("globbed/z.yml"), &component("glob-z", ""));
    let single = base.join("single.yaml");
    write(
        &single,
        "\
apiVersion: backstage.io/v1alpha1
kind: Location
metadata: {name: links}
spec:
  targets: [./linked/*.yaml, ./linked-folder]
---
apiVersion: backstage.io/v1alpha1
kind: Location
metadata: {name: maybe}
spec: {presence: optional, target: ./nowhere.yaml}
---
apiVersion: backstage.io/v1alpha1
kind: Location
metadata: {name: required-missing}
spec: {target: ./absent.yaml}
",
    );
    write(&base.join("linked/one.yaml"), &component("linked-one", ""));
    write(
        &base.join("linked-folder/deep/catalog-info.yaml"),
        &component("linked-deep", ""),
    );
    let glob = base.join("globbed/*.yaml");
    let server = start(&dir, &[tree.clone(), glob.clone(), single.clone()], &[]);

    let all = all_entities(&server);
    let components: Vec<&str> = all
        .keys()
        .filter_map(|r| r.strip_prefix("component:default/"))
        .collect();
    assert_eq!(
        components,
        [
            "glob-x",
            "glob-y",
            "linked-deep",
            "linked-one",
            "tree-a",
            "tree-c"
        ]
    );

    // One generated location entity per configured location, named after its target.
    let locations = server.get_ok(&format!("{API}/locations"));
    let mut targets: Vec<(String, String)> = locations
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["data"]["target"].as_str().unwrap().to_string(),
                l["data"]["entityRef"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    targets.sort();
    let mut expected: Vec<(String, String)> = [&tree, &glob, &single]
        .iter()
        .map(|t| (t.display().to_string(), generated_location_ref(t)))
        .collect();
    expected.sort();
    assert_eq!(targets, expected);
    for (_, generated) in &expected {
        assert!(all.contains_key(generated), "{generated} is missing");
    }
    assert_eq!(
        annotation(
            &all["component:default/glob-x"],
            "backstage.io/managed-by-origin-location"
        ),
        format!("file:{}", glob.display()).as_str()
    );

    // What a Location entity pulls in hangs under it.
    let ancestry = server.get_ok(&format!(
        "{API}/entities/by-name/component/default/linked-deep/ancestry"
    ));
    assert_eq!(
        ancestry["items"][0]["parentEntityRefs"],
        json!(["location:default/links"])
    );
    assert_eq!(
        ancestry["items"][1]["parentEntityRefs"],
        json!([generated_location_ref(&single)])
    );

    // A missing required target is an error; a missing optional one is not.
    let errors = errors(&server);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["file"], single.display().to_string());
    assert_eq!(errors[0]["entityRef"], "location:default/required-missing");
    assert_eq!(errors[0]["field"], "spec.target");
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("absent.yaml"),
        "{errors:?}"
    );
}

#[test]
fn invalid_documents_are_reported_by_file_document_and_field_without_blocking_siblings() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("catalog");
    let file = root.join("bad/catalog-info.yaml");
    std::fs::write(dir.path().join("outside.txt"), "secret").unwrap();
    let v1 = "apiVersion: backstage.io/v1alpha1";
    let v1beta3 = "apiVersion: scaffolder.backstage.io/v1beta3";
    let documents = [
        component("survivor-a", ""),
        // A YAML syntax error: later documents must still be read.
        format!("{v1}\nkind: Component\nmetadata: [unclosed\n"),
        format!("{v1}\nkind: User\nmetadata: {{name: survivor-b}}\nspec: {{memberOf: []}}\n"),
        format!("{v1}\nkind: Component\nmetadata: {{name: bad-component}}\nspec: {{}}\n"),
        format!(
            "{v1}\nkind: API\nmetadata: {{name: bad-api}}\nspec: {{type: openapi, lifecycle: production, owner: platform}}\n"
        ),
        format!(
            "{v1}\nkind: Resource\nmetadata: {{name: bad-resource}}\nspec: {{type: database}}\n"
        ),
        format!("{v1}\nkind: System\nmetadata: {{name: bad-system}}\nspec: {{}}\n"),
        format!("{v1}\nkind: Domain\nmetadata: {{name: bad-domain}}\nspec: {{}}\n"),
        format!("{v1}\nkind: Group\nmetadata: {{name: bad-group}}\nspec: {{children: platform}}\n"),
        format!("{v1}\nkind: User\nmetadata: {{name: bad-user}}\nspec: {{memberOf: platform}}\n"),
        format!(
            "{v1}\nkind: Template\nmetadata: {{name: old-template}}\nspec: {{type: service, steps: []}}\n"
        ),
        format!(
            "{v1beta3}\nkind: Template\nmetadata: {{name: no-steps}}\nspec: {{type: service}}\n"
        ),
        format!(
            "{v1}\nkind: API\nmetadata: {{name: escaping-api}}\nspec:\n  type: openapi\n  lifecycle: production\n  owner: platform\n  definition: {{$text: ../../outside.txt}}\n"
        ),
        format!(
            "{v1}\nkind: Component\nmetadata: {{name: kindless-dep}}\nspec: {{type: service, lifecycle: production, owner: platform, dependsOn: [legacy]}}\n"
        ),
        // A link that would run script when clicked.
        component(
            "script-link",
            "  links: [{url: 'javascript:alert(1)', title: Docs}]\n",
        ),
        component("survivor-c", ""),
    ];
    write(&file, &documents.join("---\n"));
    let server = start(&dir, std::slice::from_ref(&root), &[]);

    for survivor in [
        "component:default/survivor-a",
        "user:default/survivor-b",
        "component:default/survivor-c",
    ] {
        must(&server, survivor);
    }
    for rejected in [
        "component:default/bad-component",
        "api:default/escaping-api",
        "template:default/old-template",
        "component:default/kindless-dep",
        "component:default/script-link",
    ] {
        assert!(entity(&server, rejected).is_none(), "{rejected} is served");
    }

    let errors = errors(&server);
    for e in &errors {
        assert_eq!(e["file"], file.display().to_string(), "{e}");
        assert!(!e["message"].as_str().unwrap().is_empty(), "{e}");
    }
    // "document entityRef field", "-" where there is none.
    let found: Vec<String> = errors
        .iter()
        .map(|e| {
            format!(
                "{} {} {}",
                e["document"],
                e["entityRef"].as_str().unwrap_or("-"),
                e["field"].as_str().unwrap_or("-")
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            "2 - -",
            "4 component:default/bad-component spec.type",
            "4 component:default/bad-component spec.lifecycle",
            "4 component:default/bad-component spec.owner",
            "5 api:default/bad-api spec.definition",
            "6 resource:default/bad-resource spec.owner",
            "7 system:default/bad-system spec.owner",
            "8 domain:default/bad-domain spec.owner",
            "9 group:default/bad-group spec.type",
            "9 group:default/bad-group spec.children",
            "10 user:default/bad-user spec.memberOf",
            "11 template:default/old-template apiVersion",
            "12 template:default/no-steps spec.steps",
            "13 api:default/escaping-api spec.definition",
            "14 component:default/kindless-dep spec.dependsOn",
            "15 component:default/script-link metadata.links[0].url",
        ],
        "{errors:#?}"
    );
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("invalid YAML at line"),
        "{errors:?}"
    );
    let escaping = &errors[13]["message"].as_str().unwrap();
    assert!(escaping.contains("../../outside.txt"), "{escaping}");
    assert!(!escaping.contains("secret"), "{escaping}");

    // validate-entity applies the same rules without storing anything.
    let valid = json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
        "metadata": {"name": "probe"},
        "spec": {"type": "service", "lifecycle": "production", "owner": "platform"}});
    let (status, body) = server.post(
        &format!("{API}/validate-entity"),
        &json!({"entity": valid, "location": "url:https://example.com/catalog-info.yaml"}),
    );
    assert_eq!(status, 200, "{body}");
    assert!(entity(&server, "component:default/probe").is_none());
    let mut invalid = valid.clone();
    invalid["spec"].as_object_mut().unwrap().remove("owner");
    invalid["metadata"]["name"] = json!("Not A Name");
    let (status, body) = server.post(
        &format!("{API}/validate-entity"),
        &json!({"entity": invalid, "location": "url:https://example.com/catalog-info.yaml"}),
    );
    assert_eq!(status, 400, "{body}");
    let messages: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert!(e["name"].is_string(), "{e}");
            e["message"].as_str().unwrap()
        })
        .collect();
    assert!(
        messages.iter().any(|m| m.contains("metadata.name")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("spec.owner")),
        "{messages:?}"
    );
    let (status, body) = server.post(
        &format!("{API}/validate-entity"),
        &json!({"entity": valid, "location": "no-type-here"}),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"].as_array().unwrap().len(), 1, "{body}");
}

// ---------------------------------------------------------------------------------------
// Relations
// ---------------------------------------------------------------------------------------

/// A named pipe at `path`, as an attacker with write access to a catalog folder could make.
fn fifo(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(made.success());
}

#[test]
fn hostile_files_are_errors_naming_file_and_document_and_never_stall_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("catalog");
    let file = root.join("catalog-info.yaml");
    fifo(&root.join("pipe.yaml"));
    // A catalog file that is itself a pipe, found by the folder scan.
    fifo(&root.join("sub/catalog-info.yaml"));
    // 200 MiB without taking the disk: a sparse file.
    std::fs::File::create(root.join("huge.txt"))
        .unwrap()
        .set_len(200 << 20)
        .unwrap();
    let api = |name: &str, target: &str| {
        format!(
            "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: {name}\nspec:\n  type: openapi\n  lifecycle: production\n  owner: platform\n  definition:\n    $text: {target}\n"
        )
    };
    let documents = [
        component("fine-a", ""),
        api("piped", "./pipe.yaml"),
        api("huge", "./huge.txt"),
        component(
            "bulky",
            &format!("  description: {}\n", "x".repeat(5 << 20)),
        ),
        format!("deep: {}{}\n", "[".repeat(100_000), "]".repeat(100_000)),
        component("garbled", "  description: caf\u{fffd}\n").replace('\u{fffd}', "\u{1}"),
        component("fine-b", "  title: Fine B\n"),
    ];
    // One byte that is not UTF-8, in document 6 only.
    let mut bytes = documents.join("---\n").into_bytes();
    let at = bytes.iter().position(|b| *b == 1).unwrap();
    bytes[at] = 0xff;
    std::fs::write(&file, bytes).unwrap();

    // The server starts although a placeholder and a catalog file are pipes no one writes.
    let server = start(&dir, std::slice::from_ref(&root), &[]);
    must(&server, "component:default/fine-a");
    must(&server, "component:default/fine-b");
    for refused in [
        "api:default/piped",
        "api:default/huge",
        "component:default/bulky",
        "component:default/garbled",
    ] {
        assert!(entity(&server, refused).is_none(), "{refused} is served");
    }
    let found: Vec<String> = errors(&server)
        .iter()
        .map(|e| {
            let file = e["file"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .take(2)
                .collect::<Vec<_>>();
            format!(
                "{}/{} {} {}",
                file[1],
                file[0],
                e["document"],
                e["message"].as_str().unwrap()
            )
        })
        .collect();
    let expected = [
        "catalog/catalog-info.yaml 2 $text './pipe.yaml' is not a regular file (a FIFO)",
        "catalog/catalog-info.yaml 3 $text './huge.txt' is 200.0 MiB; the limit is 3 MiB (what is left of the entity's size limit)",
        "catalog/catalog-info.yaml 4 the entity is 5.0 MiB; the limit is 4 MiB",
        "catalog/catalog-info.yaml 5 YAML nested deeper than 64 levels at line",
        "catalog/catalog-info.yaml 6 not UTF-8 text at line",
        "sub/catalog-info.yaml null is not a regular file (a FIFO)",
    ];
    assert_eq!(found.len(), expected.len(), "{found:#?}");
    for want in expected {
        assert!(
            found.iter().any(|f| f.starts_with(want)),
            "{want} not in {found:#?}"
        );
    }

    // Reconciles are not stuck: a later edit is served.
    let text = std::fs::read(&file).unwrap();
    let edited = String::from_utf8_lossy(&text).replace("Fine B", "Fine B, edited");
    std::fs::write(&file, edited.replace('\u{fffd}', "e")).unwrap();
    eventually("the edit after the hostile files", WATCH_DEADLINE, || {
        let fine = must(&server, "component:default/fine-b");
        (fine["metadata"]["title"] == "Fine B, edited").then_some(())
    });
}

/// The `file` and `message` of each processing error, the file relative to `root`.
fn errors_under(server: &Server, root: &Path) -> Vec<(String, String)> {
    errors(server)
        .iter()
        .map(|e| {
            let file = Path::new(e["file"].as_str().unwrap());
            let file = file.strip_prefix(root).unwrap_or(file);
            (
                file.display().to_string(),
                e["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Location targets, globs and registrations are judged by where they really lead: inside
/// the catalog's folders a link is followed, out of them (or to `/etc/passwd`) it is an
/// error naming the file, and link loops are errors too; nothing outside is read.
#[test]
fn targets_and_links_leading_outside_the_catalogs_folders_are_errors_and_never_read() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().canonicalize().unwrap();
    let root = base.join("catalog");
    write(
        &base.join("outside/catalog-info.yaml"),
        &component("outsider", ""),
    );
    write(
        &base.join("outside/other.yaml"),
        &component("other-outsider", ""),
    );
    write(
        &root.join("real/catalog-info.yaml"),
        &component("linked-in", ""),
    );
    std::os::unix::fs::symlink(root.join("real"), root.join("linked")).unwrap();
    std::os::unix::fs::symlink(base.join("outside"), root.join("escape")).unwrap();
    std::fs::create_dir_all(root.join("loops")).unwrap();
    std::os::unix::fs::symlink("self", root.join("loops/self")).unwrap();
    std::os::unix::fs::symlink(".", root.join("loops/again")).unwrap();
    let file = root.join("catalog-info.yaml");
    write(
        &file,
        &format!(
            "{}---
apiVersion: backstage.io/v1alpha1
kind: Location
metadata:
  name: everywhere
spec:
  targets:
    - /etc/passwd
    - /proc/self/environ
    - ./escape/*.yaml
    - ../outside/catalog-info.yaml
    - ./linked
    - ./loops
",
            component("fine-a", "")
        ),
    );
    let server = start(&dir, std::slice::from_ref(&file), &[]);
    must(&server, "component:default/fine-a");
    must(&server, "component:default/linked-in");
    for outside in [
        "component:default/outsider",
        "component:default/other-outsider",
    ] {
        assert!(entity(&server, outside).is_none(), "{outside} was read");
    }
    let found = errors_under(&server, &root);
    let expect = |file: &str, message: &str| {
        assert!(
            found.iter().any(|(f, m)| f == file && m.contains(message)),
            "no error for {file} saying '{message}' in {found:#?}"
        );
    };
    expect(
        "catalog-info.yaml",
        "/etc/passwd is outside the catalog's folders",
    );
    expect("catalog-info.yaml", "/proc/self/environ leads to");
    expect("catalog-info.yaml", "escape leads to");
    expect(
        "catalog-info.yaml",
        "outside/catalog-info.yaml is outside the catalog's folders",
    );
    expect("loops/self", "symbolic links");
    expect("loops/again", "already reached");
    assert_eq!(found.len(), 6, "{found:#?}");
    assert!(
        !found
            .iter()
            .any(|(_, m)| m.contains("root:") || m.contains("PATH=")),
        "{found:#?}"
    );

    // Registering through the link is refused too, as a file, a folder or a glob.
    for target in [
        root.join("escape/catalog-info.yaml"),
        root.join("escape"),
        root.join("escape/*.yaml"),
    ] {
        let (status, body) = server.post(
            &format!("{API}/locations"),
            &json!({"type": "file", "target": target.display().to_string()}),
        );
        assert_eq!(status, 403, "{target:?}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("leads to"),
            "{body}"
        );
    }
    assert!(entity(&server, "component:default/outsider").is_none());
}

/// Refresh requests are scheduled into the next reconcile rather than each waiting for one:
/// many at once all answer, the file is re-read, and they share few reconciles.
#[test]
fn refresh_requests_share_the_next_reconcile() {
    let dir = tempfile::tempdir().unwrap();
    let org = copy_org(&dir);
    let server = start(&dir, &[org.join("catalog-info.yaml")], &[]);
    let storefront = must(&server, "component:default/storefront");
    let uid = storefront["metadata"]["uid"].as_str().unwrap();
    assert_eq!(
        server.delete(&format!("{API}/entities/by-uid/{uid}")).0,
        204
    );
    let reconciles = || server.log().matches("catalog reconciled").count();
    let before = reconciles();
    let requests = 40;
    std::thread::scope(|scope| {
        let answers: Vec<_> = (0..requests)
            .map(|_| {
                scope.spawn(|| {
                    server.post(
                        &format!("{API}/refresh"),
                        &json!({"entityRef": "component:default/checkout"}),
                    )
                })
            })
            .collect();
        for answer in answers {
            let (status, body) = answer.join().unwrap();
            assert_eq!(status, 200, "{body}");
        }
    });
    let back = eventually("the refreshed file to be re-read", WATCH_DEADLINE, || {
        entity(&server, "component:default/storefront")
    });
    assert_ne!(back["metadata"]["uid"], uid);
    // The reconcile is logged just after its write is visible: wait for the line.
    let shared = eventually("the reconcile logged", WATCH_DEADLINE, || {
        let logged = reconciles() - before;
        (logged > 0).then_some(logged)
    });
    assert!(
        (1..requests / 4).contains(&shared),
        "{shared} reconciles for {requests} refreshes:\n{}",
        server.log()
    );
}

/// What one reconcile reads is bounded (`catalog.readLimitMiB`): past it, files are read by
/// the passes that follow at once, each written on its own, and everything is served; a
/// single file whose placeholders pass the limit gets errors for the documents past it.
#[test]
fn a_reconcile_reads_at_most_its_limit_and_the_rest_follows() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("catalog");
    let description = format!("  description: {}\n", "x".repeat(400 << 10));
    for i in 0..4 {
        write(
            &root.join(format!("part-{i}/catalog-info.yaml")),
            &component(&format!("large-{i}"), &description),
        );
    }
    let config = dir.path().join("greenroom.yaml");
    write(&config, "catalog:\n  readLimitMiB: 1\n");
    let server = start(
        &dir,
        std::slice::from_ref(&root),
        &["--config", config.to_str().unwrap()],
    );
    for i in 0..4 {
        must(&server, &format!("component:default/large-{i}"));
    }
    assert!(errors(&server).is_empty(), "{:#?}", errors(&server));
    assert!(
        server
            .log()
            .contains("catalog reconcile read its limit; reading the rest"),
        "{}",
        server.log()
    );

    // One new file whose 20 placeholders read 200 KiB each: what fits is served, the rest
    // are errors naming file and document, and the server goes on.
    write(&root.join("many/blob.txt"), &"y".repeat(200 << 10));
    let apis: Vec<String> = (0..20)
        .map(|i| {
            format!(
                "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: api-{i}\nspec:\n  type: openapi\n  lifecycle: production\n  owner: platform\n  definition:\n    $text: ./blob.txt\n"
            )
        })
        .collect();
    write(&root.join("many/catalog-info.yaml"), &apis.join("---\n"));
    let failed = eventually("the placeholders past the limit", WATCH_DEADLINE, || {
        let failed: Vec<Value> = errors(&server)
            .into_iter()
            .filter(|e| e["message"].as_str().unwrap().contains("read its limit"))
            .collect();
        (!failed.is_empty()).then_some(failed)
    });
    assert!(failed.len() >= 10, "{failed:#?}");
    for error in &failed {
        assert!(
            error["file"]
                .as_str()
                .unwrap()
                .ends_with("many/catalog-info.yaml")
        );
        assert!(error["document"].as_u64().unwrap() > 0, "{error}");
    }
    must(&server, "api:default/api-0");
    assert!(entity(&server, "api:default/api-19").is_none());
    write(
        &root.join("part-0/catalog-info.yaml"),
        &component("after-limit", ""),
    );
    eventually("an edit after the limit", WATCH_DEADLINE, || {
        entity(&server, "component:default/after-limit")
    });
}

#[test]
fn every_relation_pair_is_emitted_both_ways_across_namespaces() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir, &[fixture_org().join("catalog-info.yaml")], &[]);
    let all = all_entities(&server);

    // Sorted by type, then target; refs default to the entity's namespace and the field's kind.
    assert_eq!(
        relations(&all["component:default/checkout"]),
        [
            ("consumesApi", "api:ops/metrics-api"),
            ("dependencyOf", "component:ops/collector"),
            ("dependsOn", "resource:default/orders-db"),
            ("hasPart", "component:default/checkout-worker"),
            ("ownedBy", "group:default/payments"),
            ("partOf", "system:default/shop"),
            ("providesApi", "api:default/checkout-api"),
        ]
        .map(|(k, t)| (k.to_string(), t.to_string()))
    );
    for (entity_ref, e) in &all {
        let found = relations(e);
        let mut sorted = found.clone();
        sorted.sort();
        assert_eq!(found, sorted, "{entity_ref} relations are not sorted");
    }

    // "source relation target": each spec field gives both directions, and the entity on
    // the far side reports the reverse even though its own file says nothing about it.
    let expected = [
        // spec.owner
        "component:default/checkout ownedBy group:default/payments",
        "group:default/payments ownerOf component:default/checkout",
        "template:ops/new-service ownedBy group:ops/sre",
        "group:ops/sre ownerOf template:ops/new-service",
        // spec.system
        "resource:default/orders-db partOf system:default/shop",
        "system:default/shop hasPart resource:default/orders-db",
        // spec.domain
        "system:default/shop partOf domain:default/commerce",
        "domain:default/commerce hasPart system:default/shop",
        // spec.subcomponentOf
        "component:default/checkout-worker partOf component:default/checkout",
        "component:default/checkout hasPart component:default/checkout-worker",
        // spec.subdomainOf
        "domain:default/payments-domain partOf domain:default/commerce",
        "domain:default/commerce hasPart domain:default/payments-domain",
        // spec.providesApis
        "component:ops/collector providesApi api:ops/metrics-api",
        "api:ops/metrics-api apiProvidedBy component:ops/collector",
        // spec.consumesApis, across namespaces both ways
        "component:default/storefront consumesApi api:default/checkout-api",
        "api:default/checkout-api apiConsumedBy component:default/storefront",
        "component:default/checkout consumesApi api:ops/metrics-api",
        "api:ops/metrics-api apiConsumedBy component:default/checkout",
        // spec.dependsOn (explicit kinds)
        "component:ops/collector dependsOn component:default/checkout",
        "component:default/checkout dependencyOf component:ops/collector",
        // spec.dependencyOf
        "resource:default/orders-db dependencyOf component:default/checkout-worker",
        "component:default/checkout-worker dependsOn resource:default/orders-db",
        // User.memberOf (platform lists no members)
        "user:default/grace memberOf group:default/platform",
        "group:default/platform hasMember user:default/grace",
        // Group.members (grace lists no ops group), across namespaces
        "group:ops/sre hasMember user:default/grace",
        "user:default/grace memberOf group:ops/sre",
        // Group.parent (engineering does not list platform as a child)
        "group:default/platform childOf group:default/engineering",
        "group:default/engineering parentOf group:default/platform",
        // Group.children (payments names no parent)
        "group:default/engineering parentOf group:default/payments",
        "group:default/payments childOf group:default/engineering",
    ];
    for relation in expected {
        let [source, kind, target]: [&str; 3] =
            relation.split(' ').collect::<Vec<_>>().try_into().unwrap();
        assert!(
            has_relation(&all[source], kind, target),
            "{source} lacks {kind} {target}: {:?}",
            relations(&all[source])
        );
    }
    // Both members and memberOf name ada <-> payments; the pair is listed once.
    assert_eq!(
        relations(&all["user:default/ada"]),
        [("memberOf".to_string(), "group:default/payments".to_string())]
    );

    // A relation to an entity that is not in the catalog is kept.
    assert!(!all.contains_key("component:default/legacy-billing"));
    assert!(has_relation(
        &all["component:default/checkout-worker"],
        "dependsOn",
        "component:default/legacy-billing"
    ));

    // Relations are queryable, including ones another entity originated.
    let owned = server.get_ok(&format!(
        "{API}/entities/by-query?filter=relations.ownedBy=group:ops/sre"
    ));
    assert_eq!(
        refs(&owned["items"]),
        [
            "api:ops/metrics-api",
            "component:ops/collector",
            "template:ops/new-service"
        ]
    );
    let members = server.get_ok(&format!(
        "{API}/entities/by-query?filter=kind=group,relations.hasMember=user:default/grace"
    ));
    assert_eq!(
        refs(&members["items"]),
        ["group:default/platform", "group:ops/sre"]
    );
}

// ---------------------------------------------------------------------------------------
// Queries
// ---------------------------------------------------------------------------------------

#[test]
fn get_queries_filter_project_order_search_and_page() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir, &[fixture_org().join("catalog-info.yaml")], &[]);
    let query = |q: &str| server.get_ok(&format!("{API}/entities/by-query?{q}"));
    let refs_of = |q: &str| {
        let page = query(q);
        let found = refs(&page["items"]);
        assert_eq!(page["totalItems"], found.len(), "{q}");
        found
    };

    // Conditions in one filter are ANDed, case-insensitively; repeated filters are ORed.
    assert_eq!(
        refs_of("filter=kind=COMPONENT,spec.lifecycle=Production"),
        [
            "component:default/checkout",
            "component:default/storefront",
            "component:ops/collector"
        ]
    );
    assert_eq!(
        refs_of("filter=kind=api&filter=kind=resource"),
        [
            "api:default/checkout-api",
            "api:ops/metrics-api",
            "resource:default/orders-db"
        ]
    );
    // A key given twice in one filter accepts either value.
    assert_eq!(
        refs_of(
            "filter=kind=component,spec.type=website,spec.type=grpc&filter=kind=api,spec.type=website,spec.type=grpc"
        ),
        ["api:ops/metrics-api", "component:default/storefront"]
    );
    // A key alone tests existence.
    assert_eq!(
        refs_of("filter=spec.subcomponentOf"),
        ["component:default/checkout-worker"]
    );
    assert_eq!(
        refs_of("filter=metadata.namespace=ops"),
        [
            "api:ops/metrics-api",
            "component:ops/collector",
            "group:ops/sre",
            "template:ops/new-service"
        ]
    );
    // Tags: by value, or by the `metadata.tags.<tag>` existence key.
    let java = [
        "component:default/checkout",
        "component:default/checkout-worker",
    ];
    assert_eq!(refs_of("filter=metadata.tags=JAVA"), java);
    assert_eq!(refs_of("filter=metadata.tags.java"), java);
    assert_eq!(
        refs_of("filter=relations.ownedBy=group:default/payments"),
        [
            "api:default/checkout-api",
            "component:default/checkout",
            "component:default/checkout-worker",
            "domain:default/payments-domain"
        ]
    );
    assert_eq!(
        refs_of("filter=kind=component,metadata.tags=rust"),
        Vec::<String>::new()
    );

    // Projection.
    let projected = query("filter=kind=group,metadata.namespace=ops&fields=metadata.name,kind");
    assert_eq!(
        projected["items"],
        json!([{"kind": "Group", "metadata": {"name": "sre"}}])
    );

    // Ordering.
    assert_eq!(
        names(&query("filter=kind=component&orderField=metadata.name,desc")["items"]),
        ["storefront", "collector", "checkout-worker", "checkout"]
    );

    // Full text: the default fields are name, title and description...
    assert_eq!(
        refs_of("fullTextFilterTerm=CUSTOMERS"),
        ["component:default/storefront"]
    );
    assert_eq!(
        refs_of("filter=kind=group&fullTextFilterTerm=team"),
        ["group:default/payments", "group:default/platform"]
    );
    // ...or those named.
    assert_eq!(
        refs_of("fullTextFilterTerm=payments&fullTextFilterFields=metadata.tags"),
        ["component:default/checkout"]
    );

    // Paging by cursor, forwards and back, with totalItems for the whole query.
    let first = query("filter=kind=component&orderField=metadata.name,asc&limit=3");
    assert_eq!(
        names(&first["items"]),
        ["checkout", "checkout-worker", "collector"]
    );
    assert_eq!(first["totalItems"], 4);
    assert!(first["pageInfo"]["prevCursor"].is_null());
    let next = first["pageInfo"]["nextCursor"].as_str().unwrap();
    let second = query(&format!("cursor={next}&limit=3"));
    assert_eq!(names(&second["items"]), ["storefront"]);
    assert_eq!(second["totalItems"], 4);
    assert!(second["pageInfo"]["nextCursor"].is_null());
    let prev = second["pageInfo"]["prevCursor"].as_str().unwrap();
    let back = query(&format!("cursor={prev}&limit=3"));
    assert_eq!(back["items"], first["items"]);

    // The legacy list: a bare array, paged through Link headers when a limit is given.
    let groups = server.get_ok(&format!("{API}/entities?filter=kind=group"));
    assert_eq!(groups.as_array().unwrap().len(), 4);
    let mut seen = Vec::new();
    let mut path = format!("{API}/entities?filter=kind=component&limit=3&fields=metadata.name");
    let mut pages = 0;
    loop {
        let (status, link, body) = server.get_with_header(&path, "link");
        assert_eq!(status, 200, "{body}");
        pages += 1;
        seen.extend(names(&body));
        let Some(link) = link else { break };
        assert!(link.ends_with("; rel=\"next\""), "{link}");
        assert!(link.contains("after="), "{link}");
        path = link[link.find('<').unwrap() + 1..link.find('>').unwrap()].to_string();
        assert!(pages < 5, "the Link header never stops");
    }
    assert_eq!(pages, 2);
    assert_eq!(
        seen,
        ["checkout", "checkout-worker", "storefront", "collector"]
    );

    // Bad parameters are input errors in Backstage's error body.
    for bad in [
        "limit=abc",
        "orderField=kind,up",
        "cursor=garbage",
        "filter=%3Dx",
    ] {
        let (status, body) = server.get(&format!("{API}/entities/by-query?{bad}"));
        assert_error(status, &body, 400, "InputError");
        assert_eq!(body["request"]["method"], "GET");
    }
}

#[test]
fn post_queries_take_predicates_and_facets_count_values() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir, &[fixture_org().join("catalog-info.yaml")], &[]);
    let post = |body: Value| {
        let (status, page) = server.post(&format!("{API}/entities/by-query"), &body);
        assert_eq!(status, 200, "{body} -> {page}");
        page
    };
    let refs_of = |query: Value| {
        let page = post(json!({ "query": query }));
        let found = refs(&page["items"]);
        assert_eq!(page["totalItems"], found.len());
        found
    };

    assert_eq!(
        refs_of(json!({"kind": "Component", "$not": {"metadata.tags": {"$contains": "Java"}}})),
        ["component:default/storefront", "component:ops/collector"]
    );
    assert_eq!(
        refs_of(json!({"$any": [
            {"kind": {"$in": ["API", "resource"]}},
            {"metadata.name": {"$hasPrefix": "CHECKOUT-"}}
        ]})),
        [
            "api:default/checkout-api",
            "api:ops/metrics-api",
            "component:default/checkout-worker",
            "resource:default/orders-db"
        ]
    );
    assert_eq!(
        refs_of(json!({"$all": [
            {"kind": "component"},
            {"spec.subcomponentOf": {"$exists": false}},
            {"spec.consumesApis": {"$exists": true}}
        ]})),
        ["component:default/checkout", "component:default/storefront"]
    );
    assert_eq!(
        refs_of(json!({"relations.dependsOn": "component:default/checkout"})),
        ["component:ops/collector"]
    );

    // Order, projection, full text and cursors in the body.
    let first = post(json!({
        "query": {"kind": "component"},
        "orderBy": [{"field": "metadata.name", "order": "desc"}],
        "fullTextFilter": {"term": "check", "fields": ["metadata.name"]},
        "fields": ["metadata.name"],
        "limit": 1
    }));
    assert_eq!(
        first["items"],
        json!([{"metadata": {"name": "checkout-worker"}}])
    );
    assert_eq!(first["totalItems"], 2);
    let second = post(json!({
        "cursor": first["pageInfo"]["nextCursor"],
        "fields": ["metadata.name"],
        "limit": 1
    }));
    assert_eq!(second["items"], json!([{"metadata": {"name": "checkout"}}]));
    assert!(second["pageInfo"]["nextCursor"].is_null());

    for bad in [
        json!({"query": {"kind": {"$regex": "x"}}}),
        json!({"query": {"$nope": []}}),
        json!({"query": [1]}),
    ] {
        let (status, body) = server.post(&format!("{API}/entities/by-query"), &bad);
        assert_error(status, &body, 400, "InputError");
        assert_eq!(body["request"]["method"], "POST");
    }

    // Facets: value counts over the filtered entities.
    let facets = server.get_ok(&format!(
        "{API}/entity-facets?facet=kind&facet=spec.lifecycle"
    ));
    let counts = |facet: &str| -> BTreeMap<String, u64> {
        facets["facets"][facet]
            .as_array()
            .unwrap_or_else(|| panic!("no {facet} facet: {facets}"))
            .iter()
            .map(|f| {
                (
                    f["value"].as_str().unwrap().to_string(),
                    f["count"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let expected_kinds: BTreeMap<String, u64> = [
        ("API", 2),
        ("Component", 4),
        ("Domain", 2),
        ("Group", 4),
        ("Location", 3),
        ("Resource", 1),
        ("System", 1),
        ("Template", 1),
        ("User", 2),
    ]
    .map(|(k, n)| (k.to_string(), n))
    .into();
    assert_eq!(counts("kind"), expected_kinds);
    assert_eq!(
        counts("spec.lifecycle"),
        [
            ("experimental".to_string(), 1),
            ("production".to_string(), 5)
        ]
        .into()
    );
    let ops = server.get_ok(&format!(
        "{API}/entity-facets?facet=kind&filter=metadata.namespace=ops"
    ));
    assert_eq!(
        ops["facets"]["kind"],
        json!([
            {"value": "API", "count": 1},
            {"value": "Component", "count": 1},
            {"value": "Group", "count": 1},
            {"value": "Template", "count": 1}
        ])
    );
    let (status, body) = server.get(&format!("{API}/entity-facets"));
    assert_error(status, &body, 400, "InputError");
}

#[test]
fn cursors_neither_skip_nor_repeat_entities_while_the_catalog_changes() {
    let dir = tempfile::tempdir().unwrap();
    let org = copy_org(&dir);
    let server = start(&dir, &[org.join("catalog-info.yaml")], &[]);
    let before: BTreeSet<String> = all_entities(&server).into_keys().collect();

    let first = server.get_ok(&format!(
        "{API}/entities/by-query?orderField=metadata.name,asc&limit=3"
    ));
    let mut seen = refs(&first["items"]);
    assert_eq!(
        seen,
        [
            "user:default/ada",
            "component:default/checkout",
            "api:default/checkout-api"
        ]
    );

    // Between pages: remove an entity already seen (ada) and one not seen yet (storefront);
    // add one that sorts before the cursor and one after it.
    remove_document(&org.join("teams/people.yaml"), "ada");
    remove_document(&org.join("services/catalog-info.yaml"), "storefront");
    write(
        &org.join("teams/newcomers.yaml"),
        &format!(
            "{}---\n{}",
            component("aaa-early", ""),
            component("zzz-late", "")
        ),
    );
    eventually("the edits to be read", WATCH_DEADLINE, || {
        let all = all_entities(&server);
        (all.contains_key("component:default/zzz-late")
            && !all.contains_key("user:default/ada")
            && !all.contains_key("component:default/storefront"))
        .then_some(())
    });

    let mut cursor = first["pageInfo"]["nextCursor"]
        .as_str()
        .unwrap()
        .to_string();
    for _ in 0..20 {
        let page = server.get_ok(&format!("{API}/entities/by-query?cursor={cursor}&limit=3"));
        seen.extend(refs(&page["items"]));
        match page["pageInfo"]["nextCursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
    }
    let unique: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "an entity was repeated: {seen:?}");
    let untouched: BTreeSet<String> = before
        .iter()
        .filter(|r| *r != "user:default/ada" && *r != "component:default/storefront")
        .cloned()
        .collect();
    let missed: Vec<&String> = untouched.difference(&unique).collect();
    assert!(missed.is_empty(), "skipped {missed:?}; saw {seen:?}");
    assert!(!unique.contains("component:default/storefront"));
    assert!(!unique.contains("component:default/aaa-early"));
    assert!(unique.contains("component:default/zzz-late"));
}

// ---------------------------------------------------------------------------------------
// Watching, orphans, conflicts, bad edits
// ---------------------------------------------------------------------------------------

#[test]
fn file_changes_show_in_the_api_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let org = copy_org(&dir);
    let server = start(&dir, &[org.join("catalog-info.yaml")], &[]);
    let services = org.join("services/catalog-info.yaml");

    // Edit a catalog file.
    let edited = Instant::now();
    edit(
        &services,
        "title: Checkout Service",
        "title: Checkout Reloaded",
    );
    eventually("the edited title", WATCH_DEADLINE, || {
        (must(&server, "component:default/checkout")["metadata"]["title"] == "Checkout Reloaded")
            .then_some(())
    });
    let latency = edited.elapsed();
    assert!(
        latency <= Duration::from_secs(1),
        "an edit took {latency:?} to show"
    );

    // Edit a file a $text placeholder reads.
    write(&org.join("services/checkout-api.yaml"), "openapi: 3.1.0\n");
    eventually("the new API definition", WATCH_DEADLINE, || {
        (must(&server, "api:default/checkout-api")["spec"]["definition"] == "openapi: 3.1.0\n")
            .then_some(())
    });

    // Remove a document: under the default strategy the entity is deleted, with the
    // relations it originated.
    remove_document(&services, "storefront");
    eventually("storefront to be deleted", WATCH_DEADLINE, || {
        entity(&server, "component:default/storefront")
            .is_none()
            .then_some(())
    });
    assert!(!has_relation(
        &must(&server, "api:default/checkout-api"),
        "apiConsumedBy",
        "component:default/storefront"
    ));

    // Add a file the Location's glob matches, and one in a new sub-folder of a folder target.
    write(
        &org.join("teams/contractors.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata: {name: linus}\nspec: {memberOf: [platform]}\n",
    );
    write(
        &org.join("services/billing/catalog-info.yaml"),
        &component("billing", ""),
    );
    eventually("the added files", WATCH_DEADLINE, || {
        (entity(&server, "user:default/linus").is_some()
            && entity(&server, "component:default/billing").is_some())
        .then_some(())
    });
    assert!(has_relation(
        &must(&server, "group:default/platform"),
        "hasMember",
        "user:default/linus"
    ));

    // Delete a file: its entities go; relations other files state about them stay.
    std::fs::remove_file(org.join("teams/people.yaml")).unwrap();
    eventually("people.yaml's users to go", WATCH_DEADLINE, || {
        (entity(&server, "user:default/ada").is_none()
            && entity(&server, "user:default/grace").is_none())
        .then_some(())
    });
    let payments = must(&server, "group:default/payments");
    assert!(has_relation(&payments, "hasMember", "user:default/ada"));

    // Drop a target from the Location entity: what only it reached goes too.
    edit(&org.join("catalog-info.yaml"), "    - ./ops/ops.yaml\n", "");
    eventually("the ops namespace to go", WATCH_DEADLINE, || {
        let page = server.get_ok(&format!(
            "{API}/entities/by-query?filter=metadata.namespace=ops"
        ));
        (page["totalItems"] == 0).then_some(())
    });
    must(&server, "component:default/checkout");
    assert_eq!(errors(&server), Vec::<Value>::new());
}

#[test]
fn with_orphan_strategy_keep_removed_entities_stay_marked_until_they_return() {
    let dir = tempfile::tempdir().unwrap();
    let org = copy_org(&dir);
    let server = start(
        &dir,
        &[org.join("catalog-info.yaml")],
        &["--orphan-strategy", "keep"],
    );
    let services = org.join("services/catalog-info.yaml");
    let orphan = |e: &Value| annotation(e, "backstage.io/orphan").clone();
    let uid = must(&server, "component:default/storefront")["metadata"]["uid"].clone();
    assert_eq!(
        orphan(&must(&server, "component:default/storefront")),
        Value::Null
    );

    let original = remove_document(&services, "storefront");
    std::fs::remove_file(org.join("teams/people.yaml")).unwrap();
    eventually("storefront and ada to be orphaned", WATCH_DEADLINE, || {
        (orphan(&must(&server, "component:default/storefront")) == "true"
            && orphan(&must(&server, "user:default/ada")) == "true")
            .then_some(())
    });
    assert_eq!(
        orphan(&must(&server, "component:default/checkout")),
        Value::Null
    );
    let orphans = server.get_ok(&format!(
        "{API}/entities/by-query?filter=metadata.annotations.backstage.io/orphan=true"
    ));
    assert_eq!(
        refs(&orphans["items"]),
        [
            "component:default/storefront",
            "user:default/ada",
            "user:default/grace"
        ]
    );

    std::fs::write(&services, original).unwrap();
    eventually("storefront to be adopted again", WATCH_DEADLINE, || {
        let storefront = must(&server, "component:default/storefront");
        (orphan(&storefront) == Value::Null).then_some(())
    });
    let storefront = must(&server, "component:default/storefront");
    assert_eq!(storefront["metadata"]["uid"], uid);
    assert_eq!(
        storefront["metadata"]["annotations"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        [
            "backstage.io/managed-by-location",
            "backstage.io/managed-by-origin-location"
        ]
    );
    assert_eq!(orphan(&must(&server, "user:default/ada")), "true");
}

#[test]
fn the_first_file_keeps_a_duplicate_entity_until_it_lets_go() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("dup");
    let first = root.join("a/catalog-info.yaml");
    let second = root.join("b/catalog-info.yaml");
    write(&first, &component("shared", "  title: From A\n"));
    write(
        &second,
        &format!(
            "{}---\n{}",
            component("only-b", ""),
            component("shared", "  title: From B\n")
        ),
    );
    let server = start(&dir, std::slice::from_ref(&root), &[]);
    let managed_by = |e: &Value| annotation(e, "backstage.io/managed-by-location").clone();

    let shared = must(&server, "component:default/shared");
    assert_eq!(shared["metadata"]["title"], "From A");
    assert_eq!(
        managed_by(&shared),
        format!("file:{}", first.display()).as_str()
    );
    must(&server, "component:default/only-b");
    let errors_now = errors(&server);
    assert_eq!(errors_now.len(), 1, "{errors_now:?}");
    let conflict = &errors_now[0];
    assert_eq!(conflict["file"], second.display().to_string());
    assert_eq!(conflict["document"], 2);
    assert_eq!(conflict["entityRef"], "component:default/shared");
    let message = conflict["message"].as_str().unwrap();
    assert!(message.contains("already defined in"), "{message}");
    assert!(message.contains(&first.display().to_string()), "{message}");

    // The first file drops it: the second takes over and the conflict is gone.
    write(&first, &component("a-rest", ""));
    eventually("b to take shared over", WATCH_DEADLINE, || {
        let shared = entity(&server, "component:default/shared")?;
        (shared["metadata"]["title"] == "From B").then_some(())
    });
    assert_eq!(
        managed_by(&must(&server, "component:default/shared")),
        format!("file:{}", second.display()).as_str()
    );
    must(&server, "component:default/a-rest");
    assert_eq!(errors(&server), Vec::<Value>::new());
}

#[test]
fn a_document_that_becomes_invalid_keeps_its_last_good_version_with_an_error_status() {
    let dir = tempfile::tempdir().unwrap();
    let org = copy_org(&dir);
    let server = start(&dir, &[org.join("catalog-info.yaml")], &[]);
    let services = org.join("services/catalog-info.yaml");
    let good = std::fs::read_to_string(&services).unwrap();
    let worker = "  name: checkout-worker\n  tags: [java]\nspec:\n  type: service\n  lifecycle: experimental\n  owner: payments\n";
    assert!(must(&server, "component:default/checkout-worker")["status"].is_null());

    // Break checkout-worker (owner dropped, description added) and edit a sibling.
    edit(
        &services,
        worker,
        "  name: checkout-worker\n  tags: [java]\n  description: Broken edition.\nspec:\n  type: service\n  lifecycle: experimental\n",
    );
    edit(
        &services,
        "title: Checkout Service",
        "title: Checkout Edited",
    );
    let broken = eventually("checkout-worker's error status", WATCH_DEADLINE, || {
        let e = must(&server, "component:default/checkout-worker");
        e["status"]["items"].is_array().then_some(e)
    });
    assert_eq!(
        must(&server, "component:default/checkout")["metadata"]["title"],
        "Checkout Edited"
    );
    assert_eq!(broken["spec"]["owner"], "payments", "last good version");
    assert!(broken["metadata"]["description"].is_null());
    assert!(has_relation(&broken, "ownedBy", "group:default/payments"));
    let status = &broken["status"]["items"][0];
    assert_eq!(status["type"], "backstage.io/catalog-processing");
    assert_eq!(status["level"], "error");
    assert!(
        status["message"].as_str().unwrap().contains("spec.owner"),
        "{status}"
    );
    let reported = errors(&server);
    assert_eq!(reported.len(), 1, "{reported:?}");
    assert_eq!(
        reported[0]["entityRef"],
        "component:default/checkout-worker"
    );
    assert_eq!(reported[0]["field"], "spec.owner");
    assert_eq!(reported[0]["document"], 2);

    // Fixed: the new version is served and the status is cleared.
    std::fs::write(
        &services,
        good.replacen(
            "  tags: [java]\nspec",
            "  tags: [java]\n  description: Fixed.\nspec",
            1,
        ),
    )
    .unwrap();
    let fixed = eventually("checkout-worker to be fixed", WATCH_DEADLINE, || {
        let e = must(&server, "component:default/checkout-worker");
        (e["metadata"]["description"] == "Fixed.").then_some(e)
    });
    assert!(fixed["status"].is_null(), "{}", fixed["status"]);
    assert_eq!(errors(&server), Vec::<Value>::new());
}

// ---------------------------------------------------------------------------------------
// Write endpoints and persistence
// ---------------------------------------------------------------------------------------

#[test]
fn locations_can_be_registered_dry_run_and_removed_and_entities_refreshed() {
    let dir = tempfile::tempdir().unwrap();
    let org = copy_org(&dir);
    let registered = org.join("registered/catalog-info.yaml");
    write(&registered, &component("registered-svc", ""));
    let outside = dir.path().join("outside/catalog-info.yaml");
    write(&outside, &component("outsider", ""));
    let server = start(&dir, &[org.join("catalog-info.yaml")], &[]);
    let locations = || {
        server
            .get_ok(&format!("{API}/locations"))
            .as_array()
            .unwrap()
            .len()
    };
    let target = registered.display().to_string();
    let generated = generated_location_ref(&registered);

    // Dry run: the entities are listed, nothing is stored.
    let (status, body) = server.post(
        &format!("{API}/locations?dryRun=true"),
        &json!({"type": "file", "target": target}),
    );
    assert_eq!(status, 201, "{body}");
    let listed: BTreeSet<String> = body["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(ref_of)
        .collect();
    assert_eq!(
        listed,
        BTreeSet::from([generated.clone(), "component:default/registered-svc".into()])
    );
    assert_eq!(locations(), 1);
    assert!(entity(&server, "component:default/registered-svc").is_none());
    assert!(entity(&server, &generated).is_none());

    // Register it for real.
    let (status, body) = server.post(
        &format!("{API}/locations"),
        &json!({"type": "file", "target": target}),
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["location"]["type"], "file");
    assert_eq!(body["location"]["target"], target);
    assert_eq!(body["location"]["entityRef"], generated);
    let id = body["location"]["id"].as_str().unwrap().to_string();
    assert_eq!(locations(), 2);
    let svc = must(&server, "component:default/registered-svc");
    assert_eq!(
        annotation(&svc, "backstage.io/managed-by-origin-location"),
        format!("file:{target}").as_str()
    );
    must(&server, &generated);
    assert_eq!(
        server.get_ok(&format!(
            "{API}/locations/by-entity/component/default/registered-svc"
        ))["id"],
        id
    );
    let ancestry = server.get_ok(&format!(
        "{API}/entities/by-name/component/default/registered-svc/ancestry"
    ));
    assert_eq!(ancestry["items"][0]["parentEntityRefs"], json!([generated]));

    // Refused registrations.
    let (status, body) = server.post(
        &format!("{API}/locations"),
        &json!({"type": "file", "target": target}),
    );
    assert_error(status, &body, 409, "ConflictError");
    let (status, body) = server.post(
        &format!("{API}/locations"),
        &json!({"type": "url", "target": "https://example.com/catalog-info.yaml"}),
    );
    assert_error(status, &body, 400, "InputError");
    let (status, body) = server.post(
        &format!("{API}/locations"),
        &json!({"type": "file", "target": outside.display().to_string()}),
    );
    assert_error(status, &body, 403, "NotAllowedError");
    assert!(entity(&server, "component:default/outsider").is_none());
    assert_eq!(locations(), 2);

    // Removing it releases its entities (deleted under the default strategy).
    let (status, _) = server.delete(&format!("{API}/locations/{id}"));
    assert_eq!(status, 204);
    assert!(entity(&server, "component:default/registered-svc").is_none());
    assert!(entity(&server, &generated).is_none());
    assert_eq!(locations(), 1);
    let (status, body) = server.delete(&format!("{API}/locations/{id}"));
    assert_error(status, &body, 404, "NotFoundError");
    let (status, body) = server.get(&format!(
        "{API}/locations/by-entity/component/default/registered-svc"
    ));
    assert_error(status, &body, 404, "NotFoundError");

    // Delete by uid, then a refresh of a sibling re-reads the file and brings it back.
    let storefront = must(&server, "component:default/storefront");
    let uid = storefront["metadata"]["uid"].as_str().unwrap();
    let (status, _) = server.delete(&format!("{API}/entities/by-uid/{uid}"));
    assert_eq!(status, 204);
    assert!(entity(&server, "component:default/storefront").is_none());
    assert_eq!(server.get(&format!("{API}/entities/by-uid/{uid}")).0, 404);
    let (status, body) = server.post(
        &format!("{API}/refresh"),
        &json!({"entityRef": "component:default/checkout"}),
    );
    assert_eq!(status, 200, "{body}");
    // The refresh is scheduled, not waited for.
    let back = eventually("the refresh to re-read the file", WATCH_DEADLINE, || {
        entity(&server, "component:default/storefront")
    });
    assert_ne!(back["metadata"]["uid"], uid);
    assert_eq!(back["spec"], storefront["spec"]);
    let (status, body) = server.post(
        &format!("{API}/refresh"),
        &json!({"entityRef": "component:default/ghost"}),
    );
    assert_error(status, &body, 404, "NotFoundError");
}

#[test]
fn a_restart_keeps_uids_and_reads_only_changed_files() {
    let dir = tempfile::tempdir().unwrap();
    let org = copy_org(&dir);
    let catalogs = [org.join("catalog-info.yaml")];
    // `catalog reconciled ... files_read=N ...` lines of a server's log, as N.
    let files_read = |log: &str| -> Vec<u64> {
        log.lines()
            .filter(|l| l.contains("catalog reconciled"))
            .map(|l| {
                let n = l.split("files_read=").nth(1).expect("files_read is logged");
                n.split_whitespace().next().unwrap().parse().unwrap()
            })
            .collect()
    };
    let uids = |server: &Server| -> BTreeMap<String, Value> {
        all_entities(server)
            .into_iter()
            .map(|(r, e)| (r, e["metadata"]["uid"].clone()))
            .collect()
    };

    let server = start(&dir, &catalogs, &[]);
    assert_eq!(files_read(&server.log()), [5], "{}", server.log());
    let first = uids(&server);
    assert_eq!(first.len(), ORG_REFS.len() + 1);
    let served = all_entities(&server);
    assert!(
        served
            .values()
            .any(|e| !e["relations"].as_array().unwrap().is_empty()),
        "the org has relations"
    );
    drop(server);

    let server = start(&dir, &catalogs, &[]);
    let log = server.log();
    assert!(log.contains("listening on"), "{log}");
    assert!(
        files_read(&log).iter().all(|n| *n == 0),
        "an unchanged restart read files:\n{log}"
    );
    assert_eq!(uids(&server), first);
    // Relations are not stored but derived again from the stored bodies: every entity is
    // served exactly as before, relations included.
    assert_eq!(all_entities(&server), served);
    drop(server);

    // A file edited while the server was down is the only one read on the next start.
    edit(
        &org.join("services/catalog-info.yaml"),
        "title: Checkout Service",
        "title: Checkout While Down",
    );
    let server = start(&dir, &catalogs, &[]);
    assert_eq!(files_read(&server.log()), [1], "{}", server.log());
    assert_eq!(
        must(&server, "component:default/checkout")["metadata"]["title"],
        "Checkout While Down"
    );
    assert_eq!(uids(&server), first);
}

// ---------------------------------------------------------------------------------------
// Regressions for bugs found while writing these tests.
// ---------------------------------------------------------------------------------------

/// `orderField` on a field some entities lack keeps those entities, after the ones that have
/// it whichever the direction, as Backstage's catalog does (a left join on the field, nulls
/// last); cursors page through them both ways.
#[test]
fn ordering_by_a_field_keeps_entities_that_lack_it_last() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir, &[fixture_org().join("catalog-info.yaml")], &[]);
    let query = |q: &str| server.get_ok(&format!("{API}/entities/by-query?{q}"));
    // Only checkout has a title; the rest follow in ref order (collector is in `ops`).
    let everything = ["checkout", "checkout-worker", "storefront", "collector"];
    for direction in ["asc", "desc"] {
        let page = query(&format!(
            "filter=kind=component&orderField=metadata.title,{direction}"
        ));
        assert_eq!(page["totalItems"], 4, "{page}");
        assert_eq!(names(&page["items"]), everything, "{direction}");
    }
    // One at a time to the end, then back from there.
    let mut page = query("filter=kind=component&orderField=metadata.title,desc&limit=1");
    let mut seen = names(&page["items"]);
    while let Some(next) = page["pageInfo"]["nextCursor"].as_str() {
        page = query(&format!("cursor={next}&limit=1"));
        seen.extend(names(&page["items"]));
        assert!(seen.len() <= 4, "{seen:?}");
    }
    assert_eq!(seen, everything);
    let mut back = Vec::new();
    while let Some(prev) = page["pageInfo"]["prevCursor"].as_str() {
        page = query(&format!("cursor={prev}&limit=1"));
        back.extend(names(&page["items"]));
        assert!(back.len() <= 3, "{back:?}");
    }
    assert_eq!(back, ["storefront", "checkout-worker", "checkout"]);
}

/// A configured glob location whose pattern has a wildcard folder
/// (`<dir>/*/catalog-info.yaml`) notices a matching file in a new folder (the watcher once
/// tried to watch the literal `<dir>/*`).
#[test]
fn a_glob_location_notices_matching_files_in_new_folders() {
    let dir = tempfile::tempdir().unwrap();
    let sources = dir.path().join("sources");
    write(
        &sources.join("a/catalog-info.yaml"),
        &component("glob-a", ""),
    );
    let server = start(&dir, &[sources.join("*/catalog-info.yaml")], &[]);
    must(&server, "component:default/glob-a");

    write(
        &sources.join("b/catalog-info.yaml"),
        &component("glob-b", ""),
    );
    eventually("glob-b to be read", WATCH_DEADLINE, || {
        entity(&server, "component:default/glob-b").map(|_| ())
    });
}

/// The watcher must not react to the server's own reads (inotify reports opens): once
/// every reconcile re-triggered the next one. A file with a conflict is re-read on every
/// reconcile, so a loop would fill the log with `catalog reconciled files_read=1` lines.
#[test]
fn an_idle_server_does_not_keep_reconciling() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("dup");
    write(&root.join("a/catalog-info.yaml"), &component("shared", ""));
    write(&root.join("b/catalog-info.yaml"), &component("shared", ""));
    let server = start(&dir, std::slice::from_ref(&root), &[]);
    assert_eq!(errors(&server).len(), 1);
    let reconciles = || server.log().matches("catalog reconciled").count();
    let at_start = reconciles();
    // Nothing changes on disk from here on: allow one more reconcile (e.g. one closing the
    // gap between the first read and the watch), not a stream of them.
    let quiet_until = Instant::now() + Duration::from_secs(1);
    while Instant::now() < quiet_until {
        let now = reconciles();
        assert!(
            now <= at_start + 1,
            "{} reconciles while idle:\n{}",
            now - at_start,
            server.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
