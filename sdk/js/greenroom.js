// Helpers for Greenroom plugins written in JavaScript.
//
// `greenroom plugin build` places this module beside the plugin's `app.js`, so
// `import { Ui, annotation } from './greenroom.js'` works. It wraps the contract's imports
// (`greenroom:plugin/...@0.1.0`, which a plugin may also import directly) in the shapes a
// plugin author works with:
//
// - `Ui`: builds the declarative UI tree an entity tab returns;
// - `annotation`, `related`, `spec`: read an entity;
// - `catalog`, `docs`: the catalog and TechDocs imports;
// - `config`, `log`: the plugin's settings and the server's log.
//
// Throwing a string from an export fails the call with that message, shown in the portal.

import * as catalogImport from 'greenroom:plugin/catalog@0.1.0';
import * as configImport from 'greenroom:plugin/config@0.1.0';
import * as docsImport from 'greenroom:plugin/docs@0.1.0';
import * as logImport from 'greenroom:plugin/log@0.1.0';

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

  finish(root) {
    return { nodes: this.nodes, root };
  }
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

/** The docs import: `listPages(ref)` and `getPage(ref, path)` (HTML already sanitized). */
export const docs = docsImport;

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
