//! Software Templates through the real server: Backstage's scaffolder API, tasks that publish
//! real git repositories (read back with the `git` command) and register them in the
//! catalog, secrets that never reach disk or responses, cancel, retry, recovery after a
//! `kill -9`, dry runs, and hostile templates contained.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use base64::Engine;
use greenroom_e2e::{Server, eventually};
use serde_json::{Value, json};

const TASK_DEADLINE: Duration = Duration::from_secs(60);

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A template file `<dir>/template.yaml` with these parameters, steps and output (YAML).
fn template(dir: &Path, name: &str, body: &str) -> PathBuf {
    let file = dir.join(name).join("template.yaml");
    write(
        &file,
        &format!(
            "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata:\n  name: {name}\n  title: The {name} template\n  tags: [test]\nspec:\n  owner: group:default/engineering\n  type: service\n{body}"
        ),
    );
    file
}

fn start(dir: &Path, templates: &[PathBuf], data: &str) -> Server {
    let plugins = dir.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    let mut catalogs = vec![greenroom_e2e::fixture_catalog()];
    catalogs.extend(templates.iter().cloned());
    Server::start(&catalogs, &plugins, &dir.join(data))
}

fn create(server: &Server, template: &str, values: Value, secrets: Value) -> String {
    let (status, body) = server.post(
        "/api/scaffolder/v2/tasks",
        &json!({"templateRef": format!("template:default/{template}"), "values": values, "secrets": secrets}),
    );
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_string()
}

/// Waits until the task has ended; returns it.
fn ended(server: &Server, id: &str) -> Value {
    eventually("the task to end", TASK_DEADLINE, || {
        let task = server.get_ok(&format!("/api/scaffolder/v2/tasks/{id}"));
        (!["open", "processing"].contains(&task["status"].as_str().unwrap())).then_some(task)
    })
}

fn events(server: &Server, id: &str) -> Vec<Value> {
    server
        .get_ok(&format!("/api/scaffolder/v2/tasks/{id}/events"))
        .as_array()
        .unwrap()
        .clone()
}

/// The status each step reached last, from the log events.
fn step_statuses(events: &[Value]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for event in events {
        let body = &event["body"];
        if let (Some(step), Some(status)) = (body["stepId"].as_str(), body["status"].as_str()) {
            match out.iter_mut().find(|(s, _)| s == step) {
                Some(entry) => entry.1 = status.into(),
                None => out.push((step.into(), status.into())),
            }
        }
    }
    out
}

fn git(args: &[&str], dir: &Path) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

const SERVICE: &str = r#"  parameters:
    - title: Basics
      required: [name, owner]
      properties:
        name: {type: string, pattern: "^[a-z0-9-]+$", ui:field: EntityNamePicker}
        owner: {type: string, ui:field: OwnerPicker}
    - title: More
      properties:
        port: {type: integer}
        tags: {type: array, items: {type: string}}
  steps:
    - id: fetch-base
      name: Fetch
      action: fetch:template
      input:
        url: ./skeleton
        copyWithoutTemplating: [raw]
        values:
          name: ${{ parameters.name }}
          owner: ${{ parameters.owner }}
          port: ${{ parameters.port }}
          tags: ${{ parameters.tags }}
          skipped: ""
    - id: skip-me
      if: ${{ parameters.port > 9000 }}
      action: debug:log
      input: {message: never}
    - id: publish
      action: publish:git
      input:
        repoUrl: local?owner=${{ parameters.owner | parseEntityRef | pick('name') }}&repo=${{ parameters.name }}
        gitAuthorName: Test Bot
        gitCommitMessage: Create ${{ parameters.name }}
    - id: register
      action: catalog:register
      input:
        repoContentsUrl: ${{ steps['publish'].output.repoContentsUrl }}
  output:
    links:
      - {title: Repository, url: "https://git.example.com/${{ parameters.name }}"}
      - {title: Evil, url: "javascript:alert(1)"}
      - {title: Open in catalog, entityRef: "${{ steps['register'].output.entityRef }}"}
    text:
      - {title: Clone, content: "git clone ${{ steps.publish.output.remoteUrl }}"}
    port: ${{ parameters.port }}
"#;

fn service_template(dir: &Path) -> PathBuf {
    let file = template(dir, "service", SERVICE);
    let skeleton = file.parent().unwrap().join("skeleton");
    write(
        &skeleton.join("catalog-info.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${{ values.name }}\n{%- if values.tags %}\n  tags:\n{%- for t in values.tags %}\n    - ${{ t }}\n{%- endfor %}\n{%- endif %}\nspec:\n  type: service\n  lifecycle: experimental\n  owner: ${{ values.owner }}\n",
    );
    write(
        &skeleton.join("src/${{ values.name }}.rs"),
        "// port ${{ values.port }}\n",
    );
    write(&skeleton.join("${{ values.skipped }}"), "skipped file\n");
    write(&skeleton.join("raw/keep.txt"), "${{ values.name }} stays\n");
    std::fs::write(skeleton.join("logo.bin"), b"\x00\x01${{ values.name }}\xff").unwrap();
    file
}

#[test]
fn a_template_runs_into_a_git_repository_and_the_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let file = service_template(dir.path());
    let server = start(dir.path(), &[file], "data");

    let schema =
        server.get_ok("/api/scaffolder/v2/templates/default/template/service/parameter-schema");
    assert_eq!(schema["title"], "The service template");
    assert_eq!(schema["steps"].as_array().unwrap().len(), 2);
    assert_eq!(schema["steps"][0]["title"], "Basics");
    assert_eq!(
        schema["steps"][0]["schema"]["properties"]["name"]["ui:field"],
        "EntityNamePicker"
    );
    let (status, _) =
        server.get("/api/scaffolder/v2/templates/default/template/nope/parameter-schema");
    assert_eq!(status, 404);

    // Values are checked before anything runs, in Backstage's errors[] shape.
    let (status, body) = server.post(
        "/api/scaffolder/v2/tasks",
        &json!({"templateRef": "template:default/service", "values": {"name": "Bad Name"}}),
    );
    assert_eq!(status, 400, "{body}");
    let messages: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert!(
        messages.contains(&"requires property \"owner\""),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("does not match pattern")),
        "{messages:?}"
    );
    let (_, page) = server.post(
        "/api/scaffolder/v2/templates/default/template/service/validate",
        &json!({"values": {"name": "ok"}, "step": 0}),
    );
    assert_eq!(
        page["errors"],
        json!([{"path": ["owner"], "message": "requires property \"owner\""}])
    );

    let id = create(
        &server,
        "service",
        json!({"name": "payments-api", "owner": "group:default/payments", "port": 8080, "tags": ["rust", "http"]}),
        json!({}),
    );
    let task = ended(&server, &id);
    assert_eq!(
        task["status"],
        "completed",
        "{:#}",
        json!(events(&server, &id))
    );
    assert_eq!(task["createdBy"], "user:default/guest");
    assert_eq!(
        task["spec"]["templateInfo"]["entityRef"],
        "template:default/service"
    );
    assert_eq!(task["spec"]["steps"][1]["id"], "skip-me");
    let log = events(&server, &id);
    assert_eq!(
        step_statuses(&log),
        [
            ("fetch-base", "completed"),
            ("skip-me", "skipped"),
            ("publish", "completed"),
            ("register", "completed")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let completion = log.last().unwrap();
    assert_eq!(completion["type"], "completion");
    let output = &completion["body"]["output"];
    assert_eq!(
        output["port"], 8080,
        "a one-expression value keeps its type"
    );
    let titles: Vec<&str> = output["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        ["Repository", "Open in catalog"],
        "the javascript: link is dropped"
    );
    assert_eq!(
        output["links"][1]["entityRef"],
        "component:default/payments-api"
    );

    // The repository is real: clone it with git and read what the template produced.
    let remote = output["text"][0]["content"]
        .as_str()
        .unwrap()
        .strip_prefix("git clone ")
        .unwrap()
        .to_string();
    let clone = dir.path().join("clone");
    git(&["clone", &remote, clone.to_str().unwrap()], dir.path());
    let catalog_info = std::fs::read_to_string(clone.join("catalog-info.yaml")).unwrap();
    assert!(
        catalog_info.contains("name: payments-api\n  tags:\n    - rust\n    - http\n"),
        "{catalog_info}"
    );
    assert_eq!(
        std::fs::read_to_string(clone.join("src/payments-api.rs")).unwrap(),
        "// port 8080\n"
    );
    assert_eq!(
        std::fs::read_to_string(clone.join("raw/keep.txt")).unwrap(),
        "${{ values.name }} stays\n"
    );
    assert_eq!(
        std::fs::read(clone.join("logo.bin")).unwrap(),
        b"\x00\x01${{ values.name }}\xff"
    );
    let listed = git(&["ls-files"], &clone);
    assert!(
        !listed.lines().any(|l| l.contains("skipped")),
        "an empty rendered name skips the file: {listed}"
    );
    assert_eq!(
        git(&["log", "--format=%an|%s"], &clone).trim(),
        "Test Bot|Create payments-api"
    );
    assert_eq!(
        git(&["rev-parse", "--abbrev-ref", "HEAD"], &clone).trim(),
        "main"
    );

    // Registered: the catalog has the new component.
    let entity = server.get_ok("/api/catalog/entities/by-name/component/default/payments-api");
    assert_eq!(entity["spec"]["owner"], "group:default/payments");

    // Listed for its creator, newest first; the event stream replays and ends.
    let mine = server.get_ok(
        "/api/scaffolder/v2/tasks?createdBy=user:default/guest&order=desc:createdAt&limit=5",
    );
    assert_eq!(mine["totalTasks"], 1);
    assert_eq!(mine["tasks"][0]["id"], id.as_str());
    let (status, _, stream) =
        server.get_bytes(&format!("/api/scaffolder/v2/tasks/{id}/eventstream"));
    assert_eq!(status, 200);
    let stream = String::from_utf8(stream).unwrap();
    assert!(stream.starts_with("event: log\ndata: {"), "{stream}");
    assert!(
        stream.ends_with("\n\n") && stream.contains("event: completion\n"),
        "{stream}"
    );
    let last = stream.trim_end().lines().last().unwrap();
    assert!(
        last.starts_with("data: {") && last.contains("\"type\":\"completion\""),
        "{last}"
    );
    let after = log[log.len() - 2]["id"].as_i64().unwrap();
    let (_, _, tail) = server.get_bytes(&format!(
        "/api/scaffolder/v2/tasks/{id}/eventstream?after={after}"
    ));
    assert_eq!(
        String::from_utf8(tail).unwrap().matches("event: ").count(),
        1
    );

    // A second task for the same repository fails: the repository exists.
    let again = create(
        &server,
        "service",
        json!({"name": "payments-api", "owner": "group:default/payments"}),
        json!({}),
    );
    let task = ended(&server, &again);
    assert_eq!(task["status"], "failed");
    let failure = events(&server, &again).last().unwrap()["body"]["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(failure.contains("already exists"), "{failure}");
}

#[test]
fn unknown_actions_and_bad_inputs_are_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let unknown = template(
        dir.path(),
        "unknown",
        "  steps:\n    - id: a\n      action: nope:nothing\n",
    );
    let invalid = template(
        dir.path(),
        "invalid",
        "  steps:\n    - id: wait\n      action: debug:wait\n      input: {seconds: \"${{ parameters.name }}\"}\n",
    );
    let server = start(dir.path(), &[unknown, invalid], "data");
    let (status, body) = server.post(
        "/api/scaffolder/v2/tasks",
        &json!({"templateRef": "template:default/unknown", "values": {}}),
    );
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("'nope:nothing' is not registered"),
        "{body}"
    );
    let (status, body) = server.post(
        "/api/scaffolder/v2/tasks",
        &json!({"templateRef": "template:default/invalid", "values": {"name": "x"}}),
    );
    assert_eq!(status, 400);
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("step 'wait'")
            && message.contains("Invalid input passed to action debug:wait"),
        "{message}"
    );
    let tasks = server.get_ok("/api/scaffolder/v2/tasks");
    assert_eq!(tasks["totalTasks"], 0, "nothing was stored");
    let actions = server.get_ok("/api/scaffolder/v2/actions");
    let ids: Vec<&str> = actions
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    for id in [
        "fetch:plain",
        "fetch:template",
        "fs:rename",
        "catalog:register",
        "publish:git",
        "debug:wait",
    ] {
        assert!(ids.contains(&id), "{id} in {ids:?}");
    }
    assert!(actions[0]["schema"]["input"].is_object());
    let extensions = server.get_ok("/api/scaffolder/v2/templating-extensions");
    for filter in ["parseRepoUrl", "parseEntityRef", "pick", "projectSlug"] {
        assert!(
            extensions["filters"][filter].is_object(),
            "{filter}: {extensions}"
        );
    }
}

#[test]
fn secrets_reach_steps_but_never_disk_logs_or_responses() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "hunter2-Sup3r/Secret";
    let file = template(
        dir.path(),
        "secretive",
        r#"  parameters:
    properties:
      token: {type: string, ui:field: Secret}
  steps:
    - id: use
      action: debug:log
      input:
        message: "token=${{ secrets.token }} b64=${{ secrets.token | dump }}"
    - id: fail
      action: fs:rename
      input:
        files: [{from: "${{ secrets.token }}", to: x}]
  output:
    text: [{title: t, content: "${{ secrets.token }}"}]
"#,
    );
    let data = dir.path().join("data");
    let server = start(dir.path(), &[file], "data");
    let id = create(&server, "secretive", json!({}), json!({"token": secret}));
    let task = ended(&server, &id);
    assert_eq!(task["status"], "failed");
    let log = serde_json::to_string(&events(&server, &id)).unwrap();
    assert!(
        log.contains("token=***"),
        "the step saw the secret, the log shows a mask: {log}"
    );
    let encoded = base64::engine::general_purpose::STANDARD.encode(secret);
    for leak in [secret, encoded.as_str(), "hunter2-Sup3r%2FSecret"] {
        assert!(!log.contains(leak), "{leak} in {log}");
        assert!(!task.to_string().contains(leak));
        assert!(!server.log().contains(leak), "{leak} in the server log");
    }
    drop(server);
    // Nothing under the data folder holds it, in any file.
    let mut stack = vec![data];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(folder).unwrap().flatten() {
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                let bytes = std::fs::read(entry.path()).unwrap();
                assert!(
                    !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                    "{:?}",
                    entry.path()
                );
            }
        }
    }
}

#[test]
fn tasks_cancel_retry_from_the_failed_step_and_resume_after_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let slow = template(
        dir.path(),
        "slow",
        "  steps:\n    - id: first\n      action: debug:log\n      input: {message: one}\n    - id: wait\n      action: debug:wait\n      input: {seconds: 600}\n",
    );
    let late = template(
        dir.path(),
        "late",
        "  steps:\n    - id: first\n      action: fetch:plain:file\n      input: {url: ./a.txt, targetPath: a.txt}\n    - id: second\n      action: fetch:plain:file\n      input: {url: ./late.txt, targetPath: late.txt}\n    - id: third\n      action: debug:log\n      input: {message: done, listWorkspace: true}\n",
    );
    write(&late.parent().unwrap().join("a.txt"), "a");
    let resumable = template(
        dir.path(),
        "resumable",
        "  steps:\n    - id: first\n      action: debug:log\n      input: {message: one}\n    - id: wait\n      action: debug:wait\n      input: {seconds: 4}\n    - id: last\n      action: debug:log\n      input: {message: two}\n",
    );
    let templates = [slow, late.clone(), resumable];
    let server = start(dir.path(), &templates, "data");

    // Cancel stops the running action at once, not after its 600 s.
    let id = create(&server, "slow", json!({}), json!({}));
    eventually("the wait to start", TASK_DEADLINE, || {
        step_statuses(&events(&server, &id))
            .contains(&("wait".into(), "processing".into()))
            .then_some(())
    });
    // A long poll for what comes next answers when the cancel happens.
    let last = events(&server, &id).last().unwrap()["id"].as_i64().unwrap();
    let poll = {
        let url = format!(
            "{}/api/scaffolder/v2/tasks/{id}/events?after={last}",
            server.base_url
        );
        std::thread::spawn(move || {
            let mut response = ureq::get(&url).call().unwrap();
            serde_json::from_str::<Value>(&response.body_mut().read_to_string().unwrap()).unwrap()
        })
    };
    let (status, _) = server.post(&format!("/api/scaffolder/v2/tasks/{id}/cancel"), &json!({}));
    assert_eq!(status, 200);
    assert_eq!(ended(&server, &id)["status"], "cancelled");
    let polled = poll.join().unwrap();
    assert!(
        polled
            .as_array()
            .is_some_and(|e| !e.is_empty() && e.iter().all(|e| e["id"].as_i64() > Some(last))),
        "{polled}"
    );
    let log = events(&server, &id);
    assert!(log.iter().any(|e| e["type"] == "cancelled"));
    assert_eq!(
        step_statuses(&log).last().unwrap(),
        &("wait".to_string(), "cancelled".to_string())
    );

    // A failed task is retried from the step that failed, with the workspace it had.
    let id = create(&server, "late", json!({}), json!({}));
    assert_eq!(ended(&server, &id)["status"], "failed");
    write(&late.parent().unwrap().join("late.txt"), "late");
    let (status, _) = server.post(&format!("/api/scaffolder/v2/tasks/{id}/retry"), &json!({}));
    assert_eq!(status, 201);
    assert_eq!(ended(&server, &id)["status"], "completed");
    let log = events(&server, &id);
    let begun = |step: &str| {
        log.iter()
            .filter(|e| e["body"]["stepId"] == step && e["body"]["status"] == "processing")
            .count()
    };
    assert_eq!((begun("first"), begun("second"), begun("third")), (1, 2, 1));
    let listing = log
        .iter()
        .find_map(|e| {
            e["body"]["message"]
                .as_str()
                .filter(|m| m.starts_with("Workspace:"))
        })
        .unwrap();
    assert!(
        listing.contains("a.txt") && listing.contains("late.txt"),
        "{listing}"
    );
    let (status, _) = server.post(&format!("/api/scaffolder/v2/tasks/{id}/retry"), &json!({}));
    assert_eq!(status, 409, "a completed task is not retried");

    // kill -9 mid-task: on restart it resumes from its last completed step.
    let id = create(&server, "resumable", json!({}), json!({}));
    eventually("the wait to start", TASK_DEADLINE, || {
        step_statuses(&events(&server, &id))
            .contains(&("wait".into(), "processing".into()))
            .then_some(())
    });
    drop(server); // SIGKILL
    let server = start(dir.path(), &templates, "data");
    let task = ended(&server, &id);
    assert_eq!(task["status"], "completed");
    let log = events(&server, &id);
    assert!(log.iter().any(|e| e["type"] == "recovered"), "{log:#?}");
    let begun = |step: &str| {
        log.iter()
            .filter(|e| e["body"]["stepId"] == step && e["body"]["status"] == "processing")
            .count()
    };
    assert_eq!((begun("first"), begun("wait"), begun("last")), (1, 2, 1));
    let tasks = server.get_ok("/api/scaffolder/v2/tasks?status=processing");
    assert_eq!(tasks["totalTasks"], 0, "no task is left processing");
}

#[test]
fn hostile_templates_and_dry_runs_stay_inside_their_folders() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret.txt"), "outside secret").unwrap();
    // Each hostile step, and what its task's failure must say.
    let steps = [
        (
            "target",
            "fetch:plain:file",
            "{url: ./a.txt, targetPath: ../../escape.txt}",
            "must be a relative path inside the workspace",
        ),
        (
            "fetch-up",
            "fetch:plain",
            "{url: ../../outside}",
            "outside the template's folder",
        ),
        (
            "remote",
            "fetch:plain",
            "{url: 'https://example.com/skeleton'}",
            "does not list 'example.com'",
        ),
        (
            "name",
            "fetch:template",
            "{url: ./named, values: {evil: ../../escaped}}",
            "'../../escaped.txt' must be a relative path",
        ),
        (
            "link",
            "fetch:plain",
            "{url: ./linked}",
            "a symbolic link leading outside the template's folder",
        ),
        (
            "delete",
            "fs:delete",
            "{files: [../outside/secret.txt]}",
            "must be a relative path inside the workspace",
        ),
        (
            "rename",
            "fs:rename",
            "{files: [{from: a.txt, to: /tmp/greenroom-escape}]}",
            "must be a relative path inside the workspace",
        ),
        ("bomb", "fetch:template", "{url: ./bomb}", "ran out of fuel"),
        (
            "memory",
            "fetch:template",
            "{url: ./membomb}",
            "more than the 128 MiB",
        ),
        (
            "huge",
            "fetch:plain:file",
            "{url: ./huge.bin, targetPath: huge.bin}",
            "huge.bin",
        ),
        (
            "many",
            "fetch:plain",
            "{url: ./eleven, targetPath: \"d${{ each.value }}\"}\n      each: \"${{ range(1000) | list }}\"",
            "more files than it may",
        ),
        (
            "each",
            "debug:log",
            "{message: x}\n      each: \"${{ range(1001) | list }}\"",
            "more than the 1000",
        ),
        (
            "slow",
            "debug:wait",
            "{seconds: 60}",
            "ran longer than its 15 s limit",
        ),
    ];
    let mut files = Vec::new();
    for (name, action, input, _) in steps {
        let file = template(
            dir.path(),
            &format!("hostile-{name}"),
            &format!("  steps:\n    - id: s\n      action: {action}\n      input: {input}\n"),
        );
        let folder = file.parent().unwrap();
        write(&folder.join("a.txt"), "a");
        write(&folder.join("named/${{ values.evil }}.txt"), "x");
        std::fs::create_dir_all(folder.join("linked")).unwrap();
        std::os::unix::fs::symlink(outside.join("secret.txt"), folder.join("linked/secret.txt"))
            .unwrap();
        write(
            &folder.join("bomb/big.txt"),
            "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}",
        );
        // A string doubled forty times: stopped at the render's memory budget.
        write(
            &folder.join("membomb/big.txt"),
            "{% set ns = namespace(s='x' * 1000000) %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}${{ ns.s | length }}",
        );
        // Sparse: 100 MiB that cost no disk.
        std::fs::File::create(folder.join("huge.bin"))
            .unwrap()
            .set_len(100 << 20)
            .unwrap();
        for i in 0..11 {
            write(&folder.join(format!("eleven/{i}.txt")), "x");
        }
        files.push(file);
    }
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    let server = greenroom_e2e::start_with_config(
        dir.path(),
        &files,
        &plugins,
        // Long enough for the others under a loaded test run (writing 10,000 files took
        // over 2 s there); all are started at once, so only the slow one waits for it.
        "scaffolder:\n  taskTimeoutSeconds: 15\n",
    );
    let ids: Vec<String> = steps
        .iter()
        .map(|(name, ..)| create(&server, &format!("hostile-{name}"), json!({}), json!({})))
        .collect();
    for ((name, _, _, expected), id) in steps.iter().zip(&ids) {
        let task = ended(&server, id);
        let message = events(&server, id).last().unwrap()["body"]["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert_eq!(task["status"], "failed", "{name}: {message}");
        assert!(message.contains(expected), "{name}: {message}");
    }
    // A long log is cut, not kept whole.
    let chatty = template(
        dir.path(),
        "chatty",
        "  steps:\n    - id: s\n      each: \"${{ range(600) | list }}\"\n      action: debug:log\n      input: {message: \"${{ range(1000) | join('-') }}\"}\n",
    );
    drop(server);
    let mut all = files.clone();
    all.push(chatty);
    let server = greenroom_e2e::start_with_config(dir.path(), &all, &plugins, "");
    let id = create(&server, "chatty", json!({}), json!({}));
    assert_eq!(ended(&server, &id)["status"], "completed");
    let log = events(&server, &id);
    let bytes: usize = log
        .iter()
        .map(|e| e["body"]["message"].as_str().map_or(0, str::len))
        .sum();
    // Status lines (one per step and iteration) always go out; the rest stops at 1 MiB.
    assert!(bytes < (1 << 20) + (64 << 10), "{bytes} bytes of log");
    assert!(log.iter().any(|e| {
        e["body"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("further lines are left out"))
    }));
    assert!(outside.join("secret.txt").exists());
    assert!(!dir.path().join("escape.txt").exists() && !dir.path().join("escaped.txt").exists());
    assert!(!Path::new("/tmp/greenroom-escape").exists());
    assert!(
        server.get_ok("/api/plugins").is_array(),
        "the server still serves"
    );

    // Dry runs: files given as directoryContents, nothing kept, publishing skipped.
    let entity = json!({
        "apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template",
        "metadata": {"name": "dry"},
        "spec": {
            "parameters": {"required": ["name"], "properties": {"name": {"type": "string"}}},
            "steps": [
                {"id": "fetch", "action": "fetch:template", "input": {"url": "./skeleton", "values": {"name": "${{ parameters.name }}"}}},
                {"id": "publish", "action": "publish:git", "input": {"repoUrl": "local?owner=o&repo=${{ parameters.name }}"}},
            ],
            "output": {"remote": "${{ steps.publish.output.remoteUrl }}"},
        },
    });
    let encode = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
    let (status, body) = server.post("/api/scaffolder/v2/dry-run", &json!({
        "template": entity, "values": {"name": "svc"},
        "directoryContents": [{"path": "skeleton/${{ values.name }}.md", "base64Content": encode("# ${{ values.name | upper }}")}],
    }));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["directoryContents"],
        json!([{"path": "svc.md", "base64Content": encode("# SVC"), "executable": false}])
    );
    assert_eq!(body["output"]["remote"], "<example>");
    let log = body["log"].to_string();
    assert!(log.contains("does not support dry-run"), "{log}");
    assert!(!dir.path().join("data/git/o/svc.git").exists());
    for bad in ["../x", "/etc/x", "a/../../x", "a\u{0}b"] {
        let (status, body) = server.post(
            "/api/scaffolder/v2/dry-run",
            &json!({
                "template": entity, "values": {"name": "svc"},
                "directoryContents": [{"path": bad, "base64Content": encode("x")}],
            }),
        );
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("directoryContents[0].path"),
            "{body}"
        );
    }
    let (status, body) = server.post(
        "/api/scaffolder/v2/dry-run",
        &json!({"template": entity, "values": {}}),
    );
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["message"], "requires property \"name\"");
}

#[test]
fn a_plugin_action_runs_as_a_step_on_the_task_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let file = template(
        dir.path(),
        "with-plugin",
        r##"  parameters:
    properties:
      name: {type: string}
  steps:
    - id: write
      action: template-file:write
      input:
        path: docs/README.md
        template: "# {{ name | title }}"
        values: {name: "${{ parameters.name }}"}
    - id: show
      action: debug:log
      input: {listWorkspace: with-contents}
  output:
    path: ${{ steps.write.output.path }}
"##,
    );
    let plugins = greenroom_e2e::plugins_folder(dir.path(), &[("template-file", None)]);
    let server = Server::start(
        &[greenroom_e2e::fixture_catalog(), file],
        &plugins,
        &dir.path().join("data"),
    );
    let actions = server.get_ok("/api/scaffolder/v2/actions");
    assert!(
        actions
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == "template-file:write")
    );
    let id = create(
        &server,
        "with-plugin",
        json!({"name": "checkout"}),
        json!({}),
    );
    let task = ended(&server, &id);
    let log = events(&server, &id);
    assert_eq!(task["status"], "completed", "{log:#?}");
    assert_eq!(
        log.last().unwrap()["body"]["output"]["path"],
        "docs/README.md"
    );
    let listing = log
        .iter()
        .find_map(|e| {
            e["body"]["message"]
                .as_str()
                .filter(|m| m.starts_with("Workspace:"))
        })
        .unwrap();
    assert!(listing.contains("docs/README.md:\n# Checkout"), "{listing}");
}

#[test]
fn the_demo_templates_create_services_a_newcomer_can_clone() {
    let dir = tempfile::tempdir().unwrap();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo");
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    let server = Server::start(
        &[
            demo.join("catalog"),
            demo.join("templates/rust-service/template.yaml"),
            demo.join("templates/docs-site/template.yaml"),
        ],
        &plugins,
        &dir.path().join("data"),
    );
    let runs = [
        (
            "rust-service",
            json!({"name": "ledger", "owner": "group:default/payments", "description": "Keeps the books", "port": 9090, "tags": ["rust"]}),
            "src/main.rs",
            "0.0.0.0:9090",
        ),
        (
            "docs-site",
            json!({"name": "handbook", "owner": "group:default/payments", "sections": ["getting-started", "runbooks"]}),
            "docs/runbooks.md",
            "# Runbooks",
        ),
    ];
    for (template, values, file, expected) in runs {
        let name = values["name"].as_str().unwrap().to_string();
        let id = create(&server, template, values, json!({}));
        let task = ended(&server, &id);
        let log = events(&server, &id);
        assert_eq!(task["status"], "completed", "{template}: {log:#?}");
        let output = &log.last().unwrap()["body"]["output"];
        assert_eq!(
            output["links"][0]["entityRef"],
            format!("component:default/{name}")
        );
        let remote = output["text"][0]["content"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .nth(2)
            .unwrap()
            .to_string();
        let clone = dir.path().join(format!("clone-{name}"));
        git(&["clone", &remote, clone.to_str().unwrap()], dir.path());
        let text = std::fs::read_to_string(clone.join(file)).unwrap();
        assert!(text.contains(expected), "{template} {file}: {text}");
        let entity = server.get_ok(&format!(
            "/api/catalog/entities/by-name/component/default/{name}"
        ));
        assert_eq!(entity["spec"]["owner"], "group:default/payments");
    }
}

#[test]
fn a_task_that_lost_its_secrets_in_a_restart_asks_for_them() {
    let dir = tempfile::tempdir().unwrap();
    let file = template(
        dir.path(),
        "needs-secret",
        "  steps:\n    - id: wait\n      action: debug:wait\n      input: {seconds: 600}\n    - id: use\n      action: debug:log\n      input: {message: \"${{ secrets.token }}\"}\n",
    );
    let server = start(dir.path(), std::slice::from_ref(&file), "data");
    let id = create(
        &server,
        "needs-secret",
        json!({}),
        json!({"token": "t0ken-value"}),
    );
    eventually("the wait to start", TASK_DEADLINE, || {
        step_statuses(&events(&server, &id))
            .contains(&("wait".into(), "processing".into()))
            .then_some(())
    });
    drop(server); // SIGKILL: the secrets were only in its memory
    let server = start(dir.path(), &[file], "data");
    let task = ended(&server, &id);
    assert_eq!(task["status"], "failed");
    let message = events(&server, &id).last().unwrap()["body"]["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains("secrets were lost") && message.contains("retry"),
        "{message}"
    );
}

#[test]
fn single_files_come_only_from_allowed_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let api = greenroom_e2e::FakeApi::start("# ${{ values.name | upper }}\n");
    let allowed = format!("127.0.0.1:{}", api.port);
    let remote = |name: &str, action: &str, url: &str| {
        template(
            dir.path(),
            name,
            &format!(
                "  steps:\n    - id: get\n      action: {action}\n      input: {{url: '{url}', targetPath: README.md, values: {{name: svc}}}}\n    - id: show\n      action: debug:log\n      input: {{listWorkspace: with-contents}}\n"
            ),
        )
    };
    let files = [
        remote(
            "remote-file",
            "fetch:template:file",
            &format!("http://{allowed}/readme.md"),
        ),
        remote(
            "other-host",
            "fetch:plain:file",
            &format!("http://localhost:{}/readme.md", api.port),
        ),
        remote(
            "remote-folder",
            "fetch:template",
            &format!("http://{allowed}/skeleton"),
        ),
    ];
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    let server = greenroom_e2e::start_with_config(
        dir.path(),
        &files,
        &plugins,
        &format!("scaffolder:\n  allowedHosts: ['{allowed}']\n"),
    );
    let id = create(&server, "remote-file", json!({}), json!({}));
    assert_eq!(ended(&server, &id)["status"], "completed");
    let log = events(&server, &id);
    assert!(
        log.iter().any(|e| e["body"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("README.md:\n# SVC"))),
        "{log:#?}"
    );
    assert_eq!(api.hits(), 1);
    for (name, expected) in [
        ("other-host", "does not list 'localhost:"),
        ("remote-folder", "only single files"),
    ] {
        let id = create(&server, name, json!({}), json!({}));
        assert_eq!(ended(&server, &id)["status"], "failed");
        let message = events(&server, &id).last().unwrap()["body"]["error"]["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(message.contains(expected), "{name}: {message}");
    }
    assert_eq!(api.hits(), 1, "nothing was fetched from a host not allowed");
}
