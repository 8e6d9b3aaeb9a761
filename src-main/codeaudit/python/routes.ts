// FastAPI routes: every @router.<verb>(path) handler with its full path, from the router's
// APIRouter(prefix=…) and every app.include_router(…, prefix=…) that mounts it (nested routers too).
import type { Node } from '../parser.ts';
import { definitionOf, named, type Module, type Project } from './project.ts';

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** the full path, as FastAPI serves it */
  path: string;
  /** the handler's function */
  handler: string;
  node: Node;
  module: Module;
  line: number;
}

const VERBS = new Set(['get', 'post', 'put', 'patch', 'delete']);

export function stringOf(n: Node | null | undefined): string | null {
  if (!n || n.type !== 'string') return null;
  return n.namedChildren
    .filter((c) => c?.type === 'string_content')
    .map((c) => c!.text)
    .join('');
}

export function keywordArg(call: Node, name: string): Node | null {
  for (const a of named(call, 'arguments')?.namedChildren ?? []) {
    if (a?.type === 'keyword_argument' && named(a, 'name')?.text === name) return named(a, 'value');
  }
  return null;
}

const routerKey = (m: Module, name: string) => `${m.dotted}:${name}`;

/** Every route of the project. */
export function findRoutes(project: Project): Route[] {
  // routers and apps: module-level X = APIRouter(prefix=…) / FastAPI()
  const prefixOf = new Map<string, string>();
  const apps = new Set<string>();
  for (const m of project.modules) {
    for (const [name, right] of m.globals) {
      if (right.type !== 'call') continue;
      const f = named(right, 'function')!;
      const callee = f.type === 'attribute' ? named(f, 'attribute')!.text : f.text;
      if (callee === 'APIRouter') prefixOf.set(routerKey(m, name), stringOf(keywordArg(right, 'prefix')) ?? '');
      if (callee === 'FastAPI') {
        apps.add(routerKey(m, name));
        prefixOf.set(routerKey(m, name), '');
      }
    }
  }
  // mounts: parent.include_router(child, prefix=…)
  const mounts = new Map<string, Array<{ parent: string; prefix: string }>>();
  for (const m of project.modules) {
    if (!m.text.includes('include_router')) continue;
    for (const call of m.tree.rootNode.descendantsOfType('call')) {
      const f = call && named(call, 'function');
      if (!call || f?.type !== 'attribute' || named(f, 'attribute')!.text !== 'include_router') continue;
      const parentNode = named(f, 'object')!;
      const childNode = named(call, 'arguments')?.namedChild(0);
      if (!childNode || parentNode.type !== 'identifier') continue;
      let child: string | null = null;
      if (childNode.type === 'attribute') {
        const mod = project.resolveExpr(m, named(childNode, 'object')!);
        if (mod?.kind === 'module') child = routerKey(mod.module, named(childNode, 'attribute')!.text);
      } else if (childNode.type === 'identifier') {
        const def = project.resolve(m, childNode.text);
        if (def?.kind === 'global') child = routerKey(def.module, def.name);
      }
      if (!child) continue;
      const parentDef = project.resolve(m, parentNode.text);
      const parent = parentDef?.kind === 'global' ? routerKey(parentDef.module, parentDef.name) : routerKey(m, parentNode.text);
      const list = mounts.get(child) ?? [];
      list.push({ parent, prefix: stringOf(keywordArg(call, 'prefix')) ?? '' });
      mounts.set(child, list);
    }
  }
  const fullPrefixes = (key: string, depth = 0): string[] => {
    const own = prefixOf.get(key) ?? '';
    const ups = mounts.get(key) ?? [];
    if (!ups.length || depth > 6) return [own];
    return ups.flatMap((u) => fullPrefixes(u.parent, depth + 1).map((p) => p + u.prefix + own));
  };
  const routes: Route[] = [];
  for (const m of project.modules) {
    for (const st of m.functions.values()) {
      if (st.type !== 'decorated_definition') continue;
      const fn = definitionOf(st);
      for (const dec of st.namedChildren) {
        const call = dec?.type === 'decorator' ? dec.namedChild(0) : null;
        const f = call?.type === 'call' ? named(call, 'function') : null;
        if (!call || f?.type !== 'attribute') continue;
        const verb = named(f, 'attribute')!.text;
        const owner = named(f, 'object')!;
        if (!VERBS.has(verb) || owner.type !== 'identifier') continue;
        const key = routerKey(m, owner.text);
        if (!prefixOf.has(key)) continue;
        const path = stringOf(named(call, 'arguments')?.namedChild(0)) ?? '';
        for (const prefix of fullPrefixes(key)) {
          routes.push({
            method: verb.toUpperCase() as Route['method'],
            path: prefix + path,
            handler: named(fn, 'name')!.text,
            node: fn,
            module: m,
            line: fn.startPosition.row + 1,
          });
        }
      }
    }
  }
  return routes;
}
