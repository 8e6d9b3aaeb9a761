// What the scoping interpreter tracks: values as they are for tenancy (the current user, their
// company, their id, a caller's parameter, a query on a model with the strongest scope its
// filters give it), the environments of a walk, and the words for a query's scope.
import type { Node } from '../parser.ts';
import type { Model } from './models.ts';
import { named, type Module } from './project.ts';

export type Rank = 0 | 1 | 2 | 3;
export const RANK_NAMES: Record<Rank, 'unscoped' | 'by-id' | 'by-user' | 'by-company'> = { 0: 'unscoped', 1: 'by-id', 2: 'by-user', 3: 'by-company' };

export interface Query {
  model: Model;
  rank: Rank;
  /** the models joined into it (their columns may scope it) */
  entities: Model[];
  /** the call that starts it: db.query(M), select(M), M.query */
  root: Node;
  module: Module;
  style: 'query' | 'select';
  /** scoped by a company value that may be None (no "No company associated" guard) */
  unguarded: boolean;
}

export type Lazy = { node: Node; env: Env; module: Module; params: Params };
export type Val =
  | { k: 'user' }
  | { k: 'company'; guarded: boolean }
  | { k: 'userId' }
  | { k: 'param' }
  | { k: 'none' }
  | { k: 'model'; model: Model }
  | { k: 'column'; model: Model; name: string }
  | { k: 'query'; q: Query }
  | { k: 'record'; q: Query }
  | { k: 'cond'; at: Lazy }
  | { k: 'list'; items: Lazy[] }
  | { k: 'unknown' };
export type Alt = { lazy: Lazy } | { val: Val };
export type Env = Map<string, Alt[]>;
export type Params = Map<string, Val[]>;

export interface QueryUse {
  q: Query;
  /** the helpers the query was reached through (handler first) */
  via: string[];
  /** the function the query is written in, and its user parameter there (for the fix) */
  fn: Node;
  userParam: string | null;
}

export interface CreateUse {
  model: Model;
  node: Node;
  module: Module;
  setsCompany: boolean;
  fn: Node;
  userParam: string | null;
}

export interface Scoping {
  /** whether the handler knows its caller (a user dependency) */
  authenticated: boolean;
  uses: QueryUse[];
  creates: CreateUse[];
}

export const CHAIN = new Set([
  'filter',
  'where',
  'filter_by',
  'join',
  'outerjoin',
  'order_by',
  'offset',
  'limit',
  'options',
  'group_by',
  'having',
  'distinct',
  'with_for_update',
  'execution_options',
  'select_from',
  'params',
  'yield_per',
  'populate_existing',
]);
export const TERMINALS = new Set([
  'first',
  'all',
  'one',
  'one_or_none',
  'scalar',
  'scalar_one',
  'scalar_one_or_none',
  'count',
  'delete',
  'update',
  'exists',
  'first_or_404',
  'one_or_404',
  'get_or_404',
  'paginate',
]);
export const PASS_THROUGH = new Set(['execute', 'scalars', 'scalar', 'unique', 'mappings', 'subquery', 'scalar_subquery', 'as_scalar', 'cte', 'alias']);
export const USER_DEPENDENCY = /current_user|get_user|active_user|authenticated|require_user|logged_in|auth/i;
export const ADMIN_TEST = /super_?admin|superuser|is_platform_admin|is_root/i;
export const MAX_DEPTH = 3;

export const rankMin = (a: Rank, b: Rank): Rank => Math.min(a, b) as Rank;
export const rankMax = (a: Rank, b: Rank): Rank => Math.max(a, b) as Rank;

export interface WalkCtx {
  module: Module;
  params: Params;
  depth: number;
  via: string[];
  out: Scoping | null;
  fn: Node;
  returns: Alt[];
}

export function withVar(env: Env, name: string, alts: Alt[]): Env {
  const e = new Map(env);
  e.set(name, alts);
  return e;
}

export function merge(envs: Env[]): Env {
  const out: Env = new Map();
  for (const e of envs) {
    for (const [k, alts] of e) {
      const had = out.get(k) ?? [];
      for (const a of alts) if (!had.includes(a)) had.push(a);
      out.set(k, had);
    }
  }
  return out;
}

/** Whether a condition tests for a super admin ('admin'), its negation ('not-admin'), or neither. */
export function adminTest(cond: Node): 'admin' | 'not-admin' | null {
  if (cond.type === 'parenthesized_expression' && cond.namedChild(0)) return adminTest(cond.namedChild(0)!);
  if (cond.type === 'not_operator') {
    const inner = named(cond, 'argument');
    const t = inner ? adminTest(inner) : null;
    return t === 'admin' ? 'not-admin' : t === 'not-admin' ? 'admin' : null;
  }
  if (cond.type === 'call' || cond.type === 'attribute' || cond.type === 'identifier') return ADMIN_TEST.test(cond.text) ? 'admin' : null;
  if (cond.type === 'comparison_operator') {
    const text = cond.text;
    if (!ADMIN_TEST.test(text)) return null;
    return /!=|is not/.test(text) ? 'not-admin' : 'admin';
  }
  return null;
}

/** The name of the parameter that holds the current user, if the function has one. */
export function userParamOf(params: Params): string | null {
  for (const [name, vals] of params) if (vals.some((v) => v.k === 'user')) return name;
  return null;
}

/** The name an `if not x:` / `if x is None:` tests when its block only raises or returns (a guard), else null. */
export function guardedName(cond: Node, consequence: Node): string | null {
  const last = consequence.namedChildren[consequence.namedChildCount - 1];
  if (!last || (last.type !== 'raise_statement' && last.type !== 'return_statement')) return null;
  if (cond.type === 'not_operator' && named(cond, 'argument')?.type === 'identifier') return named(cond, 'argument')!.text;
  if (
    cond.type === 'comparison_operator' &&
    cond.namedChild(1)?.type === 'none' &&
    cond.namedChild(0)?.type === 'identifier' &&
    /^\S+ is None$/.test(cond.text)
  )
    return cond.namedChild(0)!.text;
  return null;
}
