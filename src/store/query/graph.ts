// `nix-store -q --graph` (Graphviz DOT) and `--graphml`, node for node and
// edge for edge as Nix prints them: a work list ordered like Nix's path set,
// edges coloured by a counter that cycles through six colours.

import { storePathName } from '../store-path.js';
import { requireInfo, type StoreGraph } from './closure.js';

const COLOURS = ['black', 'red', 'green', 'blue', 'magenta', 'burlywood'];

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Visits paths smallest-first like Nix's std::set work list (kept as a sorted array). */
function walk(roots: Iterable<string>, visit: (path: string, add: (p: string) => void) => void): void {
  const work: string[] = [];
  const add = (p: string): void => {
    let lo = 0;
    let hi = work.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (work[mid]! < p) lo = mid + 1;
      else hi = mid;
    }
    if (work[lo] !== p) work.splice(lo, 0, p);
  };
  for (const r of roots) add(r);
  const done = new Set<string>();
  while (work.length > 0) {
    const path = work.shift()!;
    if (done.has(path)) continue;
    done.add(path);
    visit(path, add);
  }
}

export function printDotGraph(store: StoreGraph, roots: Iterable<string>): string {
  const q = (s: string) => `"${s}"`;
  let colour = 0;
  let out = 'digraph G {\n';
  walk(roots, (path, add) => {
    out += `${q(baseName(path))} [label = ${q(storePathName(path))}, shape = box, style = filled, fillcolor = ${q('#ff0000')}];\n`;
    for (const ref of requireInfo(store, path).references) {
      if (ref === path) continue;
      add(ref);
      out += `${q(baseName(ref))} -> ${q(baseName(path))} [color = ${q(COLOURS[colour++ % COLOURS.length]!)}];\n`;
    }
  });
  return out + '}\n';
}

export function printGraphML(store: StoreGraph, roots: Iterable<string>): string {
  let out = "<?xml version='1.0' encoding='utf-8'?>\n"
    + "<graphml xmlns='http://graphml.graphdrawing.org/xmlns'\n"
    + "    xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance'\n"
    + "    xsi:schemaLocation='http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd'>\n"
    + "<key id='narSize' for='node' attr.name='narSize' attr.type='int'/>"
    + "<key id='name' for='node' attr.name='name' attr.type='string'/>"
    + "<key id='type' for='node' attr.name='type' attr.type='string'/>"
    + "<graph id='G' edgedefault='directed'>\n";
  walk(roots, (path, add) => {
    const info = requireInfo(store, path);
    const name = storePathName(path);
    out += `  <node id="${baseName(path)}">\n`
      + `    <data key="narSize">${info.narSize}</data>\n`
      + `    <data key="name">${name.slice(0, name.indexOf('-') + 1)}</data>\n`
      + `    <data key="type">${path.endsWith('.drv') ? 'derivation' : 'output-path'}</data>\n`
      + '  </node>\n';
    for (const ref of info.references) {
      if (ref === path) continue;
      add(ref);
      out += `  <edge source="${baseName(path)}" target="${baseName(ref)}"/>\n`;
    }
  });
  return out + '</graph>\n</graphml>\n';
}
