"""The "CI" entity tab: recent GitHub Actions runs of the entity's repository.

The repository comes from the entity's `github.com/project-slug` annotation (`owner/repo`),
as in Backstage. Runs are read from `<api-url>/repos/<owner>/<repo>/actions/runs` over
wasi:http, so the operator must grant the API's host (`plugins.ci-status.allowedHosts`).
Config: `api-url` (default https://api.github.com; GitHub Enterprise lives elsewhere) and
`token`, best granted as a secret. A finished run has a "Re-run" button, which asks GitHub to
re-run it (`POST .../actions/runs/<id>/rerun`, the token needs `actions: write`). Other tools
can ask `GET /api/plugins/ci-status/http/latest/<owner>/<repo>` for a repository's latest run.
"""

from urllib.parse import quote

from greenroom import (
    Err, HttpError, Reply, Ui, annotation, config, http_get, http_request, log, serve, tone,
)
from wit_world import exports
from wit_world.exports.entity_tabs import Tab
from wit_world.exports.interactions import ActionOutcome, Notice, Surface_Tab
from wit_world.exports.meta import PluginInfo

SLUG = "github.com/project-slug"
TAB = "ci"
RUNS_SHOWN = 10

# GitHub's `conclusion` (or `status` while a run is not finished) -> badge tone.
TONES = {
    "success": "success",
    "failure": "danger",
    "timed_out": "danger",
    "startup_failure": "danger",
    "cancelled": "warning",
    "action_required": "warning",
    "skipped": "neutral",
    "neutral": "neutral",
    "in_progress": "info",
    "queued": "info",
    "waiting": "info",
    "pending": "info",
}


class Meta(exports.Meta):
    def info(self) -> PluginInfo:
        return PluginInfo(
            "ci-status",
            "CI status",
            "0.1.0",
            "Recent GitHub Actions runs of the entity's repository (github.com/project-slug).",
        )


class EntityTabs(exports.EntityTabs):
    def tabs_for(self, entity, viewer):
        return [Tab(TAB, "CI")] if annotation(entity, SLUG) else []

    def render(self, tab_id, entity, viewer):
        if tab_id != TAB:
            raise Err(f"unknown tab '{tab_id}'")
        return runs_tree(repository(entity))


class Interactions(exports.Interactions):
    def handle_action(self, request):
        """`rerun:<run id>` from the CI tab: asks the CI server to re-run that run."""
        kind, _, run_id = request.action_id.partition(":")
        if kind != "rerun" or not run_id.isdigit():
            raise Err(f"unknown action '{request.action_id}'")
        if not isinstance(request.surface, Surface_Tab) or request.entity is None:
            raise Err("re-run is offered on the CI tab only")
        slug = repository(request.entity)
        owner, repo = slug.split("/")
        url = f"{api_url()}/repos/{quote(owner)}/{quote(repo)}/actions/runs/{run_id}/rerun"
        log("info", f"{request.viewer.user_ref or 'anonymous'} re-runs {slug} run {run_id}")
        try:
            response = http_request("POST", url, request_headers(), b"", timeout=1.5)
        except HttpError as e:
            raise Err(f"cannot reach the CI server: {e}")
        if not 200 <= response.status < 300:
            raise Err(f"the CI server refused the re-run ({response.status}): {response.text()[:200]}")
        notice = Notice(f"Re-run of run {run_id} requested.", tone("success"))
        return ActionOutcome(runs_tree(slug), notice)


class IncomingHandler(exports.IncomingHandler):
    def handle(self, request, response_out):
        serve(request, response_out, route)


def route(request):
    """`GET /latest/<owner>/<repo>`: the repository's latest run as JSON."""
    parts = request.route.strip("/").split("/")
    if request.method != "GET" or len(parts) != 3 or parts[0] != "latest":
        return Reply.text(404, f"no route {request.method} {request.route}")
    try:
        runs = fetch_runs(f"{parts[1]}/{parts[2]}")
    except Err as e:
        return Reply.text(502, str(e.value))
    if not runs:
        return Reply.json(404, {"error": "no runs"})
    latest = runs[0]
    return Reply.json(200, {
        "name": latest.get("name", ""),
        "number": latest.get("run_number"),
        "result": outcome(latest),
        "url": latest.get("html_url", ""),
        "askedBy": request.viewer() or "",
    })


def repository(entity):
    slug = annotation(entity, SLUG)
    if not slug or slug.count("/") != 1:
        raise Err(f"annotation {SLUG} must be 'owner/repo', not '{slug}'")
    return slug


def runs_tree(slug):
    runs = fetch_runs(slug)
    ui = Ui()
    if not runs:
        return ui.finish(ui.empty(f"No workflow runs yet for {slug}."))
    latest = runs[0]
    summary = ui.key_values([
        ("Repository", slug),
        ("Latest run", f"{latest.get('name', '')} #{latest.get('run_number', '')}"),
        ("Result", outcome(latest)),
    ])
    rows = [run_row(ui, run) for run in runs[:RUNS_SHOWN]]
    columns = ["Run", "Workflow", "Branch", "Commit", "Status", "Started", ""]
    table = ui.table(columns, rows)
    return ui.finish(ui.list([summary, ui.section("Recent runs", [table])]))


def api_url():
    return (config("api-url") or "https://api.github.com").rstrip("/")


def request_headers():
    headers = {"Accept": "application/vnd.github+json", "User-Agent": "greenroom-ci-status"}
    token = config("token")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def fetch_runs(slug):
    owner, repo = slug.split("/")
    url = f"{api_url()}/repos/{quote(owner)}/{quote(repo)}/actions/runs?per_page={RUNS_SHOWN}"
    headers = request_headers()
    log("debug", f"GET {url}")
    try:
        # Well inside the call's 2 s deadline, so a slow CI server gets this plugin's own
        # message rather than a host timeout.
        response = http_get(url, headers, timeout=1.5)
    except HttpError as e:
        raise Err(f"cannot reach the CI server: {e}")
    if response.status != 200:
        raise Err(f"the CI server answered {response.status} for {url}: {response.text()[:200]}")
    try:
        return response.json().get("workflow_runs", [])
    except ValueError:
        raise Err(f"the CI server's answer for {url} is not JSON")


def outcome(run):
    return run.get("conclusion") or run.get("status") or "unknown"


def run_row(ui, run):
    result = outcome(run)
    number = f"#{run.get('run_number', '?')}"
    url = run.get("html_url", "")
    return [
        ui.link(number, url) if url.startswith(("http://", "https://")) else ui.text(number),
        ui.text(run.get("name", "")),
        ui.text(run.get("head_branch", "")),
        ui.code((run.get("head_sha") or "")[:7]),
        ui.badge(result, TONES.get(result, "neutral")),
        ui.text(run.get("created_at", "")),
        rerun_button(ui, run, number),
    ]


def rerun_button(ui, run, number):
    """Only a finished run can be re-run."""
    if run.get("status") != "completed" or not str(run.get("id", "")).isdigit():
        return ui.text("")
    return ui.button(f"rerun:{run['id']}", "Re-run", "neutral", f"Re-run {number}?")
