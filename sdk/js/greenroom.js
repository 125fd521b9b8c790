// Helpers for Greenroom plugins written in JavaScript.
//
// `greenroom plugin build` places this module beside the plugin's `app.js`, so
// `import { Ui, annotation } from './greenroom.js'` works. It wraps the contract's imports
// (`greenroom:plugin/...@0.2.0`, which a plugin may also import directly) in the shapes a
// plugin author works with:
//
// - `Ui`: builds the declarative UI tree a tab, card or page returns, buttons and forms
//   included (their use calls the plugin's `interactions` export);
// - `field`: a form's fields; `value`: a submitted form value by field name;
// - `annotation`, `related`, `spec`: read an entity;
// - `catalog`, `docs`, `storage`, `templating`: the contract's imports themselves
//   (`storage` is the plugin's own key-value store: `get`, `set`, `delete`, `listKeys`);
// - `config`, `log`: the plugin's settings and the server's log;
// - `schedule`: `schedule.runSoon('entity-provider' | 'search-documents')` asks the host to
//   run the plugin's entity provider or collect its search documents now;
// - `httpGet`: outgoing HTTP over wasi:http (only to hosts the operator granted);
// - `serve`: the plugin's own HTTP routes (`/api/plugins/<id>/http/...`), from its
//   `incomingHandler.handle`.
//
// Throwing a string from an export fails the call with that message, shown in the portal.

import * as catalogImport from 'greenroom:plugin/catalog@0.2.0';
import * as configImport from 'greenroom:plugin/config@0.2.0';
import * as docsImport from 'greenroom:plugin/docs@0.2.0';
import * as logImport from 'greenroom:plugin/log@0.2.0';
import * as scheduleImport from 'greenroom:plugin/schedule@0.2.0';
import * as storageImport from 'greenroom:plugin/storage@0.2.0';
import * as templatingImport from 'greenroom:plugin/templating@0.2.0';
import { handle } from 'wasi:http/outgoing-handler@0.2.12';
import {
  Fields, OutgoingBody, OutgoingRequest, OutgoingResponse, RequestOptions, ResponseOutparam,
} from 'wasi:http/types@0.2.12';

const TONES = ['neutral', 'info', 'success', 'warning', 'danger'];

/** Builds a UI tree. Each method adds a node and returns its id; containers take the ids of
 * nodes added before them, so the tree has no cycles. */
export class Ui {
  constructor() {
    this.nodes = [];
  }

  add(tag, val) {
    this.nodes.push({ tag, val });
    return this.nodes.length - 1;
  }

  heading(text) { return this.add('heading', text); }
  text(text) { return this.add('text', text); }
  /** Rendered and sanitized by the server. */
  markdown(source) { return this.add('markdown', source); }
  /** `url` is http(s) or a portal path starting with `/`. */
  link(label, url) { return this.add('link', { label, url }); }
  /** `tone`: neutral, info, success, warning or danger. */
  badge(label, tone = 'neutral') {
    if (!TONES.includes(tone)) throw `unknown badge tone '${tone}'`;
    return this.add('badge', { label, tone });
  }
  table(columns, rows) { return this.add('table', { columns, rows }); }
  /** `pairs`: an array of [key, value]. */
  keyValues(pairs) { return this.add('key-values', pairs); }
  code(code, language) { return this.add('code', { language, code }); }
  list(children) { return this.add('list', children); }
  section(title, children) { return this.add('section', { title, children }); }
  empty(message) { return this.add('empty', message); }
  /** Pressing it calls `handleAction` with `actionId`; with `confirm`, the user is asked
   * that question first. */
  button(actionId, label, tone = 'neutral', confirm = undefined) {
    if (!TONES.includes(tone)) throw `unknown button tone '${tone}'`;
    return this.add('button', { actionId, label, tone, confirm });
  }
  /** Submitting it calls `handleAction` with `actionId` and each field's value. */
  form(actionId, fields, submitLabel) { return this.add('form', { actionId, fields, submitLabel }); }

  finish(root) {
    return { nodes: this.nodes, root };
  }
}

/** A form's fields. `select` takes [value, label] pairs. */
export const field = {
  text: (name, label, value = '', required = false) =>
    ({ name, label, kind: { tag: 'text', val: value }, required }),
  number: (name, label, value = 0, required = false) =>
    ({ name, label, kind: { tag: 'number', val: value }, required }),
  select: (name, label, options, selected = undefined) =>
    ({ name, label, kind: { tag: 'select', val: { options, selected } }, required: false }),
  checkbox: (name, label, checked = false) =>
    ({ name, label, kind: { tag: 'checkbox', val: checked }, required: false }),
};

/** The submitted value of field `name` of an action request, or undefined. */
export function value(request, name) {
  return request.values.find(([key]) => key === name)?.[1]?.val;
}

/** The value of one of the entity's annotations, or undefined. */
export function annotation(entity, key) {
  const found = entity.annotations.find(([k]) => k === key);
  return found?.[1];
}

/** Target refs of the entity's relations of one type (`ownedBy`, `dependsOn`, ...). */
export function related(entity, type) {
  return entity.relations.filter((r) => r.type === type).map((r) => r.targetRef);
}

/** The entity's `spec` as an object. */
export function spec(entity) {
  return JSON.parse(entity.specJson);
}

/** The catalog import: `getEntity(ref)`, `query(filters, limit, cursor)`, `relations(ref)`.
 * Each throws the host's message on failure. */
export const catalog = catalogImport;

/** The plugin's own key-value store: `get(key)`, `set(key, bytes)`, `delete(key)`,
 * `listKeys(prefix, startAfter, limit)`. Values are `Uint8Array`s; each throws the host's
 * message on failure (a `set` past the quota, for one). */
export const storage = storageImport;

/** `runSoon(job)`: see `schedule` in the contract; throws the host's message when refused. */
export const schedule = scheduleImport;

/** The docs import: `listPages(ref)` and `getPage(ref, path)` (HTML already sanitized). */
export const docs = docsImport;

/** The templating import: `render(template, valuesJson)` (minijinja; undefined variables are
 * errors). */
export const templating = templatingImport;

/** A setting the operator granted this plugin, or undefined when unset. */
export function config(key) {
  try {
    return configImport.get(key);
  } catch (e) {
    throw `config '${key}': ${e.payload ?? e}`;
  }
}

/** Writes to the server's log under this plugin's id. `level`: trace, debug, info, warn,
 * error. */
export function log(level, message) {
  logImport.log(level, message);
}

/** `GET url` (http or https) with optional headers (an object), reading the whole body.
 * Blocks until the answer arrives or the call's deadline passes; with `{ timeoutMs }` it
 * throws `no response within ...` sooner (keep it shorter than the call's deadline, 2 s
 * unless the operator sets another, so the plugin can still show its own message). Returns
 * `{ status, headers, body, text(), json() }`; throws a message naming the request and what
 * failed, e.g. `GET <url>: denied: host <host:port> is not granted to plugin <id>`. */
export function httpGet(url, headers = {}, { timeoutMs } = {}) {
  const parsed = new URL(url);
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw `'${url}' is not an http(s) URL`;
  }
  const encoder = new TextEncoder();
  const fields = Fields.fromList(
    Object.entries(headers).map(([name, value]) => [name, encoder.encode(value)]),
  );
  const request = new OutgoingRequest(fields);
  request.setMethod({ tag: 'get' });
  request.setScheme({ tag: parsed.protocol === 'https:' ? 'HTTPS' : 'HTTP' });
  request.setAuthority(parsed.host);
  request.setPathWithQuery(parsed.pathname + parsed.search);
  let options;
  if (timeoutMs !== undefined) {
    const nanos = BigInt(Math.round(timeoutMs * 1e6));
    options = new RequestOptions();
    options.setConnectTimeout(nanos);
    options.setFirstByteTimeout(nanos);
    options.setBetweenBytesTimeout(nanos);
  }
  let future;
  try {
    future = handle(request, options);
  } catch (e) {
    throw `GET ${url}: ${describe(e.payload ?? e, timeoutMs)}`;
  }
  let answer = future.get();
  while (answer === undefined) {
    future.subscribe().block();
    answer = future.get();
  }
  if (answer.tag === 'err' || answer.val.tag === 'err') {
    throw `GET ${url}: ${describe(answer.tag === 'err' ? answer.val : answer.val.val, timeoutMs)}`;
  }
  const response = answer.val.val;
  let body;
  try {
    body = readAll(response.consume().stream());
  } catch {
    throw `GET ${url}: reading the body failed`;
  }
  const text = () => new TextDecoder().decode(body);
  return {
    status: response.status(),
    headers: response.headers().entries(),
    body,
    text,
    json: () => JSON.parse(text()),
  };
}

const PLAIN_WORDS = {
  'HTTP-request-denied': 'denied: the host is not granted to this plugin',
  'DNS-timeout': 'the host name does not resolve',
  'DNS-error': 'the host name does not resolve',
  'destination-not-found': 'the host name does not resolve',
  'connection-refused': 'connection refused',
  'destination-unavailable': 'the host cannot be reached',
  'destination-IP-unroutable': 'the host cannot be reached',
  'connection-terminated': 'the connection was closed early',
  'TLS-certificate-error': "the server's TLS certificate was not accepted",
  'TLS-protocol-error': 'TLS failed',
  'TLS-alert-received': 'TLS failed',
};

/** What went wrong, in words: the host's own explanation when it gave one (a refused host),
 * else the error code described. */
function describe(error, timeoutMs) {
  const within = timeoutMs === undefined ? "before the call's deadline" : `within ${timeoutMs} ms`;
  const tag = error?.tag;
  if (tag === 'internal-error' && error.val) return error.val;
  if (tag === 'connection-timeout') return `no connection ${within}`;
  if (tag === 'connection-read-timeout' || tag === 'HTTP-response-timeout') return `no response ${within}`;
  if (tag in PLAIN_WORDS) return PLAIN_WORDS[tag];
  return tag ? `${tag}${error.val !== undefined ? ` (${JSON.stringify(error.val)})` : ''}` : String(error);
}

/** Answers one request to the plugin's routes (call it from `incomingHandler.handle`): reads
 * the request whole and calls `handle({ method, path, route, headers, body, header(name),
 * viewer(), text(), json() })`, which returns `{ status, body?, contentType? }` (a string
 * or `Uint8Array` body). `path` is below the plugin's `/http`, with the query; `route`
 * without it; `viewer()` is the host's `x-greenroom-viewer` (undefined when anonymous). */
export function serve(request, responseOut, handle) {
  const method = request.method();
  const headers = request.headers().entries();
  const path = request.pathWithQuery() ?? '/';
  const body = readAll(request.consume().stream());
  const decoder = new TextDecoder();
  const header = (name) => {
    const found = headers.find(([key]) => key.toLowerCase() === name.toLowerCase());
    return found ? decoder.decode(found[1]) : undefined;
  };
  const reply = handle({
    method: method.tag === 'other' ? method.val : method.tag.toUpperCase(),
    path,
    route: path.split('?')[0],
    headers,
    body,
    header,
    viewer: () => header('x-greenroom-viewer') || undefined,
    text: () => decoder.decode(body),
    json: () => JSON.parse(decoder.decode(body)),
  });
  const bytes = typeof reply.body === 'string' ? new TextEncoder().encode(reply.body) : (reply.body ?? new Uint8Array());
  const fields = Fields.fromList(
    reply.contentType ? [['content-type', new TextEncoder().encode(reply.contentType)]] : [],
  );
  const response = new OutgoingResponse(fields);
  response.setStatusCode(reply.status);
  const outgoing = response.body();
  ResponseOutparam.set(responseOut, { tag: 'ok', val: response });
  const out = outgoing.write();
  for (let at = 0; at < bytes.length; at += 4096) {
    out.blockingWriteAndFlush(bytes.subarray(at, at + 4096));
  }
  out[Symbol.dispose]?.();
  OutgoingBody.finish(outgoing, undefined);
}

/** Everything an input stream holds, to its end, as one `Uint8Array`. */
function readAll(stream) {
  const chunks = [];
  for (;;) {
    try {
      chunks.push(stream.blockingRead(65536n));
    } catch (e) {
      if ((e.payload ?? e)?.tag === 'closed') break;
      throw e;
    }
  }
  const body = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  chunks.reduce((at, chunk) => (body.set(chunk, at), at + chunk.length), 0);
  return body;
}
