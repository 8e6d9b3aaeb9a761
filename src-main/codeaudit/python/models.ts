// SQLAlchemy declarative models: a class with __tablename__, its columns (Column, mapped_column,
// inherited from mixins of the project) and the tables its foreign keys point at.
import type { Node } from '../parser.ts';
import { definitionOf, named, type Module, type Project } from './project.ts';

export interface ModelColumn {
  name: string;
  /** the table a ForeignKey("table.column") points at */
  references: string | null;
  /** the right-hand side as written (copied when a model gains company_id like another's) */
  definition: string;
  line: number;
  module: Module;
  /** not in the source: the database has it (a migration added it), copied from a model that declares it */
  undeclared?: boolean;
}

export interface Model {
  name: string;
  table: string;
  module: Module;
  node: Node;
  line: number;
  columns: Map<string, ModelColumn>;
  /** the column the catalog derives its company through (owner or parent), tried first on the way to the company */
  derivedBy?: string;
  /** the table's columns in the database, when it was read */
  dbColumns?: string[] | null;
}

const COLUMN_CALLS = new Set(['Column', 'mapped_column']);

function stringValue(n: Node | null): string | null {
  if (!n || n.type !== 'string') return null;
  return n.namedChildren
    .filter((c) => c?.type === 'string_content')
    .map((c) => c!.text)
    .join('');
}

function calleeName(call: Node): string {
  const f = named(call, 'function');
  return f?.type === 'attribute' ? named(f, 'attribute')!.text : (f?.text ?? '');
}

/** The class body's assignments: (name, right-hand side, statement). */
function classAssignments(cls: Node): Array<{ name: string; right: Node; line: number }> {
  const out: Array<{ name: string; right: Node; line: number }> = [];
  for (const st of named(cls, 'body')?.namedChildren ?? []) {
    if (st?.type !== 'expression_statement') continue;
    const a = st.namedChild(0);
    if (a?.type !== 'assignment') continue;
    const left = named(a, 'left');
    const right = named(a, 'right');
    if (left?.type === 'identifier' && right) out.push({ name: left.text, right, line: st.startPosition.row + 1 });
  }
  return out;
}

function columnOf(name: string, right: Node, line: number, module: Module): ModelColumn | null {
  if (right.type !== 'call' || !COLUMN_CALLS.has(calleeName(right))) return null;
  let columnName = name;
  let references: string | null = null;
  const args = named(right, 'arguments')?.namedChildren ?? [];
  const first = stringValue(args[0] ?? null);
  if (first) columnName = first;
  for (const fk of right.descendantsOfType('call')) {
    if (fk && calleeName(fk) === 'ForeignKey') {
      const target = stringValue(named(fk, 'arguments')?.namedChild(0) ?? null);
      if (target) references = target.split('.')[0]!;
    }
  }
  return { name: columnName, references, definition: right.text, line, module };
}

/** Every model of the project, by class name. */
export function findModels(project: Project): Map<string, Model> {
  const models = new Map<string, Model>();
  const columnsOfClass = (m: Module, cls: Node, seen: Set<Node>): Map<string, ModelColumn> => {
    const cols = new Map<string, ModelColumn>();
    if (seen.has(cls)) return cols;
    seen.add(cls);
    // mixins first, so the class's own columns win
    for (const base of named(cls, 'superclasses')?.namedChildren ?? []) {
      if (!base || (base.type !== 'identifier' && base.type !== 'attribute')) continue;
      const def = project.resolveExpr(m, base);
      if (def?.kind === 'class') for (const [k, v] of columnsOfClass(def.module, def.node, seen)) cols.set(k, v);
    }
    for (const a of classAssignments(cls)) {
      const c = columnOf(a.name, a.right, a.line, m);
      if (c) cols.set(c.name, c);
    }
    return cols;
  };
  for (const m of project.modules) {
    for (const [name, st] of m.classes) {
      const cls = definitionOf(st);
      const table = classAssignments(cls).find((a) => a.name === '__tablename__');
      const tableName = stringValue(table?.right ?? null);
      if (!tableName) continue;
      models.set(name, { name, table: tableName, module: m, node: cls, line: cls.startPosition.row + 1, columns: columnsOfClass(m, cls, new Set()) });
    }
  }
  return models;
}

/** The model of a table. */
export const modelOfTable = (models: Map<string, Model>, table: string): Model | undefined => [...models.values()].find((m) => m.table === table);

export interface Hop {
  from: Model;
  column: string;
  to: Model;
}

/** The foreign keys from a model to the nearest model with company_id (owner, parent, grand-parent), or null. */
export function pathToCompany(m: Model, models: Map<string, Model>, maxHops: number): Hop[] | null {
  let memo = paths.get(models);
  if (!memo) paths.set(models, (memo = new Map()));
  const key = `${m.name}:${maxHops}`;
  if (!memo.has(key)) memo.set(key, findPath(m, models, maxHops));
  return memo.get(key)!;
}

const paths = new WeakMap<Map<string, Model>, Map<string, Hop[] | null>>();

function findPath(m: Model, models: Map<string, Model>, maxHops: number): Hop[] | null {
  const byTable = new Map([...models.values()].map((x) => [x.table, x]));
  const queue: Array<{ at: Model; path: Hop[] }> = [{ at: m, path: [] }];
  const seen = new Set([m.table]);
  while (queue.length) {
    const { at, path } = queue.shift()!;
    if (path.length && at.columns.has('company_id')) return path;
    if (path.length >= maxHops) continue;
    const cols = [...at.columns.values()].sort((a, b) => Number(b.name === at.derivedBy) - Number(a.name === at.derivedBy));
    for (const c of cols) {
      const to = c.references ? byTable.get(c.references) : undefined;
      if (!to || seen.has(to.table)) continue;
      seen.add(to.table);
      queue.push({ at: to, path: [...path, { from: at, column: c.name, to }] });
    }
  }
  return null;
}

/** Whether the source declares company_id on the model (not only the database). */
export const declaresCompany = (m: Model): boolean => !!m.columns.get('company_id') && !m.columns.get('company_id')!.undeclared;

/**
 * The models against the database's tables: each model learns its table's columns, and a model
 * whose table has company_id that the source does not declare is given it (marked undeclared), so
 * that fixes filter on it directly. Returns the models that differ from their table.
 */
export function alignWithDatabase(models: Map<string, Model>, tables: Map<string, string[]>, usersTable: string): Model[] {
  const declared = [...models.values()].filter(declaresCompany);
  const like = (declared.find((m) => m.table === usersTable) ?? declared[0])?.columns.get('company_id');
  const differ: Model[] = [];
  for (const m of models.values()) {
    const cols = tables.get(m.table);
    m.dbColumns = cols ?? null;
    if (cols?.includes('company_id') && !m.columns.has('company_id') && like) m.columns.set('company_id', { ...like, undeclared: true });
    const undeclared = !!m.columns.get('company_id')?.undeclared;
    if (undeclared || !cols || cols.some((c) => !m.columns.has(c)) || [...m.columns.keys()].some((c) => !cols.includes(c))) differ.push(m);
  }
  return differ;
}
