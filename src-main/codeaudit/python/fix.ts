// Fixes in the seed's AFTER style, as text edits of the checkout's own files: the company guard
// before the statement, the company filter (or the join to the company through the owner or
// parent) on the query, the super admin's bypass kept where the module has one, and the imports
// the new lines need. Nothing is written: the edits become a unified diff.
import type { Node } from '../parser.ts';
import { pathToCompany, type Model } from './models.ts';
import { named, paramName, type Module, type Project } from './project.ts';
import type { CreateUse, QueryUse } from './scoping.ts';

export interface FixOptions {
  project: Project;
  models: Map<string, Model>;
  usersTable: string;
  /** Phase 1 landed: every model has company_id, so queries filter on it directly */
  afterMigration: boolean;
}

/** One change to a file's text (offsets in the file's string). */
export interface Edit {
  file: string;
  start: number;
  end: number;
  text: string;
  /** an import line: merged with the same line from other fixes */
  importLine?: boolean;
}

export interface Fix {
  edits: Edit[];
  /** why there is no fix, when there is none */
  noFix: string | null;
}

const ADMIN = /^(is_super_admin|is_superadmin|is_superuser|is_platform_admin)$/;
const CHAIN = new Set(['filter', 'where', 'filter_by', 'join', 'outerjoin', 'order_by', 'options', 'offset', 'limit']);

function enclosingFunction(n: Node): Node | null {
  let p: Node | null = n.parent;
  while (p && p.type !== 'function_definition') p = p.parent;
  return p;
}

function statementOf(n: Node): Node {
  let s = n;
  while (s.parent && s.parent.type !== 'block' && s.parent.type !== 'module') s = s.parent;
  return s;
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

function indentAt(text: string, offset: number): string {
  const start = lineStart(text, offset);
  return text.slice(start).match(/^[ \t]*/)![0];
}

/** The name a model has in a module (an import alias, its own class), or null when unbound. */
function localName(project: Project, m: Module, model: Model): string | null {
  for (const name of [...m.imports.keys(), ...m.classes.keys()]) {
    const def = project.resolve(m, name);
    if (def?.kind === 'class' && def.name === model.name && def.module === model.module) return name;
  }
  return null;
}

/** The bound names of a module (imports, functions, classes, globals). */
const bound = (m: Module) => new Set([...m.imports.keys(), ...m.functions.keys(), ...m.classes.keys(), ...m.globals.keys()]);

/** Where new import lines go: after the module's last top-level import. */
function importAt(m: Module): number {
  let end = 0;
  for (const st of m.tree.rootNode.namedChildren) {
    if (st && (st.type === 'import_statement' || st.type === 'import_from_statement' || st.type === 'future_import_statement')) end = st.endIndex;
  }
  return end;
}

/** An import line for a model a module does not bind: from the package it already imports models from, when that re-exports it. */
function importModel(project: Project, m: Module, model: Model): string {
  for (const [, b] of m.imports) {
    if (!b.name) continue;
    const from = project.module(b.module);
    if (!from) continue;
    const def = project.resolve(from, model.name);
    if (def?.kind === 'class' && def.module === model.module) return `from ${b.module} import ${model.name}`;
  }
  const via = [...m.imports.values()].find((b) => project.module(b.module));
  const name = via ? project.importName(model.module, via.module, project.module(via.module)!) : model.module.dotted;
  return `from ${name} import ${model.name}`;
}

interface Writer {
  module: Module;
  edits: Edit[];
  names: Set<string>;
  nameOf(model: Model): string;
  need(name: string, line: string): void;
}

function writer(project: Project, m: Module): Writer {
  const names = bound(m);
  const at = importAt(m);
  const w: Writer = {
    module: m,
    edits: [],
    names,
    nameOf(model) {
      const n = localName(project, m, model);
      if (n) return n;
      w.need(model.name, importModel(project, m, model));
      return model.name;
    },
    need(name, line) {
      if (names.has(name)) return;
      names.add(name);
      w.edits.push({ file: m.path, start: at, end: at, text: `\n${line}`, importLine: true });
    },
  };
  return w;
}

/** How the function gets the company: the module's own helper, else the seed's lines. */
function companyLines(w: Writer, fn: Node, user: string, guard: boolean): string[] {
  const helper = [...w.names].find((n) => /^require_company$/.test(n));
  if (helper && guard) return [`company_id = ${helper}(${user})`];
  // a dict user (current_user["id"]) as this module (or the function) reads it, else an object
  const dict = [fn.text, w.module.text].some((t) => t.includes(`${user}[`) || t.includes(`${user}.get(`));
  let first: string;
  if (dict) {
    w.need('uuid', 'import uuid');
    first = `company_id = uuid.UUID(${user}["company_id"]) if ${user}.get("company_id") else None`;
  } else first = `company_id = ${user}.company_id`;
  if (!guard) return [first];
  w.need('HTTPException', 'from fastapi import HTTPException');
  return [first, 'if not company_id:', '    raise HTTPException(status_code=403, detail="No company associated")'];
}

function userOf(fn: Node, given: string | null): string | null {
  if (given) return given;
  for (const p of named(fn, 'parameters')?.namedChildren ?? []) {
    const name = p && paramName(p);
    if (name && /^(current_user|user|me|caller)$/.test(name)) return name;
  }
  return null;
}

/** The scope a query needs: a filter on its company_id, or joins to the nearest model that has one. */
function scopeText(w: Writer, model: Model, opts: FixOptions, style: 'query' | 'select'): string | null {
  const filter = style === 'select' ? 'where' : 'filter';
  if (opts.afterMigration || model.columns.has('company_id')) return `.${filter}(${w.nameOf(model)}.company_id == company_id)`;
  const path = pathToCompany(model, opts.models, 3);
  if (!path) return null;
  const joins = path.map((h) => `.join(${w.nameOf(h.to)}, ${w.nameOf(h.to)}.id == ${w.nameOf(h.from)}.${h.column})`).join('');
  return `${joins}.${filter}(${w.nameOf(path[path.length - 1]!.to)}.company_id == company_id)`;
}

/** session.get(Model, id): its parts as written, or null. */
function sessionGet(root: Node): { session: string; model: string; id: string } | null {
  const f = named(root, 'function');
  const args = (named(root, 'arguments')?.namedChildren ?? []).filter((a): a is Node => !!a);
  if (f?.type !== 'attribute' || named(f, 'attribute')!.text !== 'get' || args.length < 2) return null;
  return { session: named(f, 'object')!.text, model: args[0]!.text, id: args[1]!.text };
}

/** The fix of a query that is not scoped by company. */
export function fixQuery(u: QueryUse, opts: FixOptions): Fix {
  const m = u.q.module;
  const root = u.q.root;
  const fn = enclosingFunction(root);
  if (!fn) return { edits: [], noFix: 'the query is at module level: scope it where it is used' };
  const user = userOf(fn, u.userParam);
  if (!user)
    return {
      edits: [],
      noFix: `the query is written in ${named(fn, 'name')!.text}(), which is not given the current user: pass it in and filter by company there`,
    };
  // the query as built, before what runs it (.first(), .all())
  let top = root;
  while (top.parent?.type === 'attribute' && top.parent.parent?.type === 'call' && CHAIN.has(named(top.parent, 'attribute')!.text)) top = top.parent.parent;
  const st = statementOf(root);
  const w = writer(opts.project, m);
  const scope = scopeText(w, u.q.model, opts, u.q.style);
  if (!scope) return { edits: [], noFix: `${u.q.model.name} has no company_id and no foreign key leads to a model that has one` };
  const text = m.text;
  const ind = indentAt(text, st.startIndex);
  const lines = (ls: string[], extra = '') => ls.map((l) => `${ind}${extra}${l}\n`).join('');
  const admin = [...w.names].find((n) => ADMIN.test(n));
  const at = lineStart(text, st.startIndex);
  // session.get(Model, id) takes no filter: it becomes the query it stands for
  const get = sessionGet(root);
  const topText = get ? `${get.session}.query(${get.model}).filter(${get.model}.id == ${get.id})` : top.text;
  const terminal = get ? '.first()' : '';
  if (!admin) {
    const company = companyLines(w, fn, user, true);
    w.edits.push({ file: m.path, start: at, end: at, text: lines(company) });
    if (get) w.edits.push({ file: m.path, start: root.startIndex, end: root.endIndex, text: `${topText}${scope}${terminal}` });
    else w.edits.push({ file: m.path, start: root.endIndex, end: root.endIndex, text: scope });
    return { edits: w.edits, noFix: null };
  }
  // keep the super admin's way: scope everyone else
  const company = companyLines(w, fn, user, true);
  const assign = st.namedChild(0);
  const isAssign = assign?.type === 'assignment' && named(assign, 'left')?.type === 'identifier' && named(assign, 'right')?.id === top.id;
  if (isAssign && !get) {
    const q = named(assign!, 'left')!.text;
    const after = text.indexOf('\n', st.endIndex) + 1 || text.length;
    w.edits.push({
      file: m.path,
      start: after,
      end: after,
      text: lines([`if not ${admin}(${user}):`]) + lines(company, '    ') + lines([`${q} = ${q}${scope}`], '    '),
    });
    return { edits: w.edits, noFix: null };
  }
  // a name the function already uses (db.query does not count)
  const taken = /(^|[^.\w])query\b/m.test(fn.text);
  const q = taken ? 'scoped' : 'query';
  w.edits.push({
    file: m.path,
    start: at,
    end: at,
    text: lines([`${q} = ${topText}`, `if not ${admin}(${user}):`]) + lines(company, '    ') + lines([`${q} = ${q}${scope}`], '    '),
  });
  w.edits.push({ file: m.path, start: top.startIndex, end: top.endIndex, text: `${q}${terminal}` });
  return { edits: w.edits, noFix: null };
}

/** The fix of a create that leaves company_id out: the seed's POST pattern. */
export function fixCreate(c: CreateUse, opts: FixOptions): Fix {
  const fn = enclosingFunction(c.node);
  const user = fn ? userOf(fn, c.userParam) : null;
  if (!fn || !user) return { edits: [], noFix: 'the row is made where the current user is not at hand: set company_id there by hand' };
  const m = c.module;
  const w = writer(opts.project, m);
  const st = statementOf(c.node);
  const at = lineStart(m.text, st.startIndex);
  const ind = indentAt(m.text, st.startIndex);
  w.edits.push({
    file: m.path,
    start: at,
    end: at,
    text: companyLines(w, fn, user, false)
      .map((l) => `${ind}${l}\n`)
      .join(''),
  });
  const args = named(c.node, 'arguments')!;
  w.edits.push({
    file: m.path,
    start: args.startIndex + 1,
    end: args.startIndex + 1,
    text: args.namedChildCount ? 'company_id=company_id, ' : 'company_id=company_id',
  });
  return { edits: w.edits, noFix: null };
}

/** The fix of a model without company_id: the column as another model of the project declares it. */
export function fixModel(model: Model, withCompany: Model[], opts: FixOptions): Fix {
  const like = withCompany.find((x) => x.table === opts.usersTable) ?? withCompany[0]; // models that declare it in the source
  const col = like?.columns.get('company_id');
  if (!like || !col) return { edits: [], noFix: 'no model of the project declares company_id to copy it from' };
  const m = model.module;
  const w = writer(opts.project, m);
  // the names the copied definition uses, imported as the model it comes from imports them
  for (const name of new Set(col.definition.match(/\b[A-Za-z_]\w*(?=\s*[(.])/g) ?? [])) {
    if (w.names.has(name)) continue;
    const b = col.module.imports.get(name);
    if (b)
      w.need(
        name,
        b.name ? `from ${b.module} import ${b.name === name ? name : `${b.name} as ${name}`}` : `import ${b.module}${b.module === name ? '' : ` as ${name}`}`,
      );
  }
  const body = named(model.node, 'body')!;
  let last: Node | null = null;
  for (const st of body.namedChildren) {
    const a = st?.type === 'expression_statement' ? st.namedChild(0) : null;
    const right = a?.type === 'assignment' ? named(a, 'right') : null;
    if (right?.type === 'call' && /^(Column|mapped_column)$/.test(named(right, 'function')!.text.split('.').pop()!)) last = st;
  }
  const anchor = last ?? body.namedChildren[0];
  if (!anchor) return { edits: [], noFix: 'the model has an empty body' };
  const ind = indentAt(m.text, anchor.startIndex);
  const after = m.text.indexOf('\n', anchor.endIndex) + 1 || m.text.length;
  w.edits.push({ file: m.path, start: after, end: after, text: `${ind}company_id = ${col.definition}\n` });
  return { edits: w.edits, noFix: null };
}
