"""{{id}}: an entity tab for every Component, showing its type, lifecycle and annotations.
Build with `greenroom plugin build`, try with `greenroom plugin test`."""

from greenroom import Ui, spec
from wit_world import exports
from wit_world.exports.entity_tabs import Tab
from wit_world.exports.meta import PluginInfo


class Meta(exports.Meta):
    def info(self) -> PluginInfo:
        return PluginInfo("{{id}}", "{{id}}", "0.1.0", "A tab for components, written in Python.")


class EntityTabs(exports.EntityTabs):
    def tabs_for(self, entity, viewer):
        if entity.kind != "Component":
            return []
        return [Tab("overview", "{{id}}")]

    def render(self, tab_id, entity, viewer):
        details = spec(entity)
        ui = Ui()
        heading = ui.heading(f"Hello from Python, {entity.title or entity.name}")
        lifecycle = ui.badge(details.get("lifecycle", "unknown"), "info")
        facts = ui.key_values([
            ("Type", details.get("type", "")),
            ("Owner", details.get("owner", "")),
            ("Viewer", viewer.user_ref),
        ])
        annotations = ui.section("Annotations", [ui.key_values(entity.annotations)])
        return ui.finish(ui.list([heading, lifecycle, facts, annotations]))
