"""{{id}}: a card on every Component whose button counts visits in the plugin's storage, a
page listing every count, and an HTTP route answering one count as JSON
(`GET /api/plugins/{{id}}/http/count/<entity ref>`).
Build with `greenroom plugin build`, try with `greenroom plugin test`."""

from urllib.parse import unquote

from greenroom import Err, Reply, Ui, serve, storage, tone
from wit_world import exports
from wit_world.exports.entity_cards import Card, CardSize
from wit_world.exports.interactions import ActionOutcome, Notice
from wit_world.exports.meta import PluginInfo
from wit_world.exports.pages import Page


class Meta(exports.Meta):
    def info(self) -> PluginInfo:
        return PluginInfo("{{id}}", "{{id}}", "0.1.0", "Counts visits, written in Python.")


class EntityCards(exports.EntityCards):
    def cards_for(self, entity, viewer):
        if entity.kind != "Component":
            return []
        return [Card("visits", "Visits", CardSize.SMALL)]

    def render_card(self, card_id, entity, viewer):
        return card(entity.entity_ref)


class Pages(exports.Pages):
    def list_pages(self):
        return [Page("visits", "Visits")]

    def render_page(self, page_id, viewer):
        ui = Ui()
        rows = [[ui.text(ref), ui.text(str(count(ref)))] for ref in visited()]
        table = ui.table(["Entity", "Visits"], rows) if rows else ui.empty("No visits yet.")
        return ui.finish(ui.section(f"Visits, seen by {viewer.user_ref or 'anonymous'}", [table]))


class Interactions(exports.Interactions):
    def handle_action(self, request):
        if request.action_id != "visit" or request.entity is None:
            raise Err(f"unknown action '{request.action_id}'")
        ref = request.entity.entity_ref
        visits = count(ref) + 1
        storage.set(f"visits/{ref}", str(visits).encode())
        return ActionOutcome(card(ref), Notice(f"Visit {visits} counted.", tone("success")))


class IncomingHandler(exports.IncomingHandler):
    def handle(self, request, response_out):
        serve(request, response_out, route)


def route(request):
    if request.method == "GET" and request.route.startswith("/count/"):
        ref = unquote(request.route[len("/count/"):])
        return Reply.json(200, {"entityRef": ref, "visits": count(ref)})
    return Reply.text(404, f"no route {request.method} {request.route}")


def card(ref):
    ui = Ui()
    facts = ui.key_values([("Visits", str(count(ref)))])
    visit = ui.button("visit", "Visit", "success")
    return ui.finish(ui.list([facts, visit]))


def count(ref):
    stored = storage.get(f"visits/{ref}")
    return int(stored.decode()) if stored else 0


def visited():
    return [key[len("visits/"):] for key in storage.list_keys("visits/", None, 100)]
