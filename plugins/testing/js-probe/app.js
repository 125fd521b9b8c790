// Test plugin: the JavaScript SDK's imports through the real host. Tab `fetch` GETs the
// granted `url` with httpGet (giving up after `timeout-ms` when that is configured) and shows
// status and body; tab `owner` reads the entity's owner through the catalog import. Card
// `visits` counts presses of its button in the plugin's storage and greets through its form;
// page `about` shows the viewer and the calls its instance has served (a fresh instance per
// call keeps that at one). Route `GET /visits/<entity ref>` answers the stored count;
// `POST /echo` its body. Search type `js-visits`: one document per visited entity, collected
// in full whenever a visit asks for it.

import {
  Ui, catalog, config, field, httpGet, related, schedule, serve, storage, value,
} from './greenroom.js';

let calls = 0;

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

export const entityCards = {
  cardsFor(entity) {
    return entity.kind === 'Component' ? [{ id: 'visits', title: 'Visits', size: 'medium' }] : [];
  },
  renderCard(cardId, entity, viewer) {
    return visitsCard(entity.entityRef, viewer);
  },
};

export const pages = {
  listPages() {
    return [{ id: 'about', title: 'JS probe' }];
  },
  renderPage(pageId, viewer) {
    const ui = new Ui();
    calls += 1;
    return ui.finish(ui.keyValues([['page', pageId], ['viewer', viewer.userRef], ['owns', viewer.ownershipRefs.join(', ')], ['calls', String(calls)]]));
  },
};

export const interactions = {
  handleAction(request) {
    const entityRef = request.entity?.entityRef;
    if (!entityRef) throw `action ${request.actionId} needs an entity`;
    if (request.actionId === 'visit') {
      const visits = count(entityRef) + 1;
      storage.set(`visits/${entityRef}`, new TextEncoder().encode(String(visits)));
      schedule.runSoon('search-documents');
      return { tree: visitsCard(entityRef, request.viewer), notice: { message: `visit ${visits}`, tone: 'success' } };
    }
    if (request.actionId === 'greet') {
      const name = value(request, 'name');
      const loud = value(request, 'loud');
      const greeting = `Hello, ${name}`;
      return { notice: { message: loud ? greeting.toUpperCase() : greeting, tone: 'info' } };
    }
    throw `unknown action '${request.actionId}'`;
  },
};

function count(entityRef) {
  const stored = storage.get(`visits/${entityRef}`);
  return stored ? Number(new TextDecoder().decode(stored)) : 0;
}

function visitsCard(entityRef, viewer) {
  const ui = new Ui();
  const facts = ui.keyValues([['visits', String(count(entityRef))], ['viewer', viewer.userRef]]);
  const visit = ui.button('visit', 'Visit', 'success');
  const greet = ui.form('greet', [field.text('name', 'Name', '', true), field.checkbox('loud', 'Loud')], 'Greet');
  return ui.finish(ui.list([facts, visit, greet]));
}

export const searchDocuments = {
  documentTypes() {
    return [{ name: 'js-visits', title: 'Visits (JS)', refreshIntervalSeconds: 3600 }];
  },
  collect(documentType) {
    const documents = storage.listKeys('visits/', undefined, 1000).map((key) => {
      const entityRef = key.slice('visits/'.length);
      return {
        id: entityRef,
        title: `Visits to ${entityRef}`,
        text: `${count(entityRef)} recorded visits`,
        location: '/p/js-probe/about',
        entityRef,
        fields: [['visits', String(count(entityRef))]],
      };
    });
    return { documents, removed: [], nextPage: undefined, checkpoint: undefined, full: true };
  },
};

export const incomingHandler = {
  handle(request, responseOut) {
    serve(request, responseOut, (req) => {
      if (req.method === 'GET' && req.route.startsWith('/visits/')) {
        const entityRef = decodeURIComponent(req.route.slice('/visits/'.length));
        return { status: 200, contentType: 'application/json', body: JSON.stringify({ entityRef, visits: count(entityRef), viewer: req.viewer() ?? null }) };
      }
      if (req.method === 'POST' && req.route === '/echo') {
        return { status: 200, contentType: req.header('content-type'), body: req.body };
      }
      return { status: 404, contentType: 'text/plain', body: `no route ${req.method} ${req.route}` };
    });
  },
};
