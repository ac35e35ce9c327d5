// Closures and topological order of store paths, as Nix computes them for
// `nix-store -q --requisites/--referrers-closure`, --export and --tree.
// Orders matter for byte-identical output: Nix keeps paths in sets ordered
// by base name (hash part first), which for paths of one store directory is
// the order of the full path strings.

import { NixError } from '../../eval/errors.js';
import { isDerivationPath } from '../store-path.js';
import { topoSort } from '../topo-sort.js';
import type { ValidPathInfo } from '../store-api.js';

/** What closure computations need from a store. */
export interface StoreGraph {
  readonly storeDir: string;
  isValidPath(path: string): boolean;
  queryPathInfo(path: string): ValidPathInfo | undefined;
  queryReferrers(path: string): string[];
  queryValidDerivers(path: string): string[];
  /** Output name → path of a valid derivation. */
  queryDerivationOutputs(drvPath: string): Map<string, string>;
}

export class InvalidPathError extends NixError {}

export function requireInfo(store: StoreGraph, path: string): ValidPathInfo {
  const info = store.queryPathInfo(path);
  if (!info) throw new InvalidPathError(`path '${path}' is not valid`);
  return info;
}

export interface ClosureOptions {
  /** Follow referrers instead of references. */
  flipDirection?: boolean;
  /** Also the outputs of derivations (forwards) / the derivers of outputs (backwards). */
  includeOutputs?: boolean;
  /** Also the deriver of each path (forwards) / the outputs of derivations (backwards). */
  includeDerivers?: boolean;
}

/** Everything reachable from `starts` through `next` (starts included), without recursion. */
export function reachable(starts: Iterable<string>, next: (path: string) => Iterable<string>): Set<string> {
  const result = new Set<string>();
  const work = [...starts];
  while (work.length > 0) {
    const path = work.pop()!;
    if (result.has(path)) continue;
    result.add(path);
    for (const n of next(path)) if (!result.has(n)) work.push(n);
  }
  return result;
}

/** Nix's computeFSClosure: every path reachable from startPaths, the start paths included. */
export function computeFSClosure(store: StoreGraph, startPaths: Iterable<string>, options: ClosureOptions = {}): Set<string> {
  return reachable(startPaths, (path) => edges(store, path, options));
}

function edges(store: StoreGraph, path: string, options: ClosureOptions): string[] {
  const out: string[] = [];
  const validOutputs = () =>
    [...store.queryDerivationOutputs(path).values()].filter((p) => store.isValidPath(p));
  if (options.flipDirection) {
    // An invalid path has no referrers, and is its own closure (Nix does not check).
    for (const r of store.queryReferrers(path)) if (r !== path) out.push(r);
    if (options.includeOutputs) out.push(...store.queryValidDerivers(path));
    if (options.includeDerivers && isDerivationPath(path)) out.push(...validOutputs());
  } else {
    const info = requireInfo(store, path);
    for (const r of info.references) if (r !== path) out.push(r);
    if (options.includeOutputs && isDerivationPath(path)) out.push(...validOutputs());
    if (options.includeDerivers && info.deriver && store.isValidPath(info.deriver)) out.push(info.deriver);
  }
  return out;
}

/**
 * Nix's topoSortPaths: referrers before their references (so reversing it
 * lists dependencies first), ties broken by the set order. References that
 * are not in `paths` are not followed. A cycle is an error with Nix's text.
 */
export function topoSortPaths(store: StoreGraph, paths: Iterable<string>): string[] {
  return topoSort(paths, (p) => store.queryPathInfo(p)?.references ?? [],
    (p, parent) => new InvalidPathError(`cycle detected in the references of '${p}' from '${parent}'`));
}
