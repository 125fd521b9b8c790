// An SDK example of the docs import: a "Docs outline" entity tab with the entity's TechDocs
// pages (`backstage.io/techdocs-ref: dir:...`) and its first page as markdown. The portal's
// own docs reader (the entity page's Docs tab) shows the whole site.

import { Ui, annotation, docs } from './greenroom.js';

const TECHDOCS_REF = 'backstage.io/techdocs-ref';
const TAB = 'docs';

export const meta = {
  info() {
    return {
      id: 'techdocs',
      name: 'TechDocs',
      version: '0.1.0',
      description: "An example of the docs import: the entity's docs pages and first page.",
    };
  },
};

export const entityTabs = {
  tabsFor(entity) {
    return annotation(entity, TECHDOCS_REF) ? [{ id: TAB, title: 'Docs outline' }] : [];
  },

  render(tabId, entity) {
    if (tabId !== TAB) throw `unknown tab '${tabId}'`;
    const pages = call(() => docs.listPages(entity.entityRef));
    const ui = new Ui();
    if (pages.length === 0) {
      return ui.finish(ui.empty(`${entity.entityRef} has no documentation pages.`));
    }
    const first = call(() => docs.getPage(entity.entityRef, pages[0].path));
    const contents = ui.list(pages.map((page) => ui.text(`${page.title} (${page.path})`)));
    return ui.finish(
      ui.list([
        ui.section('Contents', [contents]),
        ui.section(first.title, [ui.markdown(first.markdown)]),
      ]),
    );
  },
};

/** Runs an import call; its failure becomes this tab's error message. */
function call(f) {
  try {
    return f();
  } catch (e) {
    throw `docs: ${e.payload ?? e}`;
  }
}
