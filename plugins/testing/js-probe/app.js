// Test plugin: the JavaScript SDK's imports through the real host. Tab `fetch` GETs the
// granted `url` with httpGet (giving up after `timeout-ms` when that is configured) and shows
// status and body; tab `owner` reads the entity's owner through the catalog import.

import { Ui, catalog, config, httpGet, related } from './greenroom.js';

export const meta = {
  info() {
    return { id: 'js-probe', name: 'JS probe', version: '0.1.0', description: 'Tests the JS SDK.' };
  },
};

export const entityTabs = {
  tabsFor() {
    return [{ id: 'fetch', title: 'Fetch' }, { id: 'owner', title: 'Owner' }];
  },

  render(tabId, entity) {
    const ui = new Ui();
    if (tabId === 'fetch') {
      const timeoutMs = config('timeout-ms');
      const options = timeoutMs ? { timeoutMs: Number(timeoutMs) } : {};
      const response = httpGet(config('url'), { 'x-probe': 'js' }, options);
      return ui.finish(ui.keyValues([['status', String(response.status)], ['body', response.text()]]));
    }
    const ownerRef = related(entity, 'ownedBy')[0];
    const owner = catalog.getEntity(ownerRef);
    return ui.finish(ui.text(owner ? owner.title ?? owner.name : `${ownerRef} is missing`));
  },
};
