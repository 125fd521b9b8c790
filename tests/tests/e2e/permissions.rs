//! Permissions through the real server: a policy file decides, per caller (users signed in
//! through a trusted proxy, an API token), what the catalog answers — before paging, in
//! totals, cursors, facets, lookups and ancestry — and what may be changed; Backstage's
//! `POST /api/permission/authorize` answers the same; the policy reloads when edited and a
//! broken edit keeps the last good one.

use std::path::Path;
use std::time::Duration;

use greenroom_e2e::{Server, eventually, plugins_folder, start_with_config};
use serde_json::{Value, json};

const CONFIG: &str = concat!(
    greenroom_e2e::proxy_sign_in!(),
    "backend:
  auth:
    externalAccess:
      - type: static
        options: {token: ci-token-12345, subject: ci}
permission:
  enabled: true
  policyFile: policy.yaml
"
);

const POLICY: &str = "defaultRole: viewer
roles:
  admin:
    members: [user:default/root]
    allow: ['*']
  developer:
    members: [group:default/engineering]
    allow:
      - catalog.entity.read
      - catalog.location.read
      - permission: catalog.entity.refresh
        conditions: {rule: IS_ENTITY_OWNER, params: {claims: $ownerRefs}}
      - permission: catalog.entity.delete
        conditions: {rule: IS_ENTITY_OWNER, params: {claims: $ownerRefs}}
  viewer:
    allow:
      - permission: catalog.entity.read
        conditions: {not: {rule: HAS_LABEL, params: {label: secret}}}
  robots:
    members: [service:ci]
    allow: [catalog.entity.read]
";

/// Besides the fixture catalog (ada in payments, under engineering): an admin, a finance
/// user, and a component only some may see.
const MORE: &str = "apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: root}
spec: {memberOf: []}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: bob}
spec: {memberOf: [finance]}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: finance}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: vault
  labels: {secret: 'true'}
spec: {type: service, lifecycle: production, owner: finance}
";

fn call(server: &Server, who: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let who = if who == "ci" {
        "Bearer ci-token-12345"
    } else {
        who
    };
    server.call_as(who, method, path, body.as_ref())
}

fn get(server: &Server, who: &str, path: &str) -> (u16, Value) {
    call(server, who, "GET", path, None)
}

/// Every entity name a caller pages through, one per page, following the cursors.
fn paged_names(server: &Server, who: &str) -> (u64, Vec<String>) {
    let (status, first) = get(server, who, "/api/catalog/entities/by-query?limit=1");
    assert_eq!(status, 200, "{first}");
    let total = first["totalItems"].as_u64().unwrap();
    let mut names = Vec::new();
    let mut page = first;
    loop {
        names.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["metadata"]["name"].as_str().unwrap().to_string()),
        );
        let Some(next) = page["pageInfo"]["nextCursor"].as_str() else {
            break;
        };
        let (status, body) = get(
            server,
            who,
            &format!("/api/catalog/entities/by-query?limit=1&cursor={next}"),
        );
        assert_eq!(status, 200, "{body}");
        page = body;
    }
    (total, names)
}

fn denied(status: u16, body: &Value, who: &str) {
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["name"], "NotAllowedError", "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().starts_with(who),
        "{body}"
    );
}

fn write_policy(dir: &Path, text: &str) {
    // Written beside and renamed into place, as editors save.
    let staged = dir.join(".policy.yaml.new");
    std::fs::write(&staged, text).unwrap();
    std::fs::rename(staged, dir.join("policy.yaml")).unwrap();
}

/// A server configured with [`CONFIG`] and `policy`, on the fixture catalog plus `catalog`
/// (in `tmp/more`), with the named plugins; returns it with that catalog file's folder.
fn serve(
    tmp: &Path,
    policy: &str,
    catalog: &str,
    plugins: &[&str],
) -> (Server, std::path::PathBuf) {
    let more = tmp.join("more");
    std::fs::create_dir(&more).unwrap();
    std::fs::write(more.join("catalog-info.yaml"), catalog).unwrap();
    write_policy(tmp, policy);
    let named: Vec<(&str, Option<String>)> = plugins.iter().map(|p| (*p, None)).collect();
    let plugins = plugins_folder(tmp, &named);
    let server = start_with_config(tmp, std::slice::from_ref(&more), &plugins, CONFIG);
    (server, more)
}

#[test]
fn the_policy_decides_what_each_caller_reads_and_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let (server, more) = serve(tmp.path(), POLICY, MORE, &[]);

    // Reads: bob (a viewer) never meets the labelled component — not in totals, pages,
    // facets, lookups or ancestry; ada (a developer) and the admin see it.
    let (ada_total, ada_names) = paged_names(&server, "ada");
    let (bob_total, bob_names) = paged_names(&server, "bob");
    assert!(ada_names.contains(&"vault".to_string()));
    assert_eq!(ada_total as usize, ada_names.len());
    assert!(!bob_names.contains(&"vault".to_string()), "{bob_names:?}");
    assert_eq!(bob_total as usize, bob_names.len());
    assert_eq!(bob_total + 1, ada_total);
    let vault = "/api/catalog/entities/by-name/component/default/vault";
    let status_of = |who: &str, path: &str| get(&server, who, path).0;
    assert_eq!(status_of("bob", vault), 404);
    assert_eq!(status_of("ada", vault), 200);
    assert_eq!(status_of("bob", &format!("{vault}/ancestry")), 404);
    let (status, listed) = get(
        &server,
        "bob",
        "/api/catalog/entities?filter=kind=component",
    );
    assert_eq!(status, 200);
    assert!(!listed.to_string().contains("\"vault\""), "{listed}");
    let refs = json!({"entityRefs": ["component:default/vault", "component:default/checkout"]});
    let (status, found) = call(
        &server,
        "bob",
        "POST",
        "/api/catalog/entities/by-refs",
        Some(refs),
    );
    assert_eq!(status, 200);
    assert!(found["items"][0].is_null(), "{found}");
    assert_eq!(found["items"][1]["metadata"]["name"], "checkout");
    let facet = "/api/catalog/entity-facets?facet=metadata.labels.secret";
    assert_eq!(
        get(&server, "bob", facet).1["facets"]["metadata.labels.secret"],
        json!([])
    );
    assert_eq!(
        get(&server, "ada", facet).1["facets"]["metadata.labels.secret"],
        json!([{"value": "true", "count": 1}])
    );
    // An API token's subject is a member like anyone: it reads everything, changes nothing.
    assert_eq!(
        get(
            &server,
            "ci",
            "/api/catalog/entities/by-name/component/default/vault"
        )
        .0,
        200
    );

    // Changes: ada refreshes what her teams own, not finance's; bob nothing.
    let refresh = |who: &str, entity: &str| {
        call(
            &server,
            who,
            "POST",
            "/api/catalog/refresh",
            Some(json!({"entityRef": entity})),
        )
    };
    assert_eq!(refresh("ada", "component:default/checkout").0, 200);
    let (status, body) = refresh("ada", "component:default/ledger");
    denied(status, &body, "user:default/ada");
    let (status, body) = refresh("bob", "component:default/checkout");
    denied(status, &body, "user:default/bob");
    let location =
        json!({"type": "file", "target": more.join("catalog-info.yaml").to_str().unwrap()});
    let register = |who: &str| {
        let path = "/api/catalog/locations?dryRun=true";
        call(&server, who, "POST", path, Some(location.clone()))
    };
    let (status, body) = register("ada");
    denied(status, &body, "user:default/ada");
    let (status, body) = register("ci");
    denied(status, &body, "service:ci");
    let (status, body) = register("root");
    assert_eq!(status, 201, "{body}");
    let (status, body) = get(&server, "bob", "/api/catalog/locations");
    denied(status, &body, "user:default/bob");
    assert_eq!(get(&server, "ada", "/api/catalog/locations").0, 200);
    let (status, body) = call(
        &server,
        "ada",
        "POST",
        "/api/plugins/anything/disable",
        None,
    );
    denied(status, &body, "user:default/ada");
    assert_eq!(
        call(
            &server,
            "root",
            "POST",
            "/api/plugins/anything/disable",
            None
        )
        .0,
        404
    );
    let (status, body) = get(&server, "ada", "/api/auth/audit");
    denied(status, &body, "user:default/ada");
    assert_eq!(get(&server, "root", "/api/auth/audit").0, 200);
    let uid = |name: &str| {
        get(
            &server,
            "root",
            &format!("/api/catalog/entities/by-name/component/default/{name}"),
        )
        .1["metadata"]["uid"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (status, body) = call(
        &server,
        "ada",
        "DELETE",
        &format!("/api/catalog/entities/by-uid/{}", uid("ledger")),
        None,
    );
    denied(status, &body, "user:default/ada");
    let (status, _) = call(
        &server,
        "ada",
        "DELETE",
        &format!("/api/catalog/entities/by-uid/{}", uid("web")),
        None,
    );
    assert_eq!(status, 204);
    assert_eq!(
        get(
            &server,
            "ada",
            "/api/catalog/entities/by-name/component/default/web"
        )
        .0,
        404
    );

    // Backstage's authorize: conditions for a resource permission without a resource, and
    // the answer for one with it.
    let read = json!({"type": "resource", "name": "catalog.entity.read", "attributes": {"action": "read"}, "resourceType": "catalog-entity"});
    let asked = json!({"items": [
        {"id": "a", "permission": read},
        {"id": "b", "permission": read, "resourceRef": "component:default/vault"},
        {"id": "c", "permission": read, "resourceRef": "component:default/checkout"},
        {"id": "d", "permission": {"type": "basic", "name": "catalog.location.create", "attributes": {"action": "create"}}},
    ]});
    let (status, answer) = call(
        &server,
        "bob",
        "POST",
        "/api/permission/authorize",
        Some(asked.clone()),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["items"][0],
        json!({"id": "a", "result": "CONDITIONAL", "pluginId": "catalog", "resourceType": "catalog-entity",
            "conditions": {"not": {"rule": "HAS_LABEL", "resourceType": "catalog-entity", "params": {"label": "secret"}}}})
    );
    let results = |answer: &Value| -> Vec<String> {
        answer["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["result"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(results(&answer)[1..], ["DENY", "ALLOW", "DENY"]);
    let (_, answer) = call(
        &server,
        "root",
        "POST",
        "/api/permission/authorize",
        Some(asked),
    );
    assert_eq!(results(&answer), ["ALLOW"; 4]);
    let (status, body) = get(&server, "bob", "/api/permission/policy");
    denied(status, &body, "user:default/bob");

    // Edited: viewers read everything, at once, without a restart.
    write_policy(tmp.path(), &POLICY.replace(
        "      - permission: catalog.entity.read\n        conditions: {not: {rule: HAS_LABEL, params: {label: secret}}}\n",
        "      - catalog.entity.read\n",
    ));
    eventually("bob reads the vault", Duration::from_secs(10), || {
        (get(
            &server,
            "bob",
            "/api/catalog/entities/by-name/component/default/vault",
        )
        .0 == 200)
            .then_some(())
    });
    // A broken edit: the last good policy stays, and the admin is told why.
    write_policy(
        tmp.path(),
        "roles:\n  viewer:\n    allow: [catalog.entity.reed]\n",
    );
    let problem = eventually(
        "the broken policy is reported",
        Duration::from_secs(10),
        || {
            let (_, status) = get(&server, "root", "/api/permission/policy");
            status["problem"].as_str().map(str::to_string)
        },
    );
    assert!(
        problem.contains("roles.viewer.allow[0]") && problem.contains("catalog.entity.reed"),
        "{problem}"
    );
    assert_eq!(
        get(
            &server,
            "bob",
            "/api/catalog/entities/by-name/component/default/vault"
        )
        .0,
        200
    );
    assert_eq!(get(&server, "root", "/api/auth/audit").0, 200);
}

#[test]
fn a_server_does_not_start_on_a_policy_it_cannot_read() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("policy.yaml"),
        "roles:\n  a:\n    members: [bob]\n",
    )
    .unwrap();
    std::fs::write(tmp.path().join("greenroom.yaml"), CONFIG).unwrap();
    let output = std::process::Command::new(greenroom_e2e::greenroom_binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(tmp.path().join("data"))
        .arg("--config")
        .arg(tmp.path().join("greenroom.yaml"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("policy.yaml") && stderr.contains("roles.a.members"),
        "{stderr}"
    );
}

const SCAFFOLDER_POLICY: &str = "defaultRole: viewer
roles:
  admin:
    members: [user:default/root]
    allow: ['*']
  viewer:
    allow:
      - permission: catalog.entity.read
        conditions: {not: {rule: HAS_LABEL, params: {label: secret}}}
      - scaffolder.task.create
      - scaffolder.template.step.read
      - permission: scaffolder.task.read
        conditions: {rule: IS_TASK_OWNER, params: {createdBy: [$currentUser]}}
      - permission: scaffolder.task.cancel
        conditions: {rule: IS_TASK_OWNER, params: {createdBy: [$currentUser]}}
      - permission: scaffolder.template.parameter.read
        conditions: {not: {rule: HAS_TAG, params: {tag: admin}}}
      - permission: scaffolder.action.execute
        conditions: {not: {rule: HAS_ACTION_ID, params: {actionId: 'debug:wait'}}}
";

const TEMPLATES: &str = "apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: tagged}
spec:
  owner: group:default/engineering
  type: service
  parameters:
    - title: Name
      required: [name]
      properties: {name: {type: string}}
    - title: Admin only
      backstage:permissions: {tags: [admin]}
      required: [budget]
      properties: {budget: {type: string}}
  steps:
    - {id: log, action: 'debug:log', input: {message: 'hello ${{ parameters.name }}'}}
---
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: slow}
spec:
  owner: group:default/engineering
  type: service
  parameters: {properties: {}}
  steps:
    - {id: wait, action: 'debug:wait', input: {milliseconds: 1}}
";

/// The scaffolder and docs under a policy: parameter pages by tag, actions by id, tasks
/// read and cancelled only by their creators, docs of unreadable entities not found.
#[test]
fn templates_tasks_and_docs_follow_the_policy() {
    let tmp = tempfile::tempdir().unwrap();
    let catalog = format!("{MORE}---\n{TEMPLATES}");
    let (server, _) = serve(tmp.path(), SCAFFOLDER_POLICY, &catalog, &[]);
    let schema = "/api/scaffolder/v2/templates/default/template/tagged/parameter-schema";
    assert_eq!(
        get(&server, "bob", schema).1["steps"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        get(&server, "root", schema).1["steps"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let create = |who: &str, template: &str, values: Value| {
        call(
            &server,
            who,
            "POST",
            "/api/scaffolder/v2/tasks",
            Some(json!({"templateRef": format!("template:default/{template}"), "values": values})),
        )
    };
    // bob's run is checked against the pages he sees; the admin's against both.
    let (status, body) = create("bob", "tagged", json!({"name": "svc"}));
    assert_eq!(status, 201, "{body}");
    let bobs = body["id"].as_str().unwrap().to_string();
    assert_eq!(create("root", "tagged", json!({"name": "svc"})).0, 400);
    let (status, body) = create("root", "tagged", json!({"name": "svc", "budget": "1"}));
    assert_eq!(status, 201, "{body}");
    let roots = body["id"].as_str().unwrap().to_string();
    let (status, body) = create("bob", "slow", json!({}));
    denied(status, &body, "user:default/bob");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("debug:wait"),
        "{body}"
    );

    // Tasks: bob reads, lists and cancels his own only; the admin all of them.
    let (status, listed) = get(&server, "bob", "/api/scaffolder/v2/tasks");
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["totalTasks"], 1);
    assert_eq!(listed["tasks"][0]["id"], bobs.as_str());
    assert_eq!(
        get(&server, "root", "/api/scaffolder/v2/tasks").1["totalTasks"],
        2
    );
    assert_eq!(
        get(&server, "bob", &format!("/api/scaffolder/v2/tasks/{bobs}")).0,
        200
    );
    assert_eq!(
        get(&server, "bob", &format!("/api/scaffolder/v2/tasks/{roots}")).0,
        404
    );
    assert_eq!(
        get(
            &server,
            "bob",
            &format!("/api/scaffolder/v2/tasks/{roots}/events")
        )
        .0,
        404
    );
    let cancel = format!("/api/scaffolder/v2/tasks/{roots}/cancel");
    assert_eq!(call(&server, "bob", "POST", &cancel, None).0, 404);

    // Docs follow the entity: what bob may not read has no docs for him.
    let metadata = "/api/techdocs/metadata/entity/default/component/vault";
    assert_eq!(get(&server, "bob", metadata).0, 404);
    assert_eq!(get(&server, "root", metadata).0, 200);
}

/// Red Hat Developer Hub's RBAC files become a Greenroom policy that then decides.
#[test]
fn an_rhdh_policy_is_imported_and_decides() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(
        dir.join("rbac-policy.csv"),
        "p, role:default/admins, catalog-entity, read, allow\n\
         p, role:default/admins, catalog.entity.delete, delete, allow\n\
         p, role:default/admins, catalog.location.create, create, allow\n\
         g, group:default/payments, role:default/admins\n\
         g, user:default/bob, role:default/readers\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("conditions.yaml"),
        "result: CONDITIONAL\nroleEntityRef: 'role:default/readers'\npluginId: catalog\nresourceType: catalog-entity\npermissionMapping: [read]\nconditions:\n  rule: IS_ENTITY_OWNER\n  resourceType: catalog-entity\n  params:\n    claims: [$currentUser]\n",
    )
    .unwrap();
    let greenroom = |args: &[&str]| {
        std::process::Command::new(greenroom_e2e::greenroom_binary())
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap()
    };
    let imported = greenroom(&[
        "policy",
        "import",
        "rbac-policy.csv",
        "--conditional",
        "conditions.yaml",
        "--out",
        "policy.yaml",
    ]);
    assert!(imported.status.success(), "{imported:?}");
    std::fs::write(
        dir.join("greenroom.yaml"),
        format!(
            "catalog:\n  locations: [{}]\npermission:\n  enabled: true\n  policyFile: policy.yaml\n",
            greenroom_e2e::fixture_catalog().display()
        ),
    )
    .unwrap();
    let check = |args: &[&str]| {
        let mut all = vec!["policy", "check"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--config", "greenroom.yaml"]);
        let output = greenroom(&all);
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    };
    // ada is in payments, which the CSV makes an admin.
    let (code, out) = check(&["ada", "catalog.location.create"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("admins (member through group:default/payments)"),
        "{out}"
    );
    assert_eq!(
        check(&["ada", "catalog.entity.delete", "component:default/checkout"]).0,
        Some(0)
    );
    // bob reads only what he owns himself: payments' checkout is not his.
    let (code, out) = check(&["bob", "catalog.entity.read", "component:default/checkout"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("does not meet the conditions"), "{out}");
    assert_eq!(check(&["bob", "catalog.location.create"]).0, Some(1));
    // A file RHDH would refuse is refused with its line.
    std::fs::write(
        dir.join("bad.csv"),
        "p, role:default/a, catalog-entity, read, maybe\n",
    )
    .unwrap();
    let bad = greenroom(&["policy", "import", "bad.csv"]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("line 1"),
        "{bad:?}"
    );
}

const PLUGIN_POLICY: &str = "defaultRole: viewer\nroles:\n  admin:\n    members: [user:default/root]\n    allow: ['*']\n  viewer:\n    allow:\n      - permission: catalog.entity.read\n        conditions: {not: {rule: IS_ENTITY_KIND, params: {kinds: [group]}}}\n";

/// A plugin rendering a tab for a user reads the catalog as that user: the ownership plugin
/// looks up the owning group, which bob may not read, so for him it is not there. So does a
/// Python plugin on an instance made ahead, before anyone asked. Which plugins' tabs a user
/// sees is the policy's too.
#[test]
fn a_plugin_sees_only_what_its_viewer_may_read() {
    let tmp = tempfile::tempdir().unwrap();
    let policy = format!("{PLUGIN_POLICY}      - greenroom.plugin.tab.read\n");
    let (server, _) = serve(
        tmp.path(),
        &policy,
        MORE,
        &["ownership", "widgets", "py-follower"],
    );
    eventually("the plugins to load", Duration::from_secs(60), || {
        let (status, list) = get(&server, "root", "/api/plugins");
        let list = list.to_string();
        (status == 200 && list.contains("\"state\":\"loaded\"") && !list.contains("\"loading\""))
            .then_some(())
    });
    let tab = "/api/plugins/ownership/tabs/ownership?entity=component:default/checkout";
    let (status, for_root) = get(&server, "root", tab);
    assert_eq!(status, 200, "{for_root}");
    assert!(for_root.to_string().contains("Kind"), "{for_root}");
    let (status, for_bob) = get(&server, "bob", tab);
    assert_eq!(status, 200, "{for_bob}");
    let text = for_bob.to_string();
    assert!(
        text.contains("The owner group:default/payments is not in the catalog."),
        "{text}"
    );
    // The entity itself must be readable for its tabs to be asked for at all.
    let (status, _) = get(
        &server,
        "bob",
        "/api/plugins/ownership/tabs/ownership?entity=group:default/payments",
    );
    assert_eq!(status, 404);
    let listed = "/api/plugins/tabs?entity=component:default/checkout";
    assert_eq!(
        get(&server, "bob", listed).1["tabs"][0]["pluginId"],
        "ownership"
    );

    // py-follower (Python) has each call's instance made ahead: made for nobody, it takes
    // the view of whoever it then serves, and serves only that call. Instances are made only
    // on idle cores, which a machine running tests in parallel has seldom: a long deadline.
    let owner = "/api/plugins/py-follower/tabs/owner?entity=component:default/checkout";
    let prepared =
        || get(&server, "root", "/api/plugins/py-follower").1["stats"]["prepared"].clone();
    let mut served_ahead = std::collections::BTreeSet::new();
    eventually(
        "root and bob each served on an instance made ahead",
        Duration::from_secs(120),
        || {
            for (who, shown) in [
                ("root", "Payments Team"),
                ("bob", "group:default/payments is missing"),
            ] {
                let before = prepared();
                let (status, tab) = get(&server, who, owner);
                assert_eq!(status, 200, "{tab}");
                assert_eq!(
                    tab["tree"]["pairs"],
                    json!([["owner", shown], ["calls", "1"]]),
                    "for {who}"
                );
                if prepared() != before {
                    served_ahead.insert(who);
                }
            }
            (served_ahead.len() == 2).then_some(())
        },
    );

    // What the widgets plugin adds to search (its board, about no entity) is found by
    // whoever may see the plugin.
    let board = "/api/search/query?term=counters%20board";
    let found = |who: &str| get(&server, who, board).1["numberOfResults"].clone();
    eventually("bob finds the board", Duration::from_secs(10), || {
        (found("bob") == 1).then_some(())
    });

    // The ownership, widgets and py-follower plugins taken from viewers: tabs not listed,
    // not rendered; documents and types not found.
    write_policy(
        tmp.path(),
        &format!(
            "{PLUGIN_POLICY}      - permission: greenroom.plugin.tab.read\n        conditions: {{not: {{anyOf: [{{rule: HAS_PLUGIN_ID, params: {{pluginId: ownership}}}}, {{rule: HAS_PLUGIN_ID, params: {{pluginId: widgets}}}}, {{rule: HAS_PLUGIN_ID, params: {{pluginId: py-follower}}}}]}}}}\n"
        ),
    );
    eventually(
        "bob loses the ownership tab",
        Duration::from_secs(10),
        || (get(&server, "bob", listed).1["tabs"] == json!([])).then_some(()),
    );
    let (status, body) = get(&server, "bob", tab);
    denied(status, &body, "user:default/bob");
    assert_eq!(get(&server, "root", tab).0, 200);
    assert_eq!(found("bob"), 0);
    assert_eq!(found("root"), 1);
    let types = |who: &str| get(&server, who, "/api/search/types").1.to_string();
    assert!(!types("bob").contains("widget-board"), "{}", types("bob"));
    assert!(types("root").contains("widget-board"), "{}", types("root"));
    let (status, _) = get(&server, "bob", "/api/search/query?types[]=widget-board");
    assert_eq!(status, 400, "a type bob may not see is not there for him");
}

/// Every endpoint a policy guards, as a caller with no grant but reading (bob, a viewer)
/// and as one with every grant (root): the viewer is refused (403, or 404 where what he may
/// not read is hidden), the admin passes the check (whatever the endpoint then answers).
#[test]
fn every_guarded_endpoint_refuses_a_viewer_and_lets_an_admin_through() {
    let tmp = tempfile::tempdir().unwrap();
    let (server, more) = serve(
        tmp.path(),
        "defaultRole: viewer\nroles:\n  admin:\n    members: [user:default/root]\n    allow: ['*']\n  viewer:\n    allow: [catalog.entity.read]\n",
        &format!("{MORE}---\n{TEMPLATES}"),
        &[],
    );
    let location =
        json!({"type": "file", "target": more.join("catalog-info.yaml").to_str().unwrap()});
    let uid = get(
        &server,
        "root",
        "/api/catalog/entities/by-name/component/default/web",
    )
    .1["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_string();
    let run =
        json!({"templateRef": "template:default/tagged", "values": {"name": "x", "budget": "1"}});
    let (_, task) = call(
        &server,
        "root",
        "POST",
        "/api/scaffolder/v2/tasks",
        Some(run.clone()),
    );
    let task = task["id"].as_str().unwrap().to_string();
    let endpoints: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", "/api/catalog/locations".into(), None),
        (
            "POST",
            "/api/catalog/locations?dryRun=true".into(),
            Some(location),
        ),
        (
            "DELETE",
            "/api/catalog/locations/no-such-location".into(),
            None,
        ),
        (
            "POST",
            "/api/catalog/refresh".into(),
            Some(json!({"entityRef": "component:default/web"})),
        ),
        (
            "DELETE",
            format!("/api/catalog/entities/by-uid/{uid}"),
            None,
        ),
        ("GET", "/api/catalog/errors".into(), None),
        ("POST", "/api/plugins".into(), Some(json!({}))),
        ("DELETE", "/api/plugins/anything".into(), None),
        ("POST", "/api/plugins/anything/enable".into(), None),
        (
            "POST",
            "/api/plugins/anything/actions/act".into(),
            Some(json!({"input": {}})),
        ),
        ("GET", "/api/scaffolder/v2/tasks".into(), None),
        ("POST", "/api/scaffolder/v2/tasks".into(), Some(run)),
        ("GET", format!("/api/scaffolder/v2/tasks/{task}"), None),
        (
            "POST",
            format!("/api/scaffolder/v2/tasks/{task}/cancel"),
            None,
        ),
        (
            "POST",
            format!("/api/scaffolder/v2/tasks/{task}/retry"),
            None,
        ),
        ("GET", "/api/auth/audit".into(), None),
        ("GET", "/api/permission/policy".into(), None),
    ];
    for (method, path, body) in &endpoints {
        let (status, answer) = call(&server, "bob", method, path, body.clone());
        assert!(
            status == 403 || status == 404,
            "bob {method} {path}: {status} {answer}"
        );
        if status == 403 {
            assert_eq!(answer["error"]["name"], "NotAllowedError", "{answer}");
        }
        let (status, answer) = call(&server, "root", method, path, body.clone());
        assert!(
            status != 403 && status != 401 && status < 500,
            "root {method} {path}: {status} {answer}"
        );
    }
}
