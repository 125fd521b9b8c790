"""Test plugin `py-follower` (Python, contract 0.2.0): keeps the latest change of each entity
the catalog reports in its storage, asks for its search documents to be collected again, and
offers one document per changed entity (type `py-changes`): the Python SDK's catalog events,
storage, schedule and search documents through the real host. Tab `owner` reads the entity's
owner through the catalog import (as js-probe's does) and counts the calls its instance has
served, which must always be one."""

from greenroom import Ui, catalog, related, schedule, storage
from wit_world import exports
from wit_world.exports.catalog_events import Change_Added, Change_Removed
from wit_world.exports.entity_tabs import Tab
from wit_world.exports.meta import PluginInfo
from wit_world.exports.search_documents import Document, DocumentsPage, DocumentType

PREFIX = "change/"

# Calls this instance has served; a fresh instance per call keeps it at one.
calls = 0


class Meta(exports.Meta):
    def info(self) -> PluginInfo:
        return PluginInfo(
            "py-follower", "Python follower", "0.1.0",
            "Test plugin: the catalog's changes, kept and searchable, from Python.",
        )


class EntityTabs(exports.EntityTabs):
    def tabs_for(self, entity, viewer):
        return [Tab("owner", "Owner (Python)")]

    def render(self, tab_id, entity, viewer):
        global calls
        calls += 1
        owner_ref = next(related(entity, "ownedBy"), None)
        owner = catalog.get_entity(owner_ref) if owner_ref else None
        shown = (owner.title or owner.name) if owner else f"{owner_ref} is missing"
        ui = Ui()
        return ui.finish(ui.key_values([("owner", shown), ("calls", str(calls))]))


class CatalogEvents(exports.CatalogEvents):
    def on_changes(self, changes):
        for change in changes:
            if isinstance(change, Change_Removed):
                entity_ref, what = change.value, "removed"
            else:
                entity_ref = change.value.entity_ref
                what = "added" if isinstance(change, Change_Added) else "changed"
            storage.set(PREFIX + entity_ref, what.encode())
        schedule.run_soon(schedule.Job.SEARCH_DOCUMENTS)


class SearchDocuments(exports.SearchDocuments):
    def document_types(self):
        return [DocumentType("py-changes", "Catalog changes (Python)", 3600)]

    def collect(self, document_type, since, page):
        documents = []
        for key in storage.list_keys(PREFIX, None, 1000):
            entity_ref = key[len(PREFIX):]
            what = (storage.get(key) or b"").decode()
            about = None if what == "removed" else entity_ref
            documents.append(Document(
                entity_ref, f"{what} {entity_ref}", f"The catalog saw {entity_ref} {what}.",
                "/catalog", about, [("change", what)],
            ))
        return DocumentsPage(documents, [], None, None, True)
