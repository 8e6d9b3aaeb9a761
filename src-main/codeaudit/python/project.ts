// A Python checkout as modules: each file's dotted name, what its imports bind, its top-level
// functions and classes, and how a name used in one module resolves to a definition in another
// (through re-exports such as app/models/__init__.py).
import type { Node, Tree } from '../parser.ts';

export interface Binding {
  /** the dotted module the name comes from (absolute, as written or resolved from a relative import) */
  module: string;
  /** the imported name, or null when the module itself is bound (import x.y as z) */
  name: string | null;
  /** the import statement, for edits */
  node: Node;
}

export interface Module {
  path: string;
  /** the dotted name from the source root (backend/app/api/calls.py → backend.app.api.calls) */
  dotted: string;
  isPackage: boolean;
  tree: Tree;
  text: string;
  imports: Map<string, Binding>;
  functions: Map<string, Node>;
  classes: Map<string, Node>;
  /** module-level assignments: name → the right-hand side */
  globals: Map<string, Node>;
}

export type Definition = { kind: 'function' | 'class' | 'global'; module: Module; name: string; node: Node } | { kind: 'module'; module: Module };

export const named = (n: Node | null | undefined, field: string): Node | null => n?.childForFieldName(field) ?? null;

/** A parameter's name (plain, typed, with a default), or null for *args, **kwargs and separators. */
export function paramName(p: Node): string | null {
  if (p.type === 'identifier') return p.text;
  if (p.type === 'typed_parameter') return p.namedChild(0)?.type === 'identifier' ? p.namedChild(0)!.text : null;
  if (p.type === 'default_parameter' || p.type === 'typed_default_parameter') return named(p, 'name')?.text ?? null;
  return null;
}

/** The statements of a module or block (decorated definitions unwrapped). */
export function definitionOf(n: Node): Node {
  return n.type === 'decorated_definition' ? (n.childForFieldName('definition') ?? n) : n;
}

function dottedOf(path: string): { dotted: string; isPackage: boolean } {
  const parts = path.replace(/\.py$/, '').split('/');
  const isPackage = parts[parts.length - 1] === '__init__';
  if (isPackage) parts.pop();
  return { dotted: parts.join('.'), isPackage };
}

export function makeModule(path: string, text: string, tree: Tree): Module {
  const { dotted, isPackage } = dottedOf(path);
  const m: Module = { path, dotted, isPackage, tree, text, imports: new Map(), functions: new Map(), classes: new Map(), globals: new Map() };
  const pkg = isPackage ? dotted : dotted.split('.').slice(0, -1).join('.');
  const absolute = (rel: Node): string => {
    // relative_import: leading dots then an optional dotted name
    const t = rel.text;
    if (!t.startsWith('.')) return t;
    const dots = t.match(/^\.+/)![0].length;
    const rest = t.slice(dots);
    const base = pkg.split('.').slice(0, Math.max(0, pkg.split('.').length - (dots - 1)));
    return [...base, ...(rest ? [rest] : [])].filter(Boolean).join('.');
  };
  for (const st of tree.rootNode.namedChildren) {
    if (!st) continue;
    if (st.type === 'import_statement') {
      for (const n of st.childrenForFieldName('name')) {
        if (!n) continue;
        if (n.type === 'aliased_import') m.imports.set(named(n, 'alias')!.text, { module: named(n, 'name')!.text, name: null, node: st });
        else m.imports.set(n.text.split('.')[0]!, { module: n.text.split('.')[0]!, name: null, node: st });
      }
    } else if (st.type === 'import_from_statement') {
      const from = absolute(named(st, 'module_name')!);
      for (const n of st.childrenForFieldName('name')) {
        if (!n) continue;
        if (n.type === 'aliased_import') m.imports.set(named(n, 'alias')!.text, { module: from, name: named(n, 'name')!.text, node: st });
        else m.imports.set(n.text, { module: from, name: n.text, node: st });
      }
    } else {
      const d = definitionOf(st);
      if (d.type === 'function_definition') m.functions.set(named(d, 'name')!.text, st);
      else if (d.type === 'class_definition') m.classes.set(named(d, 'name')!.text, st);
      else if (st.type === 'expression_statement' && st.namedChild(0)?.type === 'assignment') {
        const a = st.namedChild(0)!;
        const left = named(a, 'left');
        const right = named(a, 'right');
        if (left?.type === 'identifier' && right) m.globals.set(left.text, right);
      }
    }
  }
  return m;
}

export class Project {
  readonly modules: Module[] = [];
  private readonly byDotted = new Map<string, Module>();

  private readonly found = new Map<string, Module | null>();
  private readonly resolved = new Map<Module, Map<string, Definition | null>>();

  add(m: Module): void {
    this.modules.push(m);
    this.byDotted.set(m.dotted, m);
    this.found.clear();
    this.resolved.clear();
  }

  /** The module an import names: exactly, or the one whose dotted name ends with it (the source root may sit above the package). */
  module(name: string): Module | null {
    const exact = this.byDotted.get(name);
    if (exact) return exact;
    if (this.found.has(name)) return this.found.get(name)!;
    let best: Module | null = null;
    for (const m of this.modules) if (m.dotted.endsWith('.' + name) && (!best || m.dotted.length < best.dotted.length)) best = m;
    this.found.set(name, best);
    return best;
  }

  /** What `name` means in `m`: a definition of the project (following imports and re-exports), or null (a library's). */
  resolve(m: Module, name: string, depth = 0): Definition | null {
    let memo = this.resolved.get(m);
    if (!memo) this.resolved.set(m, (memo = new Map()));
    if (memo.has(name)) return memo.get(name)!;
    const def = this.resolveUncached(m, name, depth);
    if (depth === 0) memo.set(name, def);
    return def;
  }

  private resolveUncached(m: Module, name: string, depth: number): Definition | null {
    if (depth > 8) return null;
    const fn = m.functions.get(name);
    if (fn) return { kind: 'function', module: m, name, node: definitionOf(fn) };
    const cls = m.classes.get(name);
    if (cls) return { kind: 'class', module: m, name, node: definitionOf(cls) };
    const b = m.imports.get(name);
    if (b) {
      if (b.name === null) {
        const target = this.module(b.module);
        return target ? { kind: 'module', module: target } : null;
      }
      const sub = this.module(`${b.module}.${b.name}`);
      if (sub) return { kind: 'module', module: sub };
      const from = this.module(b.module);
      return from && from !== m ? this.resolve(from, b.name, depth + 1) : null;
    }
    const g = m.globals.get(name);
    if (g) return { kind: 'global', module: m, name, node: g };
    return null;
  }

  /** What a dotted expression (a.b.c, or a name) means in `m`. */
  resolveExpr(m: Module, n: Node): Definition | null {
    if (n.type === 'identifier') return this.resolve(m, n.text);
    if (n.type === 'attribute') {
      const base = this.resolveExpr(m, named(n, 'object')!);
      if (base?.kind === 'module') return this.resolve(base.module, named(n, 'attribute')!.text);
    }
    return null;
  }

  /** The import text that reaches `target` from the same source root as `via` imports `viaModule` (app.models.user, not backend.app.models.user). */
  importName(target: Module, viaText: string, viaModule: Module): string {
    const prefix = viaModule.dotted.slice(0, viaModule.dotted.length - viaText.length);
    return viaModule.dotted.endsWith(viaText) && target.dotted.startsWith(prefix) ? target.dotted.slice(prefix.length) : target.dotted;
  }
}
