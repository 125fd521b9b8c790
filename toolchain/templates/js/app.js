// {{id}}: an entity tab for every Component, showing its type, lifecycle and annotations.
// Build with `greenroom plugin build`, try with `greenroom plugin test`.

import { Ui, spec } from './greenroom.js';

export const meta = {
  info() {
    return {
      id: '{{id}}',
      name: '{{id}}',
      version: '0.1.0',
      description: 'A tab for components, written in JavaScript.',
    };
  },
};

export const entityTabs = {
  tabsFor(entity, viewer) {
    return entity.kind === 'Component' ? [{ id: 'overview', title: '{{id}}' }] : [];
  },

  render(tabId, entity, viewer) {
    const details = spec(entity);
    const ui = new Ui();
    const heading = ui.heading(`Hello from JavaScript, ${entity.title ?? entity.name}`);
    const lifecycle = ui.badge(details.lifecycle ?? 'unknown', 'info');
    const facts = ui.keyValues([
      ['Type', details.type ?? ''],
      ['Owner', details.owner ?? ''],
      ['Viewer', viewer.userRef],
    ]);
    const annotations = ui.section('Annotations', [ui.keyValues(entity.annotations)]);
    return ui.finish(ui.list([heading, lifecycle, facts, annotations]));
  },
};
