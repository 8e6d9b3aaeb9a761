// How a handler scopes what it reads and writes: a small abstract interpreter over the handler's
// body and the project helpers it calls (three levels), on the path a non-super-admin takes.
import type { Node } from '../parser.ts';
import { Evaluator } from './evaluate.ts';
import { named, paramName, type Module } from './project.ts';
import {
  adminTest,
  guardedName,
  MAX_DEPTH,
  merge,
  PASS_THROUGH,
  TERMINALS,
  USER_DEPENDENCY,
  userParamOf,
  withVar,
  type Alt,
  type Env,
  type Lazy,
  type Params,
  type Query,
  type QueryUse,
  type Scoping,
  type Val,
  type WalkCtx,
} from './values.ts';

export { RANK_NAMES, type CreateUse, type QueryUse, type Rank, type Scoping } from './values.ts';

export class ScopeAnalyzer extends Evaluator {
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

  protected callHelper(fnNode: Node, module: Module, call: Node, env: Env, ctx: WalkCtx, collect: boolean): Alt[] {
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
}
