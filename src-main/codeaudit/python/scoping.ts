// How a handler scopes what it reads and writes: a small abstract interpreter over the handler's
// body and the project helpers it calls (three levels), on the path a non-super-admin takes.
// Values are tracked as what they are for tenancy (the current user, their company, their id, a
// caller's parameter, a query on a model with the strongest scope its filters give it).
import type { Node } from '../parser.ts';
import type { Model } from './models.ts';
import { named, paramName, type Module, type Project } from './project.ts';
import { stringOf } from './routes.ts';

/** How strongly a query is scoped: 0 not at all, 1 by an id the caller gives, 2 by the current user, 3 by the user's company. */
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

type Lazy = { node: Node; env: Env; module: Module; params: Params };
type Val =
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
type Alt = { lazy: Lazy } | { val: Val };
type Env = Map<string, Alt[]>;
type Params = Map<string, Val[]>;

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

const CHAIN = new Set([
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
const TERMINALS = new Set([
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
const PASS_THROUGH = new Set(['execute', 'scalars', 'scalar', 'unique', 'mappings', 'subquery', 'scalar_subquery', 'as_scalar', 'cte', 'alias']);
const USER_DEPENDENCY = /current_user|get_user|active_user|authenticated|require_user|logged_in|auth/i;
const ADMIN_TEST = /super_?admin|superuser|is_platform_admin|is_root/i;
const MAX_DEPTH = 3;

const rankMin = (a: Rank, b: Rank): Rank => Math.min(a, b) as Rank;
const rankMax = (a: Rank, b: Rank): Rank => Math.max(a, b) as Rank;

export class ScopeAnalyzer {
  private readonly userModel: Model | undefined;
  private readonly companiesTable: string | undefined;

  constructor(
    private readonly project: Project,
    private readonly models: Map<string, Model>,
    usersTable: string,
  ) {
    this.userModel = [...models.values()].find((m) => m.table === usersTable);
    this.companiesTable = this.userModel?.columns.get('company_id')?.references ?? undefined;
  }

  /** The scoping of one handler. */
  analyze(fn: Node, module: Module): Scoping {
    const out: Scoping = { authenticated: false, uses: [], creates: [] };
    const params = this.paramsOf(fn, module, 0);
    out.authenticated = [...params.values()].some((vs) => vs.some((v) => v.k === 'user' || v.k === 'company'));
    this.walkFunction(fn, module, params, 0, [named(fn, 'name')!.text], out);
    // one use per query start: the weakest way it is used
    const byRoot = new Map<number, QueryUse>();
    for (const u of out.uses) {
      const had = byRoot.get(u.q.root.id);
      if (!had || u.q.rank < had.q.rank) byRoot.set(u.q.root.id, u);
    }
    out.uses = [...byRoot.values()];
    return out;
  }

  /** A handler's (or dependency's) parameters: Depends(current user) is the user; Depends(f) is what f returns; others are the caller's. */
  private paramsOf(fn: Node, module: Module, depth: number): Params {
    const params: Params = new Map();
    for (const p of named(fn, 'parameters')?.namedChildren ?? []) {
      if (!p) continue;
      const name = paramName(p);
      if (!name) continue;
      const value = named(p, 'value');
      const type = named(p, 'type');
      const dep = [value, type].flatMap((n) => (n ? [n, ...n.descendantsOfType('call').filter((c): c is Node => !!c)] : [])).find((c) => this.isDepends(c));
      params.set(name, dep ? this.dependency(dep, module, name, depth) : [{ k: 'param' }]);
    }
    return params;
  }

  private isDepends(n: Node): boolean {
    if (n.type !== 'call') return false;
    const f = named(n, 'function')!;
    const name = f.type === 'attribute' ? named(f, 'attribute')!.text : f.text;
    return name === 'Depends' || name === 'Security';
  }

  private dependency(call: Node, module: Module, paramName: string, depth: number): Val[] {
    const target = named(call, 'arguments')?.namedChild(0);
    if (!target) return [{ k: 'unknown' }];
    const name = target.type === 'attribute' ? named(target, 'attribute')!.text : target.text;
    if (USER_DEPENDENCY.test(name) && !/company/i.test(name)) return [{ k: 'user' }];
    const def = this.project.resolveExpr(module, target);
    if (def?.kind === 'function' && depth < MAX_DEPTH) {
      const vals = this.returnsOf(def.node, def.module, this.paramsOf(def.node, def.module, depth + 1), depth + 1);
      if (vals.some((v) => v.k !== 'unknown')) return vals;
    }
    if (/company/i.test(name) || /company/i.test(paramName)) return [{ k: 'company', guarded: true }];
    return [{ k: 'unknown' }];
  }

  // ---- walking a function on the non-admin path

  private walkFunction(fn: Node, module: Module, params: Params, depth: number, via: string[], out: Scoping | null): { returns: Alt[] } {
    const ctx = { module, params, depth, via, out, fn, returns: [] as Alt[] };
    const body = named(fn, 'body');
    if (body) this.walkBlock(body, new Map(), ctx);
    return { returns: ctx.returns };
  }

  private walkBlock(block: Node, env: Env, ctx: WalkCtx): Env {
    for (const st of block.namedChildren) if (st) env = this.walkStatement(st, env, ctx);
    return env;
  }

  private walkStatement(st: Node, env: Env, ctx: WalkCtx): Env {
    switch (st.type) {
      case 'expression_statement': {
        this.scan(st, env, ctx);
        const a = st.namedChild(0);
        if (a?.type === 'assignment') {
          const left = named(a, 'left');
          const right = named(a, 'right');
          if (left?.type === 'identifier' && right) return withVar(env, left.text, [{ lazy: { node: right, env, module: ctx.module, params: ctx.params } }]);
        }
        // filters.append(cond): the list gains an item
        if (a?.type === 'call') {
          const f = named(a, 'function');
          const obj = f?.type === 'attribute' ? named(f, 'object') : null;
          if (f?.type === 'attribute' && named(f, 'attribute')!.text === 'append' && obj?.type === 'identifier' && env.has(obj.text)) {
            const arg = named(a, 'arguments')?.namedChild(0);
            if (arg) {
              const lists = this.evalIn(obj, env, ctx).filter((v): v is Extract<Val, { k: 'list' }> => v.k === 'list');
              const item: Lazy = { node: arg, env, module: ctx.module, params: ctx.params };
              return withVar(
                env,
                obj.text,
                lists.map((l) => ({ val: { k: 'list', items: [...l.items, item] } })),
              );
            }
          }
        }
        return env;
      }
      case 'return_statement': {
        this.scan(st, env, ctx);
        const v = st.namedChild(0);
        if (v) ctx.returns.push({ lazy: { node: v, env, module: ctx.module, params: ctx.params } });
        return env;
      }
      case 'if_statement':
        return this.walkIf(st, env, ctx);
      case 'function_definition':
      case 'class_definition':
      case 'decorated_definition':
        return env;
      default: {
        // for, while, with, try: their blocks in order (a loop body as if it ran once)
        const blocks = st.namedChildren.filter((c): c is Node => !!c);
        let e = env;
        for (const c of blocks) {
          if (c.type === 'block') e = this.walkBlock(c, e, ctx);
          else if (['except_clause', 'finally_clause', 'else_clause'].includes(c.type)) {
            for (const b of c.namedChildren) if (b?.type === 'block') e = this.walkBlock(b, e, ctx);
          } else this.scan(c, e, ctx);
        }
        return e;
      }
    }
  }

  private walkIf(st: Node, env: Env, ctx: WalkCtx): Env {
    const cond = named(st, 'condition')!;
    this.scan(cond, env, ctx);
    const admin = adminTest(cond);
    const consequence = named(st, 'consequence')!;
    const alternatives = st.childrenForFieldName('alternative').filter((c): c is Node => !!c);
    const walkAlternative = (alt: Node, e: Env): Env => {
      if (alt.type === 'elif_clause') {
        // an elif is an if of its own on what is left
        const c = named(alt, 'condition')!;
        this.scan(c, e, ctx);
        const a = adminTest(c);
        const body = named(alt, 'consequence')!;
        if (a === 'admin') return e;
        if (a === 'not-admin') return this.walkBlock(body, e, ctx);
        return merge([this.walkBlock(body, e, ctx), e]);
      }
      const b = named(alt, 'body');
      return b ? this.walkBlock(b, e, ctx) : e;
    };
    if (admin === 'admin') {
      // the super admin's branch is not the tenant's path: what follows it is
      let e = env;
      for (const alt of alternatives) e = walkAlternative(alt, e);
      return e;
    }
    if (admin === 'not-admin') return this.walkBlock(consequence, env, ctx);
    // `if not company_id: raise …` (the seed's "No company associated"): past it, the value is there
    const guarded = guardedName(cond, consequence);
    if (guarded && !alternatives.length && (env.has(guarded) || ctx.params.has(guarded))) {
      this.walkBlock(consequence, env, ctx);
      const vals = (env.has(guarded) ? env.get(guarded)!.flatMap((a) => this.force(a, ctx)) : ctx.params.get(guarded)!).filter((v) => v.k !== 'none');
      return withVar(
        env,
        guarded,
        vals.map((v) => ({ val: v.k === 'company' ? { k: 'company', guarded: true } : v })),
      );
    }
    const envs = [this.walkBlock(consequence, env, ctx)];
    let hasElse = false;
    for (const alt of alternatives) {
      envs.push(walkAlternative(alt, env));
      if (alt.type === 'else_clause') hasElse = true;
    }
    if (!hasElse) envs.push(env);
    return merge(envs);
  }

  /** Queries used, rows created and helpers called within a statement (not inside nested functions). */
  private scan(node: Node, env: Env, ctx: WalkCtx): void {
    if (!ctx.out) return;
    const calls: Node[] = [];
    const visit = (n: Node) => {
      if (n.type === 'lambda' || n.type === 'function_definition') return;
      if (n.type === 'conditional_expression') {
        // x if is_super_admin(u) else y: the tenant's side only
        const [a, c, b] = n.namedChildren;
        const t = c ? adminTest(c) : null;
        if (t === 'admin' && b) return visit(b);
        if (t === 'not-admin' && a) return visit(a);
      }
      if (n.type === 'call') calls.push(n);
      for (const c of n.namedChildren) if (c) visit(c);
    };
    visit(node);
    for (const call of calls) {
      const f = named(call, 'function')!;
      const method = f.type === 'attribute' ? named(f, 'attribute')!.text : null;
      if (method && (TERMINALS.has(method) || method === 'get')) {
        for (const v of this.evalIn(call, env, ctx)) {
          if (v.k === 'record') ctx.out.uses.push({ q: v.q, via: ctx.via, ...this.whereWritten(v.q, ctx) });
        }
        continue;
      }
      if (method && PASS_THROUGH.has(method)) {
        const arg = named(call, 'arguments')?.namedChild(0);
        if (arg) for (const v of this.evalIn(arg, env, ctx)) if (v.k === 'query') ctx.out.uses.push({ q: v.q, via: ctx.via, ...this.whereWritten(v.q, ctx) });
        continue;
      }
      const def = this.project.resolveExpr(ctx.module, f);
      if (def?.kind === 'class') {
        const model = this.models.get(def.name);
        if (model && model.module === def.module) {
          const kwargs = (named(call, 'arguments')?.namedChildren ?? []).filter((a) => a?.type === 'keyword_argument').map((a) => named(a!, 'name')!.text);
          ctx.out.creates.push({
            model,
            node: call,
            module: ctx.module,
            setsCompany: kwargs.includes('company_id'),
            fn: ctx.fn,
            userParam: userParamOf(ctx.params),
          });
        }
      } else if (def?.kind === 'function' && ctx.depth < MAX_DEPTH) {
        this.callHelper(def.node, def.module, call, env, ctx, true);
      }
    }
  }

  private whereWritten(q: Query, ctx: WalkCtx): { fn: Node; userParam: string | null } {
    // the query's start is in this function or in a helper that returned it
    let fn: Node | null = q.root;
    while (fn && fn.type !== 'function_definition') fn = fn.parent;
    if (!fn || fn.id === ctx.fn.id) return { fn: ctx.fn, userParam: userParamOf(ctx.params) };
    return { fn, userParam: null };
  }

  private callHelper(fnNode: Node, module: Module, call: Node, env: Env, ctx: WalkCtx, collect: boolean): Alt[] {
    const bound: Params = new Map();
    const formal = (named(fnNode, 'parameters')?.namedChildren ?? []).filter((p): p is Node => !!p);
    const args = (named(call, 'arguments')?.namedChildren ?? []).filter((a): a is Node => !!a);
    const positional = args.filter((a) => a.type !== 'keyword_argument' && a.type !== 'list_splat' && a.type !== 'dictionary_splat');
    formal.forEach((p, i) => {
      const name = paramName(p);
      if (!name) return;
      const kw = args.find((a) => a.type === 'keyword_argument' && named(a, 'name')!.text === name);
      const arg = kw ? named(kw, 'value') : positional[i];
      if (arg) bound.set(name, this.evalIn(arg, env, ctx));
      else {
        const dflt = named(p, 'value');
        const own = this.paramsOf(fnNode, module, ctx.depth + 1).get(name);
        bound.set(name, own && own[0]?.k !== 'param' ? own : dflt ? this.evalIn(dflt, new Map(), { ...ctx, module }) : [{ k: 'param' }]);
      }
    });
    const name = named(fnNode, 'name')!.text;
    const res = this.walkFunction(fnNode, module, bound, ctx.depth + 1, [...ctx.via, name], collect ? ctx.out : null);
    return res.returns;
  }

  private returnsOf(fnNode: Node, module: Module, params: Params, depth: number): Val[] {
    const { returns } = this.walkFunction(fnNode, module, params, depth, [], null);
    const ctx: WalkCtx = { module, params, depth, via: [], out: null, fn: fnNode, returns: [] };
    return returns.flatMap((a) => this.force(a, ctx));
  }

  // ---- values

  private force(a: Alt, ctx: WalkCtx): Val[] {
    if ('val' in a) return [a.val];
    return this.evalIn(a.lazy.node, a.lazy.env, { ...ctx, module: a.lazy.module, params: a.lazy.params });
  }

  private evalIn(n: Node, env: Env, ctx: WalkCtx, budget = { left: 400 }): Val[] {
    if (--budget.left < 0) return [{ k: 'unknown' }];
    switch (n.type) {
      case 'parenthesized_expression':
        return n.namedChild(0) ? this.evalIn(n.namedChild(0)!, env, ctx, budget) : [{ k: 'unknown' }];
      case 'none':
        return [{ k: 'none' }];
      case 'string':
      case 'integer':
      case 'float':
      case 'true':
      case 'false':
        return [{ k: 'param' }];
      case 'identifier': {
        const alts = env.get(n.text);
        if (alts)
          return alts.flatMap((a) =>
            'val' in a ? [a.val] : this.evalIn(a.lazy.node, a.lazy.env, { ...ctx, module: a.lazy.module, params: a.lazy.params }, budget),
          );
        const p = ctx.params.get(n.text);
        if (p) return p;
        const def = this.project.resolve(ctx.module, n.text);
        if (def?.kind === 'class') {
          const model = this.models.get(def.name);
          if (model && model.module === def.module) return [{ k: 'model', model }];
        }
        return [{ k: 'unknown' }];
      }
      case 'list':
      case 'tuple':
        return [{ k: 'list', items: n.namedChildren.filter((c): c is Node => !!c).map((c) => ({ node: c, env, module: ctx.module, params: ctx.params })) }];
      case 'comparison_operator':
      case 'boolean_operator':
      case 'not_operator':
      case 'binary_operator':
        return [{ k: 'cond', at: { node: n, env, module: ctx.module, params: ctx.params } }];
      case 'conditional_expression': {
        const [a, c, b] = n.namedChildren;
        const t = c ? adminTest(c) : null;
        if (t === 'admin' && b) return this.evalIn(b, env, ctx, budget);
        if (t === 'not-admin' && a) return this.evalIn(a, env, ctx, budget);
        return [...(a ? this.evalIn(a, env, ctx, budget) : []), ...(b ? this.evalIn(b, env, ctx, budget) : [])];
      }
      case 'attribute':
        return this.evalAttribute(named(n, 'object')!, named(n, 'attribute')!.text, env, ctx, budget);
      case 'subscript': {
        const key = stringOf(named(n, 'subscript'));
        return key ? this.evalAttribute(named(n, 'value')!, key, env, ctx, budget) : [{ k: 'unknown' }];
      }
      case 'call':
        return this.evalCall(n, env, ctx, budget);
      default:
        return [{ k: 'unknown' }];
    }
  }

  private evalAttribute(objNode: Node, attr: string, env: Env, ctx: WalkCtx, budget: { left: number }): Val[] {
    const out: Val[] = [];
    for (const v of this.evalIn(objNode, env, ctx, budget)) {
      if (v.k === 'user') out.push(attr === 'company_id' ? { k: 'company', guarded: false } : attr === 'id' ? { k: 'userId' } : { k: 'unknown' });
      else if (v.k === 'model')
        out.push(attr === 'query' ? { k: 'query', q: this.start(v.model, objNode.parent!, ctx, 'query') } : { k: 'column', model: v.model, name: attr });
      else if (v.k === 'record') {
        // a row the user may see: its company is the user's when it is the user, or scoped by company
        const isUser = v.q.model === this.userModel && v.q.rank >= 2;
        if (attr === 'company_id' && (isUser || v.q.rank === 3)) out.push({ k: 'company', guarded: false });
        else if (attr === 'id' && isUser) out.push({ k: 'userId' });
        else out.push({ k: 'unknown' });
      } else out.push({ k: 'unknown' });
    }
    return out;
  }

  private start(model: Model, root: Node, ctx: WalkCtx, style: 'query' | 'select'): Query {
    return { model, rank: 0, entities: [model], root, module: ctx.module, style, unguarded: false };
  }

  private evalCall(call: Node, env: Env, ctx: WalkCtx, budget: { left: number }): Val[] {
    const f = named(call, 'function')!;
    const args = (named(call, 'arguments')?.namedChildren ?? []).filter((a): a is Node => !!a && a.type !== 'comment');
    const first = args[0];
    if (f.type === 'attribute') {
      const method = named(f, 'attribute')!.text;
      const objNode = named(f, 'object')!;
      // a dict user: current_user.get("company_id")
      if (method === 'get' && first && stringOf(first)) {
        const objVals = this.evalIn(objNode, env, ctx, budget);
        if (objVals.some((v) => v.k === 'user')) return this.evalAttribute(objNode, stringOf(first)!, env, ctx, budget);
      }
      if (method === 'query' && first) {
        const m = this.evalIn(first, env, ctx, budget).find((v) => v.k === 'model' || v.k === 'column');
        if (m && (m.k === 'model' || m.k === 'column')) return [{ k: 'query', q: this.start(m.model, call, ctx, 'query') }];
      }
      if (method === 'get' && first && args.length >= 2) {
        // session.get(Model, id)
        const m = this.evalIn(first, env, ctx, budget).find((v) => v.k === 'model');
        if (m && m.k === 'model') return [{ k: 'record', q: { ...this.start(m.model, call, ctx, 'query'), rank: 1 } }];
      }
      if (CHAIN.has(method) || TERMINALS.has(method) || method === 'get' || PASS_THROUGH.has(method)) {
        const base = PASS_THROUGH.has(method) && first ? this.evalIn(first, env, ctx, budget) : [];
        const objVals = [...base.filter((v) => v.k === 'query' || v.k === 'record'), ...this.evalIn(objNode, env, ctx, budget)];
        const out: Val[] = [];
        for (const v of objVals) {
          if (v.k !== 'query' && v.k !== 'record') continue;
          const q = v.q;
          if (PASS_THROUGH.has(method)) out.push(v);
          else if (TERMINALS.has(method)) out.push({ k: 'record', q });
          else if (method === 'get') out.push({ k: 'record', q: { ...q, rank: rankMax(q.rank, 1) } });
          else if (method === 'join' || method === 'outerjoin') {
            const m = first ? this.evalIn(first, env, ctx, budget).find((x) => x.k === 'model') : undefined;
            out.push({ k: 'query', q: m && m.k === 'model' ? { ...q, entities: [...q.entities, m.model] } : q });
          } else if (method === 'filter' || method === 'where') {
            const r = this.conditions(args, env, ctx, q);
            out.push({ k: 'query', q: { ...q, rank: rankMax(q.rank, r.rank), unguarded: r.rank > q.rank ? r.unguarded : q.unguarded } });
          } else if (method === 'filter_by') {
            const target = q.entities[q.entities.length - 1]!;
            let best: { rank: Rank; unguarded: boolean } = { rank: 0, unguarded: false };
            for (const a of args) {
              if (a.type !== 'keyword_argument') continue;
              const r = this.compare({ model: target, name: named(a, 'name')!.text }, this.evalIn(named(a, 'value')!, env, ctx, budget));
              if (r.rank > best.rank) best = r;
            }
            out.push({ k: 'query', q: { ...q, rank: rankMax(q.rank, best.rank), unguarded: best.rank > q.rank ? best.unguarded : q.unguarded } });
          } else out.push(v);
        }
        if (out.length) return out;
      }
      const def = this.project.resolveExpr(ctx.module, f);
      if (def?.kind === 'function' && ctx.depth < MAX_DEPTH)
        return this.callHelper(def.node, def.module, call, env, ctx, false).flatMap((a) => this.force(a, ctx));
      // uuid.UUID(x), str(x): a library's wrapper keeps what x is
      if (first && args.length === 1) return this.evalIn(first, env, ctx, budget).filter((v) => ['user', 'company', 'userId'].includes(v.k));
      return [{ k: 'unknown' }];
    }
    const name = f.text;
    if ((name === 'and_' || name === 'or_' || name === 'not_') && f.type === 'identifier')
      return [{ k: 'cond', at: { node: call, env, module: ctx.module, params: ctx.params } }];
    const def = this.project.resolveExpr(ctx.module, f);
    if (def?.kind === 'class') return [{ k: 'unknown' }];
    if (def?.kind === 'function' && ctx.depth < MAX_DEPTH)
      return this.callHelper(def.node, def.module, call, env, ctx, false).flatMap((a) => this.force(a, ctx));
    if (name === 'select' && first) {
      const m = this.evalIn(first, env, ctx, budget).find((v) => v.k === 'model' || v.k === 'column');
      if (m && (m.k === 'model' || m.k === 'column')) return [{ k: 'query', q: this.start(m.model, call, ctx, 'select') }];
    }
    if (first && args.length === 1) return this.evalIn(first, env, ctx, budget).filter((v) => ['user', 'company', 'userId'].includes(v.k));
    return [{ k: 'unknown' }];
  }

  // ---- conditions

  private conditions(args: Node[], env: Env, ctx: WalkCtx, q: Query): { rank: Rank; unguarded: boolean } {
    let best = { rank: 0 as Rank, unguarded: false };
    for (const a of args) {
      if (a.type === 'keyword_argument') continue;
      const r = this.condition(a, env, ctx, q, 0);
      if (r.rank > best.rank) best = r;
    }
    return best;
  }

  private condition(n: Node, env: Env, ctx: WalkCtx, q: Query, depth: number): { rank: Rank; unguarded: boolean } {
    const none = { rank: 0 as Rank, unguarded: false };
    if (depth > 12) return none;
    const all = (nodes: Node[], combine: 'and' | 'or') => {
      const rs = nodes.map((c) => this.condition(c, env, ctx, q, depth + 1));
      if (!rs.length) return none;
      const rank = rs.map((r) => r.rank).reduce(combine === 'and' ? rankMax : rankMin);
      return { rank, unguarded: rs.some((r) => r.unguarded && r.rank >= rank) };
    };
    switch (n.type) {
      case 'parenthesized_expression':
        return n.namedChild(0) ? this.condition(n.namedChild(0)!, env, ctx, q, depth + 1) : none;
      case 'comparison_operator': {
        const ops = n.children.filter((c) => c && !c.isNamed).map((c) => c!.text);
        const [a, b] = n.namedChildren;
        if (!a || !b) return none;
        if (ops.join(' ') === 'is' || ops.join(' ') === '==') {
          const va = this.evalIn(a, env, ctx);
          const vb = this.evalIn(b, env, ctx);
          const col = [...va, ...vb].find((v) => v.k === 'column' && q.entities.includes(v.model));
          if (!col || col.k !== 'column') return none;
          const other = va.includes(col) ? vb : va;
          return this.compare(col, other);
        }
        return none;
      }
      case 'boolean_operator':
        return all([named(n, 'left')!, named(n, 'right')!], named(n, 'operator')?.text === 'or' || n.text.includes(' or ') ? 'or' : 'and');
      case 'binary_operator': {
        const op = named(n, 'operator')?.text;
        if (op === '&' || op === '|') return all([named(n, 'left')!, named(n, 'right')!], op === '&' ? 'and' : 'or');
        return none;
      }
      case 'list_splat': {
        const lists = this.evalIn(n.namedChild(0)!, env, ctx).filter((v): v is Extract<Val, { k: 'list' }> => v.k === 'list');
        if (!lists.length) return none;
        // alternatives of the list: the weakest; within one list, the strongest item
        let worst: { rank: Rank; unguarded: boolean } | null = null;
        for (const l of lists) {
          let best = none;
          for (const it of l.items) {
            const r = this.condition(it.node, it.env, { ...ctx, module: it.module, params: it.params }, q, depth + 1);
            if (r.rank > best.rank) best = r;
          }
          if (!worst || best.rank < worst.rank) worst = best;
        }
        return worst ?? none;
      }
      case 'identifier': {
        const alts = env.get(n.text);
        if (!alts) return none;
        let worst: { rank: Rank; unguarded: boolean } | null = null;
        for (const a of alts) {
          const r =
            'lazy' in a
              ? this.condition(a.lazy.node, a.lazy.env, { ...ctx, module: a.lazy.module, params: a.lazy.params }, q, depth + 1)
              : a.val.k === 'cond'
                ? this.condition(a.val.at.node, a.val.at.env, ctx, q, depth + 1)
                : none;
          if (!worst || r.rank < worst.rank) worst = r;
        }
        return worst ?? none;
      }
      case 'call': {
        const f = named(n, 'function')!;
        const args = (named(n, 'arguments')?.namedChildren ?? []).filter((a): a is Node => !!a);
        if (f.type === 'identifier' && (f.text === 'and_' || f.text === 'or_')) return all(args, f.text === 'and_' ? 'and' : 'or');
        if (f.type === 'attribute') {
          const method = named(f, 'attribute')!.text;
          const col = this.evalIn(named(f, 'object')!, env, ctx).find((v) => v.k === 'column' && q.entities.includes(v.model));
          if (col && col.k === 'column') {
            if (method === 'is_' && args[0]?.type === 'none') return { rank: 3, unguarded: false }; // shared rows (no owner)
            if (method === 'in_' && args[0]) {
              const sub = this.evalIn(args[0], env, ctx).filter((v): v is Extract<Val, { k: 'query' }> => v.k === 'query');
              if (sub.length) return { rank: sub.map((s) => s.q.rank).reduce(rankMin), unguarded: sub.some((s) => s.q.unguarded) };
              return this.compare(col, this.evalIn(args[0], env, ctx));
            }
          }
        }
        // a condition made by a helper: what it returns
        const vals = this.evalIn(n, env, ctx).filter((v): v is Extract<Val, { k: 'cond' }> => v.k === 'cond');
        if (vals.length && vals.every((v) => v.at.node.id !== n.id)) return this.condition(vals[0]!.at.node, vals[0]!.at.env, ctx, q, depth + 1);
        return none;
      }
      default:
        return none;
    }
  }

  /** A column compared with values: by company when company_id (or the companies table's key) meets the user's company; by user; else by an id. */
  private compare(col: { model: Model; name: string }, other: Val[]): { rank: Rank; unguarded: boolean } {
    const meaningful = other.filter((v) => v.k !== 'unknown');
    if (!meaningful.length) return { rank: other.length ? 1 : 0, unguarded: false };
    const companyColumn =
      col.name === 'company_id' ||
      (col.model.table === this.companiesTable && col.name === 'id') ||
      col.model.columns.get(col.name)?.references === this.companiesTable;
    let rank: Rank = 3;
    for (const v of meaningful) {
      const r: Rank =
        v.k === 'company' ? (companyColumn ? 3 : 1) : v.k === 'userId' || v.k === 'user' ? 2 : v.k === 'none' ? (meaningful.length > 1 ? 3 : 1) : 1;
      rank = rankMin(rank, r);
    }
    const unguarded = rank === 3 && meaningful.some((v) => (v.k === 'company' && !v.guarded) || v.k === 'none');
    return { rank, unguarded };
  }
}

interface WalkCtx {
  module: Module;
  params: Params;
  depth: number;
  via: string[];
  out: Scoping | null;
  fn: Node;
  returns: Alt[];
}

function withVar(env: Env, name: string, alts: Alt[]): Env {
  const e = new Map(env);
  e.set(name, alts);
  return e;
}

function merge(envs: Env[]): Env {
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
function userParamOf(params: Params): string | null {
  for (const [name, vals] of params) if (vals.some((v) => v.k === 'user')) return name;
  return null;
}

/** The name an `if not x:` / `if x is None:` tests when its block only raises or returns (a guard), else null. */
function guardedName(cond: Node, consequence: Node): string | null {
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
