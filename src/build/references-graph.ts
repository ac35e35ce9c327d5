// `exportReferencesGraph = [ name1 path1 name2 path2 ... ]`: for each pair,
// the closure of the path (which must be in the derivation's input closure)
// is written to the file `name` in the build directory, in the format of
// `nix-store --register-validity` with empty deriver lines. Derivations in
// the closure bring their outputs' closures along (Nix's exportReferences).

import { readDerivation, derivationOutputPath } from '../store/derivation.js';
import { compareBytewise } from '../sort-strings.js';
import { isDerivationPath, isInStore, toStorePath } from '../store/store-path.js';
import type { BuildStore } from './build-store.js';
import { BuildFailure } from './build-failure.js';

function closureInto(store: BuildStore, start: string, into: Set<string>): void {
  const todo = [start];
  while (todo.length > 0) {
    const p = todo.pop()!;
    if (into.has(p)) continue;
    into.add(p);
    for (const r of store.queryPathInfo(p)?.references ?? []) if (!into.has(r)) todo.push(r);
  }
}

function exportReferences(store: BuildStore, storePath: string, inputPaths: Set<string>, paths = new Set<string>()): Set<string> {
  if (!inputPaths.has(storePath))
    throw new BuildFailure(`cannot export references of path '${storePath}' because it is not in the input closure of the derivation`, 'misc');
  closureInto(store, storePath, paths);
  for (const p of [...paths]) {
    if (!isDerivationPath(p)) continue;
    const drv = readDerivation(store, p);
    for (const name of drv.outputs.keys()) {
      const out = derivationOutputPath(drv, name, store.storeDir);
      if (out && store.isValidPath(out)) closureInto(store, out, paths);
    }
  }
  return paths;
}

/** The registration text (`nix-store --register-validity` format, no hashes, no derivers). */
function validityRegistration(store: BuildStore, paths: Set<string>): string {
  let s = '';
  for (const p of [...paths].sort(compareBytewise)) {
    const refs = [...(store.queryPathInfo(p)?.references ?? [])].sort(compareBytewise);
    s += `${p}\n\n${refs.length}\n${refs.map((r) => `${r}\n`).join('')}`;
  }
  return s;
}

/** File name → contents for the derivation's exportReferencesGraph (non-structured derivations). */
export function referencesGraphFiles(value: string | undefined, store: BuildStore, inputPaths: Set<string>): Map<string, string> {
  const files = new Map<string, string>();
  if (value === undefined) return files;
  const tokens = value.split(/[ \t\n\r]+/).filter((t) => t !== '');
  if (tokens.length % 2 !== 0) throw new BuildFailure(`odd number of tokens in 'exportReferencesGraph': '${value}'`, 'misc');
  for (let i = 0; i < tokens.length; i += 2) {
    const fileName = tokens[i]!;
    const pathS = tokens[i + 1]!;
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(fileName))
      throw new BuildFailure(`invalid file name '${fileName}' in 'exportReferencesGraph'`, 'misc');
    if (!isInStore(pathS, store.storeDir)) throw new BuildFailure(`'exportReferencesGraph' contains a non-store path '${pathS}'`, 'misc');
    const { storePath } = toStorePath(pathS, store.storeDir);
    files.set(fileName, validityRegistration(store, exportReferences(store, storePath, inputPaths)));
  }
  return files;
}

import type { Json } from './environment.js';

/**
 * The structured-attributes form: `exportReferencesGraph = { name = [ paths ]; }`
 * becomes `name = [ { path, narHash, narSize, references, ca?, closureSize } ... ]`
 * in .attrs.json, as Nix's pathInfoToJSON writes it.
 */
export function referencesGraphJson(spec: Json, store: BuildStore, inputPaths: Set<string>): Record<string, Json> {
  const out: Record<string, Json> = {};
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) return out;
  for (const [key, value] of Object.entries(spec)) {
    const roots = Array.isArray(value) ? value : [value];
    const paths = new Set<string>();
    for (const r of roots) {
      if (typeof r !== 'string') throw new BuildFailure(`'exportReferencesGraph' contains a non-string value in '${key}'`, 'misc');
      exportReferences(store, toStorePath(r, store.storeDir).storePath, inputPaths, paths);
    }
    out[key] = [...paths].sort(compareBytewise).map((p): Json => {
      const info = store.queryPathInfo(p);
      if (!info) return { path: p, valid: false };
      const closure = new Set<string>();
      closureInto(store, p, closure);
      let closureSize = 0;
      for (const c of closure) closureSize += store.queryPathInfo(c)?.narSize ?? 0;
      return {
        path: p,
        narHash: info.narHash,
        narSize: BigInt(info.narSize),
        references: [...info.references].sort(compareBytewise),
        ...(info.ca ? { ca: info.ca } : {}),
        closureSize: BigInt(closureSize),
      };
    });
  }
  return out;
}
