// `nix-store -q --tree`: the reference graph drawn as a tree, each path's
// references in dependency order (flattening the tree), paths already shown
// marked `[...]`. Same characters and layout as Nix.

import { requireInfo, topoSortPaths, type StoreGraph } from './closure.js';

const TREE_CONN = '├───';
const TREE_LAST = '└───';
const TREE_LINE = '│   ';
const TREE_NULL = '    ';

export function printTree(store: StoreGraph, roots: string[]): string {
  const done = new Set<string>();
  let out = '';
  const visit = (path: string, firstPad: string, tailPad: string): void => {
    if (done.has(path)) {
      out += `${firstPad}${path} [...]\n`;
      return;
    }
    done.add(path);
    out += `${firstPad}${path}\n`;
    const sorted = topoSortPaths(store, requireInfo(store, path).references).reverse();
    sorted.forEach((ref, n) => {
      const last = n + 1 === sorted.length;
      visit(ref, tailPad + (last ? TREE_LAST : TREE_CONN), tailPad + (last ? TREE_NULL : TREE_LINE));
    });
  };
  for (const root of roots) visit(root, '', '');
  return out;
}
