// {{id}}: a card on every Component whose button counts visits in the plugin's storage, a
// page listing every count, and an HTTP route answering one count as JSON
// (`GET /api/plugins/{{id}}/http/count/<entity ref>`).
// Build with `greenroom plugin build`, try with `greenroom plugin test`.

import { Ui, serve, storage } from './greenroom.js';

export const meta = {
  info() {
    return { id: '{{id}}', name: '{{id}}', version: '0.1.0', description: 'Counts visits, written in JavaScript.' };
  },
};

export const entityCards = {
  cardsFor(entity, viewer) {
    return entity.kind === 'Component' ? [{ id: 'visits', title: 'Visits', size: 'small' }] : [];
  },
  renderCard(cardId, entity, viewer) {
    return card(entity.entityRef);
  },
};

export const pages = {
  listPages() {
    return [{ id: 'visits', title: 'Visits' }];
  },
  renderPage(pageId, viewer) {
    const ui = new Ui();
    const rows = visited().map((ref) => [ui.text(ref), ui.text(String(count(ref)))]);
    const table = rows.length ? ui.table(['Entity', 'Visits'], rows) : ui.empty('No visits yet.');
    return ui.finish(ui.section(`Visits, seen by ${viewer.userRef || 'anonymous'}`, [table]));
  },
};

export const interactions = {
  handleAction(request) {
    const ref = request.entity?.entityRef;
    if (request.actionId !== 'visit' || !ref) throw `unknown action '${request.actionId}'`;
    const visits = count(ref) + 1;
    storage.set(`visits/${ref}`, new TextEncoder().encode(String(visits)));
    return { tree: card(ref), notice: { message: `Visit ${visits} counted.`, tone: 'success' } };
  },
};

export const incomingHandler = {
  handle(request, responseOut) {
    serve(request, responseOut, (req) => {
      if (req.method === 'GET' && req.route.startsWith('/count/')) {
        const ref = decodeURIComponent(req.route.slice('/count/'.length));
        return { status: 200, contentType: 'application/json', body: JSON.stringify({ entityRef: ref, visits: count(ref) }) };
      }
      return { status: 404, contentType: 'text/plain', body: `no route ${req.method} ${req.route}` };
    });
  },
};

function card(ref) {
  const ui = new Ui();
  const facts = ui.keyValues([['Visits', String(count(ref))]]);
  const visit = ui.button('visit', 'Visit', 'success');
  return ui.finish(ui.list([facts, visit]));
}

function count(ref) {
  const stored = storage.get(`visits/${ref}`);
  return stored ? Number(new TextDecoder().decode(stored)) : 0;
}

function visited() {
  return storage.listKeys('visits/', undefined, 100).map((key) => key.slice('visits/'.length));
}
