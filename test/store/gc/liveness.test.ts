import { describe, expect, it } from 'vitest';
import {
  computeLive,
  graphFromDescriptions,
  keptAliveBy,
  planDeletion,
  reachable,
  StoreGraph,
  stronglyConnectedComponents,
  type KeepOptions,
  type PathDescription,
} from '../../../src/store/gc/liveness.js';

const S = '/nix/store/';
const p = (hashChar: string, name: string): string => `${S}${hashChar.repeat(32)}-${name}`;

const src = p('a', 'src.tar.gz');
const drv = p('b', 'hello.drv');
const out = p('c', 'hello');
const lib = p('d', 'hello-lib');
const dev = p('f', 'hello-dev');
const glibc = p('g', 'glibc');
const unrelated = p('h', 'unrelated');

// A derivation with three outputs; out refers to lib, dev refers to out.
const store: PathDescription[] = [
  { path: src },
  { path: glibc },
  { path: drv, references: [src], outputs: [out, lib, dev] },
  { path: lib, references: [glibc], deriver: drv },
  { path: out, references: [lib, glibc], deriver: drv },
  { path: dev, references: [out], deriver: drv },
  { path: unrelated },
];

function liveSet(descriptions: PathDescription[], roots: string[], keep: KeepOptions): string[] {
  const g = graphFromDescriptions(descriptions);
  const live = computeLive(g, roots.map((r) => g.indexOf(r)!), keep);
  return g.paths.filter((_, i) => live[i]).sort();
}

const NONE: KeepOptions = { keepDerivations: false, keepOutputs: false };
const DEFAULT: KeepOptions = { keepDerivations: true, keepOutputs: false };
const BOTH: KeepOptions = { keepDerivations: true, keepOutputs: true };
const OUTPUTS_ONLY: KeepOptions = { keepDerivations: false, keepOutputs: true };

describe('liveness', () => {
  it('keeps the reference closure of a root and nothing else without keep settings', () => {
    expect(liveSet(store, [out], NONE)).toEqual([out, lib, glibc].sort());
  });

  it('keep-derivations keeps the deriver of a live output and its inputs', () => {
    expect(liveSet(store, [lib], DEFAULT)).toEqual([lib, glibc, drv, src].sort());
  });

  it('keep-outputs keeps the outputs of a live derivation', () => {
    expect(liveSet(store, [drv], OUTPUTS_ONLY)).toEqual([drv, src, out, lib, dev, glibc].sort());
    // Without keep-derivations an output does not keep its .drv.
    expect(liveSet(store, [dev], OUTPUTS_ONLY)).toEqual([dev, out, lib, glibc].sort());
  });

  it('with both settings any member keeps the whole derivation family', () => {
    expect(liveSet(store, [lib], BOTH)).toEqual([drv, src, out, lib, dev, glibc].sort());
  });

  it('ignores a deriver that is not valid', () => {
    const descriptions: PathDescription[] = [{ path: out, deriver: drv }];
    expect(liveSet(descriptions, [out], DEFAULT)).toEqual([out]);
  });

  it('has no live paths without roots', () => {
    expect(liveSet(store, [], BOTH)).toEqual([]);
  });
});

describe('strongly connected components', () => {
  it('are single paths when the graph has no keep cycles', () => {
    const g = graphFromDescriptions(store);
    const all = new Uint8Array(g.size).fill(1);
    const comps = stronglyConnectedComponents(g, all, NONE);
    expect(comps.every((c) => c.length === 1)).toBe(true);
    expect(comps.length).toBe(g.size);
  });

  it('put a derivation and its outputs in one component when both keep settings are on', () => {
    const g = graphFromDescriptions(store);
    const all = new Uint8Array(g.size).fill(1);
    const comps = stronglyConnectedComponents(g, all, BOTH).map((c) => c.map((i) => g.paths[i]!).sort());
    expect(comps).toContainEqual([drv, out, lib, dev].sort());
    expect(comps).toContainEqual([src]);
    expect(comps).toContainEqual([glibc]);
  });

  it('handle a chain of 200,000 paths and a 100,000-member cycle without recursion', () => {
    const g = new StoreGraph();
    const n = 200_000;
    for (let i = 0; i < n; i++) g.add(`${S}${String(i).padStart(32, '0')}-p`);
    for (let i = 0; i + 1 < n; i++) g.addReference(i, i + 1);
    // Close a cycle over the first half through deriver edges.
    g.setDeriver(n / 2 - 1, 0);
    const all = new Uint8Array(n).fill(1);
    const comps = stronglyConnectedComponents(g, all, DEFAULT);
    expect(comps.length).toBe(n / 2 + 1);
    expect(Math.max(...comps.map((c) => c.length))).toBe(n / 2);
    const live = computeLive(g, [n - 1], DEFAULT);
    expect(live.reduce((a, b) => a + b, 0)).toBe(1);
    const live2 = computeLive(g, [0], DEFAULT);
    expect(live2.reduce((a, b) => a + b, 0)).toBe(n);
  });
});

describe('deletion plan', () => {
  function positions(descriptions: PathDescription[], keep: KeepOptions): { order: string[]; comps: string[][] } {
    const g = graphFromDescriptions(descriptions);
    const dead = new Uint8Array(g.size).fill(1);
    const plan = planDeletion(g, dead, keep);
    return { order: plan.components.flat().map((i) => g.paths[i]!), comps: plan.components.map((c) => c.map((i) => g.paths[i]!)) };
  }

  for (const [label, keep] of [['no keep settings', NONE], ['keep-derivations', DEFAULT], ['both keep settings', BOTH]] as const) {
    it(`deletes referrers before their references (${label})`, () => {
      const { order } = positions(store, keep);
      expect(order.length).toBe(store.length);
      const at = (x: string) => order.indexOf(x);
      for (const d of store) for (const r of d.references ?? []) expect(at(d.path)).toBeLessThan(at(r));
    });
  }

  it('deletes a component before the components it keeps alive', () => {
    const { order } = positions(store, DEFAULT);
    // Outputs keep their .drv alive, so they go first; the .drv keeps its source.
    for (const o of [out, lib, dev]) expect(order.indexOf(o)).toBeLessThan(order.indexOf(drv));
    expect(order.indexOf(drv)).toBeLessThan(order.indexOf(src));
  });

  it('keeps a keep-outputs/keep-derivations cycle together as one component, outputs ordered among themselves', () => {
    const { comps } = positions(store, BOTH);
    const family = comps.find((c) => c.includes(drv))!;
    expect([...family].sort()).toEqual([drv, out, lib, dev].sort());
    expect(family.indexOf(dev)).toBeLessThan(family.indexOf(out));
    expect(family.indexOf(out)).toBeLessThan(family.indexOf(lib));
  });

  it('finds what keeps a path alive for --delete', () => {
    const g = graphFromDescriptions(store);
    const inverse = keptAliveBy(g, DEFAULT);
    const keepers = (x: string) => reachable(inverse, g.indexOf(x)!).map((i) => g.paths[i]!).sort();
    expect(keepers(lib)).toEqual([lib, out, dev].sort());
    expect(keepers(src)).toEqual([src, drv, out, lib, dev].sort());
    expect(keepers(unrelated)).toEqual([unrelated]);
  });
});
