// What the garbage collector may delete, computed over an in-memory copy of
// the store's reference graph. A path is live if it is reachable from a root
// along "keeps alive" edges:
//   - P → each of P's references;
//   - with keep-derivations (default on): P → P's deriver, if that is valid;
//   - with keep-outputs (default off): a .drv → each valid output it declares.
// With both settings on these edges form cycles (a .drv keeps its output,
// the output keeps its .drv), so deletion works on the strongly connected
// components of the dead part of the graph: a component is deleted as a
// whole or not at all, and components are deleted before the components
// they keep alive. Inside a component, referrers go before their
// references, so the database never holds a reference to a deleted row.
//
// Everything here is iterative: stores hold 100,000+ paths and chains of
// references can be as long as the store, which would overflow the JS stack.

import { isDerivationPath } from '../store-path.js';

export interface KeepOptions {
  keepDerivations: boolean;
  keepOutputs: boolean;
}

/** Valid paths with their references, derivers and declared derivation outputs, by dense index. */
export class StoreGraph {
  readonly paths: string[] = [];
  /** References of each path, self-references left out. */
  readonly references: number[][] = [];
  /** The deriver's index, or -1 when there is none or it is not valid. */
  readonly deriver: number[] = [];
  /** For a .drv: the valid outputs it declares (the DerivationOutputs table). */
  readonly outputs: number[][] = [];
  readonly isDerivation: boolean[] = [];
  private readonly ids = new Map<string, number>();

  get size(): number {
    return this.paths.length;
  }

  indexOf(path: string): number | undefined {
    return this.ids.get(path);
  }

  has(path: string): boolean {
    return this.ids.has(path);
  }

  /** Adds a node (idempotent); returns its index. */
  add(path: string): number {
    let i = this.ids.get(path);
    if (i !== undefined) return i;
    i = this.paths.length;
    this.ids.set(path, i);
    this.paths.push(path);
    this.references.push([]);
    this.deriver.push(-1);
    this.outputs.push([]);
    this.isDerivation.push(isDerivationPath(path));
    return i;
  }

  addReference(referrer: number, reference: number): void {
    if (referrer !== reference) this.references[referrer]!.push(reference);
  }

  setDeriver(path: number, deriver: number): void {
    this.deriver[path] = deriver;
  }

  addOutput(drv: number, output: number): void {
    this.outputs[drv]!.push(output);
  }

  /** Calls fn for each node that `i` keeps alive under the given settings. */
  forEachKeptAlive(i: number, keep: KeepOptions, fn: (j: number) => void): void {
    for (const r of this.references[i]!) fn(r);
    if (keep.keepDerivations && this.deriver[i]! >= 0) fn(this.deriver[i]!);
    if (keep.keepOutputs && this.isDerivation[i]) for (const o of this.outputs[i]!) fn(o);
  }
}

/** A convenient description for tests and small stores. */
export interface PathDescription {
  path: string;
  references?: string[];
  deriver?: string;
  /** Outputs declared by a .drv. */
  outputs?: string[];
}

/** Builds a graph from descriptions; derivers and outputs that are not among the paths count as invalid. */
export function graphFromDescriptions(descriptions: PathDescription[]): StoreGraph {
  const g = new StoreGraph();
  for (const d of descriptions) g.add(d.path);
  for (const d of descriptions) {
    const i = g.indexOf(d.path)!;
    for (const r of d.references ?? []) {
      const j = g.indexOf(r);
      if (j === undefined) throw new Error(`reference '${r}' of '${d.path}' is not a valid path`);
      g.addReference(i, j);
    }
    if (d.deriver !== undefined) {
      const j = g.indexOf(d.deriver);
      if (j !== undefined) g.setDeriver(i, j);
    }
    for (const o of d.outputs ?? []) {
      const j = g.indexOf(o);
      if (j !== undefined) g.addOutput(i, j);
    }
  }
  return g;
}

/** Marks everything reachable from the seeds (indices) as live. */
export function computeLive(graph: StoreGraph, seeds: Iterable<number>, keep: KeepOptions): Uint8Array {
  const live = new Uint8Array(graph.size);
  const stack: number[] = [];
  for (const s of seeds) {
    if (live[s]) continue;
    live[s] = 1;
    stack.push(s);
  }
  const visit = (j: number) => {
    if (!live[j]) {
      live[j] = 1;
      stack.push(j);
    }
  };
  while (stack.length > 0) graph.forEachKeptAlive(stack.pop()!, keep, visit);
  return live;
}

/**
 * Strongly connected components of the subgraph induced by `member`
 * (Tarjan's algorithm with an explicit stack). Components come out in
 * reverse topological order: a component appears after every component it
 * has edges to.
 */
export function stronglyConnectedComponents(graph: StoreGraph, member: Uint8Array, keep: KeepOptions): number[][] {
  const n = graph.size;
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const sccStack: number[] = [];
  const components: number[][] = [];
  let counter = 0;

  // Successor lists are materialised per visited node so the iteration can resume.
  const succ: number[][] = new Array(n);
  const pos = new Int32Array(n);
  const callStack: number[] = [];

  const successorsOf = (v: number): number[] => {
    const out: number[] = [];
    graph.forEachKeptAlive(v, keep, (w) => {
      if (member[w]) out.push(w);
    });
    return out;
  };

  for (let root = 0; root < n; root++) {
    if (!member[root] || index[root] !== -1) continue;
    index[root] = low[root] = counter++;
    sccStack.push(root);
    onStack[root] = 1;
    succ[root] = successorsOf(root);
    pos[root] = 0;
    callStack.push(root);
    while (callStack.length > 0) {
      const v = callStack[callStack.length - 1]!;
      const list = succ[v]!;
      if (pos[v]! < list.length) {
        const w = list[pos[v]!++]!;
        if (index[w] === -1) {
          index[w] = low[w] = counter++;
          sccStack.push(w);
          onStack[w] = 1;
          succ[w] = successorsOf(w);
          pos[w] = 0;
          callStack.push(w);
        } else if (onStack[w]) {
          if (index[w]! < low[v]!) low[v] = index[w]!;
        }
        continue;
      }
      callStack.pop();
      succ[v] = undefined as unknown as number[];
      if (callStack.length > 0) {
        const parent = callStack[callStack.length - 1]!;
        if (low[v]! < low[parent]!) low[parent] = low[v]!;
      }
      if (low[v] === index[v]) {
        const component: number[] = [];
        for (;;) {
          const w = sccStack.pop()!;
          onStack[w] = 0;
          component.push(w);
          if (w === v) break;
        }
        components.push(component);
      }
    }
  }
  return components;
}

/**
 * Orders a component's members so that a path comes before the paths it
 * references (references are acyclic apart from self-references; if a
 * damaged database has cycles, the rest follow in any order).
 */
export function referrersFirst(graph: StoreGraph, component: number[]): number[] {
  if (component.length === 1) return component;
  const inComponent = new Set(component);
  const pendingReferrers = new Map<number, number>();
  for (const v of component) pendingReferrers.set(v, 0);
  for (const v of component)
    for (const r of graph.references[v]!) if (inComponent.has(r)) pendingReferrers.set(r, pendingReferrers.get(r)! + 1);
  const ready = component.filter((v) => pendingReferrers.get(v) === 0);
  const order: number[] = [];
  const placed = new Set<number>();
  while (ready.length > 0) {
    const v = ready.pop()!;
    order.push(v);
    placed.add(v);
    for (const r of graph.references[v]!) {
      if (!inComponent.has(r)) continue;
      const left = pendingReferrers.get(r)! - 1;
      pendingReferrers.set(r, left);
      if (left === 0) ready.push(r);
    }
  }
  for (const v of component) if (!placed.has(v)) order.push(v);
  return order;
}

export interface DeletionPlan {
  /** Components of dead paths, each ordered referrers first; components that keep others alive come first. */
  components: number[][];
}

/** Dead = not live; the plan deletes them whole component by component, in a safe order. */
export function planDeletion(graph: StoreGraph, dead: Uint8Array, keep: KeepOptions): DeletionPlan {
  const components = stronglyConnectedComponents(graph, dead, keep).reverse();
  return { components: components.map((c) => referrersFirst(graph, c)) };
}

/**
 * The paths that must go if `start` goes: everything that keeps it alive,
 * transitively (referrers, plus the inverse deriver/output edges). Used by
 * `--delete`, which only deletes a path if all of these are also being deleted.
 */
export function keptAliveBy(graph: StoreGraph, keep: KeepOptions): number[][] {
  const inverse: number[][] = graph.paths.map(() => []);
  for (let i = 0; i < graph.size; i++) graph.forEachKeptAlive(i, keep, (j) => inverse[j]!.push(i));
  return inverse;
}

/** Everything reachable from start along the given adjacency lists (start included). */
export function reachable(adjacency: number[][], start: number): number[] {
  const seen = new Set<number>([start]);
  const stack = [start];
  while (stack.length > 0) {
    for (const w of adjacency[stack.pop()!]!) {
      if (!seen.has(w)) {
        seen.add(w);
        stack.push(w);
      }
    }
  }
  return [...seen];
}
