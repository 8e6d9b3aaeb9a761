// Evaluating expressions and filter conditions for the scoping interpreter: what a value is for
// tenancy, and how strongly a filter scopes a query (by company, by user, by an id, not at all).
import type { Node } from '../parser.ts';
import type { Model } from './models.ts';
import { named, type Module, type Project } from './project.ts';
import { stringOf } from './routes.ts';
import {
  adminTest,
  CHAIN,
  MAX_DEPTH,
  PASS_THROUGH,
  rankMax,
  rankMin,
  TERMINALS,
  type Alt,
  type Env,
  type Query,
  type Rank,
  type Val,
  type WalkCtx,
} from './values.ts';

type Scope = { rank: Rank; unguarded: boolean };

export abstract class Evaluator {
  protected readonly userModel: Model | undefined;
  protected readonly companiesTable: string | undefined;

  constructor(
    protected readonly project: Project,
    protected readonly models: Map<string, Model>,
    usersTable: string,
  ) {
    this.userModel = [...models.values()].find((m) => m.table === usersTable);
    this.companiesTable = this.userModel?.columns.get('company_id')?.references ?? undefined;
  }

  /** A project function called with these arguments: what it returns (and, when collecting, what it queries). */
  protected abstract callHelper(fnNode: Node, module: Module, call: Node, env: Env, ctx: WalkCtx, collect: boolean): Alt[];

  protected force(a: Alt, ctx: WalkCtx): Val[] {
    if ('val' in a) return [a.val];
    return this.evalIn(a.lazy.node, a.lazy.env, { ...ctx, module: a.lazy.module, params: a.lazy.params });
  }

  protected evalIn(n: Node, env: Env, ctx: WalkCtx, budget = { left: 400 }): Val[] {
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

  protected evalAttribute(objNode: Node, attr: string, env: Env, ctx: WalkCtx, budget: { left: number }): Val[] {
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

  protected start(model: Model, root: Node, ctx: WalkCtx, style: 'query' | 'select'): Query {
    return { model, rank: 0, entities: [model], root, module: ctx.module, style, unguarded: false };
  }

  protected evalCall(call: Node, env: Env, ctx: WalkCtx, budget: { left: number }): Val[] {
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
            let best: Scope = { rank: 0, unguarded: false };
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

  protected conditions(args: Node[], env: Env, ctx: WalkCtx, q: Query): Scope {
    let best = { rank: 0 as Rank, unguarded: false };
    for (const a of args) {
      if (a.type === 'keyword_argument') continue;
      const r = this.condition(a, env, ctx, q, 0);
      if (r.rank > best.rank) best = r;
    }
    return best;
  }

  protected condition(n: Node, env: Env, ctx: WalkCtx, q: Query, depth: number): Scope {
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
        let worst: Scope | null = null;
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
        let worst: Scope | null = null;
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
      case 'call':
        return this.conditionCall(n, env, ctx, q, depth, all);
      default:
        return none;
    }
  }

  /** A call in a filter: and_/or_, column.in_(subquery), column.is_(None), or a helper that returns a condition. */
  private conditionCall(n: Node, env: Env, ctx: WalkCtx, q: Query, depth: number, all: (nodes: Node[], combine: 'and' | 'or') => Scope): Scope {
    const none: Scope = { rank: 0, unguarded: false };
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

  /** A column compared with values: by company when company_id (or the companies table's key) meets the user's company; by user; else by an id. */
  protected compare(col: { model: Model; name: string }, other: Val[]): Scope {
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
