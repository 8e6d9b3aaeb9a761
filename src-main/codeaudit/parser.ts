// One tree-sitter parser for Python, loaded once: web-tree-sitter (WebAssembly, no native build)
// with the grammar's own .wasm from the tree-sitter-python package. Source is parsed, never run.
import { createRequire } from 'node:module';
import { Language, Parser, type Node, type Tree } from 'web-tree-sitter';

export type { Node, Tree };

let ready: Promise<Parser> | null = null;

/** The Python parser (made on first use; later calls share it). */
export function pythonParser(): Promise<Parser> {
  ready ??= (async () => {
    await Parser.init();
    const require = createRequire(import.meta.url);
    const python = await Language.load(require.resolve('tree-sitter-python/tree-sitter-python.wasm'));
    const parser = new Parser();
    parser.setLanguage(python);
    return parser;
  })();
  return ready;
}

/** Where a tree stops being Python: the first error or missing node (1-based line), or null. */
export function firstError(tree: Tree): { line: number; column: number } | null {
  if (!tree.rootNode.hasError) return null;
  const stack: Node[] = [tree.rootNode];
  while (stack.length) {
    const n = stack.pop()!;
    if (n.isError || n.isMissing) return { line: n.startPosition.row + 1, column: n.startPosition.column + 1 };
    if (n.hasError) for (let i = n.childCount - 1; i >= 0; i--) stack.push(n.child(i)!);
  }
  return { line: 1, column: 1 };
}
