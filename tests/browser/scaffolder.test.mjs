// The scaffolder's pages in a real browser against the real server: templates filtered by
// tag, type and text; the wizard's server-side validation beside each field, defaults,
// pickers and a masked secret; a task followed live to its output (with an unsafe link
// refused); the task list; and a dry run's files, log and output.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startServer, launchBrowser, artifactsDir, catalogFile } from "./harness.mjs";

// `\${{` keeps JavaScript from reading the templates' expressions.
const TEMPLATES = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: browser-service
  title: Browser service
  description: A service created in the browser test
  tags: [rust, recommended]
spec:
  owner: group:default/payments
  type: service
  parameters:
    - title: Basics
      required: [name, owner]
      properties:
        name:
          title: Name
          type: string
          ui:field: EntityNamePicker
          ui:autofocus: true
        owner:
          title: Owner
          type: string
          ui:field: OwnerPicker
          ui:options:
            catalogFilter:
              kind: Group
        description:
          title: Description
          type: string
          ui:widget: textarea
          default: A new service
    - title: Options
      properties:
        language:
          title: Language
          type: string
          enum: [rust, go]
          default: rust
        token:
          title: Token
          type: string
          ui:field: Secret
  steps:
    - id: log
      name: Say hello
      action: debug:log
      input:
        message: "Creating \${{ parameters.name }} in \${{ parameters.language }}"
  output:
    text:
      - title: Created
        content: "Service \${{ parameters.name }} created"
    links:
      - title: Home
        url: "https://example.com/\${{ parameters.name }}"
      - title: Bad
        url: "javascript:alert(1)"
---
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: browser-files
  title: Browser files
  description: Writes a catalog file
  tags: [files]
spec:
  owner: group:default/payments
  type: website
  parameters:
    - title: Name
      required: [name]
      properties:
        name:
          title: Name
          type: string
  steps:
    - id: write
      name: Write the catalog file
      action: catalog:write
      input:
        entity:
          apiVersion: backstage.io/v1alpha1
          kind: Component
          metadata:
            name: "\${{ parameters.name }}"
          spec:
            type: website
            lifecycle: experimental
            owner: group:default/payments
  output:
    text:
      - title: Written
        content: "Wrote \${{ parameters.name }}"
`;

// A task that waits, for cancel and retry from the task page.
const SLOW = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: browser-slow
  title: Browser slow
spec:
  owner: group:default/payments
  type: service
  steps:
    - id: hello
      action: debug:log
      input: {message: hello}
    - id: wait
      name: Wait a long time
      action: debug:wait
      input: {minutes: 10}
`;

// Every other picker and widget on one page.
const PICKERS = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: browser-pickers
  title: Browser pickers
spec:
  owner: group:default/payments
  type: service
  parameters:
    - title: Everything
      ui:order: [replicas, "*"]
      properties:
        lead:
          title: Lead
          type: string
          ui:field: EntityPicker
          ui:options:
            allowedKinds: [User]
        members:
          title: Members
          type: array
          items: {type: string}
          ui:field: MultiEntityPicker
          ui:options:
            catalogFilter: {kind: User}
        tags:
          title: Tags
          type: array
          items: {type: string}
          ui:field: EntityTagsPicker
        features:
          title: Features
          type: array
          uniqueItems: true
          items: {type: string, enum: [metrics, tracing, alerts]}
        replicas:
          title: Replicas
          type: integer
          ui:help: How many copies run
          ui:placeholder: "3"
  steps:
    - id: show
      action: debug:log
      input:
        message: "lead=\${{ parameters.lead }} members=\${{ parameters.members | join(',') }} tags=\${{ parameters.tags | join(',') }} features=\${{ parameters.features | join(',') }} replicas=\${{ parameters.replicas + 1 }}"
`;

const SECRET = "s3cret-token-value";

let browser;
let server;

before(async () => {
  browser = await launchBrowser();
  server = await startServer({ catalogs: [catalogFile(TEMPLATES), catalogFile(SLOW), catalogFile(PICKERS)] });
});

after(async () => {
  server?.stop();
  await browser?.close();
});

const card = (page, name) => page.locator(`.template-card[data-template="default/${name}"]`);

test("the Create page lists templates, filtered by tag, type and text in the URL", async () => {
  const page = await browser.newPage();
  await page.goto(`${server.baseUrl}/create`);
  const service = card(page, "browser-service");
  await service.getByRole("heading", { name: "Browser service" }).waitFor();
  await service.getByText("A service created in the browser test").waitFor();
  await service.locator(".tag", { hasText: "recommended" }).waitFor();
  await service.locator(".template-type", { hasText: "service" }).waitFor();
  await card(page, "browser-files").waitFor();

  await page.locator("#template-tag-filter").selectOption("files");
  await page.waitForURL(/tag=files/);
  await service.waitFor({ state: "detached" });
  await card(page, "browser-files").waitFor();
  await page.locator("#template-tag-filter").selectOption("");
  await service.waitFor();

  await page.locator("#template-type-filter").selectOption("service");
  await page.waitForURL(/type=service/);
  await card(page, "browser-files").waitFor({ state: "detached" });
  await service.waitFor();
  await page.locator("#template-type-filter").selectOption("");
  await card(page, "browser-files").waitFor();

  await page.locator("#template-search").fill("created in the browser");
  await page.waitForURL(/q=created/);
  await card(page, "browser-files").waitFor({ state: "detached" });
  await service.waitFor();
  // The filters come back from the URL.
  await page.reload();
  await service.waitFor();
  assert.equal(await card(page, "browser-files").count(), 0);
  assert.equal(await page.locator("#template-search").inputValue(), "created in the browser");
  await page.screenshot({ path: join(artifactsDir, "create-templates.png"), fullPage: true });

  await service.getByRole("link", { name: "Choose" }).click();
  await page.waitForURL("**/create/templates/default/browser-service");
  await page.locator("#template-form").waitFor();
  await page.close();
});

test("the wizard validates each page on the server, masks the secret and runs the task live", async () => {
  const page = await browser.newPage();
  await page.goto(`${server.baseUrl}/create/templates/default/browser-service`);
  const form = page.locator("#template-form");
  const field = (name) => form.locator(`.form-field[data-field="${name}"]`);
  await form.getByRole("heading", { name: "Basics" }).waitFor();
  // ui:autofocus, and the default the form fills in.
  await page.waitForFunction(() => document.activeElement?.id === "field-name");
  assert.equal(await page.locator("#field-description").inputValue(), "A new service");

  // Next with the required fields empty: the server's errors beside them.
  await page.locator("#wizard-next").click();
  await field("name").locator(".field-error").getByText(/required/i).waitFor();
  await field("owner").locator(".field-error").waitFor();
  assert.equal(await field("description").locator(".field-error").count(), 0);
  assert.equal(await form.getAttribute("data-page"), "0");
  await page.screenshot({ path: join(artifactsDir, "create-form-errors.png"), fullPage: true });

  // A name that is no entity name is refused too.
  await page.locator("#field-name").fill("not a name!");
  await field("name").locator(".field-error").waitFor({ state: "detached" });
  await page.locator("#field-owner").fill("payments");
  // The owner picker suggests the catalog's groups and makes a ref of the name.
  await page.locator('#field-owner-options option[value="group:default/payments"]').waitFor({ state: "attached" });
  await page.locator("#field-owner").press("Tab");
  await page.waitForFunction(() => document.querySelector("#field-owner")?.value === "group:default/payments");
  await page.locator("#wizard-next").click();
  await field("name").locator(".field-error").waitFor();
  assert.equal(await form.getAttribute("data-page"), "0");
  await page.locator("#field-name").fill("my-svc");
  await page.locator("#wizard-next").click();

  await form.getByRole("heading", { name: "Options" }).waitFor();
  assert.equal(await form.getAttribute("data-page"), "1");
  assert.equal(await page.locator("#field-language option:checked").innerText(), "rust");
  await page.locator("#field-language").selectOption({ label: "go" });
  await page.locator("#field-token").fill(SECRET);
  assert.equal(await page.locator("#field-token").getAttribute("type"), "password");
  await page.locator("#wizard-next").click();

  // The review: every value, the secret masked and nowhere in the page.
  const review = page.locator("#review-table");
  await review.waitFor();
  const row = (name) => review.locator(`tr[data-field="${name}"] td`);
  assert.equal(await row("name").innerText(), "my-svc");
  assert.equal(await row("owner").innerText(), "group:default/payments");
  assert.equal(await row("description").innerText(), "A new service");
  assert.equal(await row("language").innerText(), "go");
  assert.equal(await row("token").innerText(), "••••••");
  assert.ok(!(await page.content()).includes(SECRET), "the secret shows nowhere");
  await page.screenshot({ path: join(artifactsDir, "create-review.png"), fullPage: true });

  // Back keeps the values.
  await page.locator("#wizard-back").click();
  await form.getByRole("heading", { name: "Options" }).waitFor();
  assert.equal(await page.locator("#field-token").inputValue(), SECRET);
  await page.locator("#wizard-next").click();
  await review.waitFor();

  await page.locator("#create-submit").click();
  await page.waitForURL(/\/create\/tasks\/[^/?]+$/);
  const taskId = decodeURIComponent(new URL(page.url()).pathname.split("/").pop());
  await page.locator('.task-step[data-step-id="log"][data-status="completed"]').waitFor();
  await page.locator('#task-status[data-status="completed"]').waitFor();
  await page.locator("#task-log").getByText("Creating my-svc in go").waitFor();
  const output = page.locator("#task-output");
  await output.getByText("Service my-svc created").waitFor();
  await output.locator('a[href="https://example.com/my-svc"]').waitFor();
  // The javascript: link is never a link (shown as text, or left out).
  assert.equal(await output.locator("a", { hasText: "Bad" }).count(), 0);
  assert.equal(await page.locator('a[href^="javascript:" i]').count(), 0, "no javascript: link");
  assert.equal(await page.locator("#task-cancel").count(), 0);
  assert.equal(await page.locator("#task-retry").count(), 0);
  assert.ok(!(await page.content()).includes(SECRET), "the secret shows nowhere");
  await page.screenshot({ path: join(artifactsDir, "create-task.png"), fullPage: true });

  // Clicking a step shows only its log.
  await page.locator('.task-step[data-step-id="log"] button').click();
  await page.locator("#task-log-all").waitFor();
  await page.locator("#task-log").getByText("Creating my-svc in go").waitFor();
  assert.equal(await page.locator("#task-log .log-line").count(), await page.locator('#task-log .log-line[data-step-id="log"]').count());
  await page.locator("#task-log-all").click();
  await page.locator("#task-log-all").waitFor({ state: "detached" });

  // The task as it ended when opened again: the stream replays its events.
  await page.reload();
  await page.locator('.task-step[data-step-id="log"][data-status="completed"]').waitFor();
  await page.locator("#task-output").getByText("Service my-svc created").waitFor();

  // Start over: the form again, filled with the task's values (not the secret).
  await page.locator("#task-start-over").click();
  await page.waitForURL(/\/create\/templates\/default\/browser-service\?formData=/);
  await form.getByRole("heading", { name: "Basics" }).waitFor();
  assert.equal(await page.locator("#field-name").inputValue(), "my-svc");

  // The task list, the user's own and everyone's.
  await page.goto(`${server.baseUrl}/create`);
  await page.locator("#task-list-link").click();
  await page.waitForURL("**/create/tasks");
  const mine = page.locator(`#tasks-table tr[data-task-id="${taskId}"]`);
  await mine.waitFor();
  await mine.getByText("completed").waitFor();
  await mine.getByText("Browser service").or(mine.getByText("template:default/browser-service")).first().waitFor();
  await page.screenshot({ path: join(artifactsDir, "create-tasks.png"), fullPage: true });
  await page.locator("#tasks-all").click();
  await page.waitForURL(/view=all/);
  await page.locator(`#tasks-table tr[data-task-id="${taskId}"]`).waitFor();
  await page.locator(`#tasks-table tr[data-task-id="${taskId}"] a.task-link`).click();
  await page.waitForURL(`**/create/tasks/${encodeURIComponent(taskId)}`);
  await page.locator('#task-status[data-status="completed"]').waitFor();
  await page.close();
});

test("a dry run shows the files the template would write, its log and output, and creates no task", async () => {
  const page = await browser.newPage();
  await page.goto(`${server.baseUrl}/create/templates/default/browser-files`);
  await page.locator("#field-name").fill("files-demo");
  await page.locator("#wizard-next").click();
  await page.locator("#review-table").waitFor();
  await page.locator("#dry-run-submit").click();
  const dryRun = page.locator("#dry-run");
  const file = dryRun.locator('button.dry-run-file[data-path="catalog-info.yaml"]');
  await file.waitFor();
  await file.click();
  await page.locator("#dry-run-file-content").getByText("name: files-demo").waitFor();
  await page.locator("#dry-run-log").getByText("Writing catalog-info.yaml").waitFor();
  await page.locator("#dry-run-output").getByText("Wrote files-demo").waitFor();
  await page.screenshot({ path: join(artifactsDir, "create-dry-run.png"), fullPage: true });
  // Still on the review: nothing was created.
  assert.match(page.url(), /\/create\/templates\/default\/browser-files$/);
  const tasks = await (await fetch(`${server.baseUrl}/api/scaffolder/v2/tasks`)).json();
  assert.ok(
    !tasks.tasks.some((t) => t.spec?.templateInfo?.entityRef === "template:default/browser-files"),
    "a dry run is no task",
  );
  await page.close();
});

test("the task page cancels a running task and retries it from the step it stopped at", async () => {
  const created = await fetch(`${server.baseUrl}/api/scaffolder/v2/tasks`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ templateRef: "template:default/browser-slow", values: {} }),
  });
  assert.equal(created.status, 201);
  const { id } = await created.json();
  const page = await browser.newPage();
  await page.goto(`${server.baseUrl}/create/tasks/${id}`);
  await page.locator('.task-step[data-step-id="hello"][data-status="completed"]').waitFor();
  await page.locator('.task-step[data-step-id="wait"][data-status="processing"]').waitFor();
  await page.locator("#task-cancel").click();
  await page.locator('#task-status[data-status="cancelled"]').waitFor();
  await page.locator('.task-step[data-step-id="wait"][data-status="cancelled"]').waitFor();
  await page.locator("#task-retry").click();
  // Retried from the step that was cancelled: the finished step is not run again.
  await page.locator('.task-step[data-step-id="wait"][data-status="processing"]').waitFor();
  await page.locator('#task-status[data-status="processing"]').waitFor();
  const events = await (await fetch(`${server.baseUrl}/api/scaffolder/v2/tasks/${id}/events`)).json();
  const begun = (step) => events.filter((e) => e.body.stepId === step && e.body.status === "processing").length;
  assert.equal(begun("hello"), 1);
  assert.equal(begun("wait"), 2);
  await page.locator("#task-cancel").click();
  await page.locator('#task-status[data-status="cancelled"]').waitFor();
  await page.close();
});

test("entity, multi-entity and tag pickers, multiple choice, numbers, help and order", async () => {
  const page = await browser.newPage();
  await page.goto(`${server.baseUrl}/create/templates/default/browser-pickers`);
  const form = page.locator("#template-form");
  await form.getByRole("heading", { name: "Everything" }).waitFor();
  // ui:order puts replicas first; ui:help and ui:placeholder show.
  const order = await form.locator(".form-field").evaluateAll((fields) => fields.map((f) => f.dataset.field));
  assert.equal(order[0], "replicas", order.join());
  const replicas = form.locator('.form-field[data-field="replicas"]');
  await replicas.getByText("How many copies run").waitFor();
  assert.equal(await page.locator("#field-replicas").getAttribute("placeholder"), "3");
  await page.locator("#field-replicas").fill("2");

  // The entity picker suggests users only and turns a name into a ref.
  await page.locator("#field-lead").fill("ada");
  await page.locator('#field-lead-options option[value="user:default/ada"]').waitFor({ state: "attached" });
  assert.equal(await page.locator('#field-lead-options option[value^="group:"]').count(), 0);
  await page.locator("#field-lead").press("Tab");
  await page.waitForFunction(() => document.querySelector("#field-lead")?.value === "user:default/ada");

  // Multi-entity and tag pickers collect chips; a bad tag is refused beside the field.
  await page.locator("#field-members").fill("ada");
  await page.locator('#field-members-options option[value="user:default/ada"]').waitFor({ state: "attached" });
  await page.locator("#field-members").press("Enter");
  await form.locator('.form-field[data-field="members"] .chip[data-value="user:default/ada"]').waitFor();
  await page.locator("#field-tags").fill("Not A Tag");
  await page.locator("#field-tags").press("Enter");
  await form.locator('.form-field[data-field="tags"] .field-error').waitFor();
  await page.locator("#field-tags").fill("alpha");
  await page.locator("#field-tags").press("Enter");
  await form.locator('.form-field[data-field="tags"] .chip[data-value="alpha"]').waitFor();

  // Multiple choice from an enum array.
  await page.locator("#field-features-0").check();
  await page.locator("#field-features-2").check();

  await page.locator("#wizard-next").click();
  await page.locator("#review-table").waitFor();
  await page.locator("#create-submit").click();
  await page.waitForURL(/\/create\/tasks\/[^/?]+$/);
  await page.locator('#task-status[data-status="completed"]').waitFor();
  await page
    .locator("#task-log")
    .getByText("lead=user:default/ada members=user:default/ada tags=alpha features=metrics,alerts replicas=3")
    .waitFor();
  await page.close();
});
