// After a successful build: what the builder left at the scratch locations
// becomes valid store paths — canonicalised, the fixed-output hash checked,
// references scanned (only the input closure and the derivation's own
// outputs count), NAR-hashed, checked against allowedReferences & co., moved
// into place and registered in one transaction. With --check, compared with
// the valid outputs instead.

import fs from 'node:fs';
import { BuildFailure } from './build-failure.js';
import { hashFile, hashEquals, printHash, type Hash } from '../store/hash.js';
import { hashPath, canonicaliseMetadata } from '../store/nar.js';
import { renderContentAddress } from '../store/content-address.js';
import { scanForReferences } from '../store/references.js';
import type { Derivation } from '../store/derivation.js';
import { isStorePath, makeFixedOutputPath, storePathName } from '../store/store-path.js';
import type { ValidPathInfo } from '../store/store-api.js';
import type { BuildStore } from './build-store.js';
import type { BuildRequest } from './local-builder.js';
import { deleteTree } from './fs-tree.js';
import { reachable } from '../store/query/closure.js';
import { topoSort } from '../store/topo-sort.js';
import { runDiffHook, type DiffHook } from './diff-hook.js';

function hashOfOutput(realPath: string, method: 'flat' | 'recursive', algo: Hash['algo']): Hash {
  if (method === 'recursive') return hashPath(algo, realPath).hash;
  const st = fs.lstatSync(realPath);
  if (!st.isFile() || (st.mode & 0o100) !== 0)
    throw new BuildFailure(
      `output path '${realPath}' should be a non-executable regular file since recursive hashing is not enabled (outputHashMode=flat)`,
      'misc');
  return hashFile(algo, realPath);
}

export function registerOutputs(
  req: BuildRequest,
  outputs: Map<string, string>,
  scratch: Map<string, string>,
  alreadyValid: Set<string>,
  useScratch: boolean,
  isFixed: boolean,
  /** -K: with --check, an output that differs is kept beside the valid one (`….check`). */
  keepFailed: boolean,
  /** run-diff-hook: such an output is kept too, and the hook shown the two. */
  diffHook?: DiffHook,
): Map<string, string> {
  const { store, drvPath, drv } = req;
  const infos: ValidPathInfo[] = [];
  const candidates = new Set([...req.inputPaths, ...outputs.values()]);

  for (const [name, storePath] of outputs) {
    const actual = scratch.get(name)!;
    if (!fs.existsSync(actual) && !isSymlink(actual)) {
      throw new BuildFailure(`builder for '${drvPath}' failed to produce output path for output '${name}' at '${actual}'`, 'rejected');
    }
    canonicaliseMetadata(actual);

    let ca: string | undefined;
    const out = drv.outputs.get(name)!;
    if (isFixed && out.kind === 'fixed') {
      const got = hashOfOutput(actual, out.method, out.hash.algo);
      if (!hashEquals(got, out.hash)) {
        if (!req.check) keepUnderActualHash(req, storePath, actual, out.method, got, candidates);
        throw new BuildFailure(
          `hash mismatch in fixed-output derivation '${drvPath}':\n  specified: ${printHash(out.hash, 'sri', true)}\n     got:    ${printHash(got, 'sri', true)}`,
          'hashMismatch');
      }
      ca = renderContentAddress({ type: 'fixed', method: out.method, hash: out.hash });
    }

    const { references, narHash: hash, narSize: size } = scanForReferences(actual, candidates);
    if (isFixed && references.some((r) => r !== storePath))
      throw new BuildFailure(`illegal path references in fixed-output derivation '${drvPath}'`, 'misc');
    infos.push({
      path: storePath,
      narHash: printHash(hash, 'base32', true),
      narSize: size,
      references,
      deriver: drvPath,
      ultimate: true,
      ...(ca ? { ca } : {}),
    });
  }

  const names = [...outputs.keys()]; // in the order of infos
  // Outputs may refer to each other, but not in a cycle; Nix checks that
  // before anything is compared or moved.
  const nameOf = new Map([...outputs].map(([name, p]) => [p, name]));
  const outputRefs = new Map(infos.map((info, i) => [names[i]!, info.references.flatMap((r) => nameOf.get(r) ?? [])]));
  topoSort(names, (name) => outputRefs.get(name)!, (name, parent) =>
    new BuildFailure(`cycle detected in build of '${drvPath}' in the references of output '${name}' from output '${parent}'`, 'misc'));

  if (req.check) {
    for (const [i, info] of infos.entries()) {
      const old = store.queryPathInfo(info.path);
      if (!old || old.narHash === info.narHash) continue;
      const real = store.toRealPath(info.path);
      let message = `derivation '${drvPath}' may not be deterministic: output '${real}' differs`;
      if (keepFailed || diffHook) {
        const kept = `${real}.check`;
        deleteTree(kept);
        moveIntoStore(scratch.get(names[i]!)!, kept);
        message += ` from '${kept}'`;
        if (diffHook) for (const line of runDiffHook(diffHook, info.path, kept, drvPath)) req.onMessage?.(line, 0);
      }
      throw new BuildFailure(message, 'checkMismatch');
    }
    for (const p of scratch.values()) deleteTree(p);
    return outputs;
  }

  checkOutputReferences(drv, drvPath, infos, outputs, store);

  // Under --repair, valid outputs are registered again (their hash may have been what was wrong).
  const toRegister = infos.filter((info) => req.repair || !store.isValidPath(info.path));
  for (const info of toRegister) store.addTempRoot(info.path);
  if (useScratch) {
    for (const [name, storePath] of outputs) {
      if (alreadyValid.has(name) || (store.isValidPath(storePath) && !req.repair)) continue;
      replaceContents(scratch.get(name)!, store.toRealPath(storePath));
    }
  }
  store.registerValidPaths(toRegister);
  return outputs;
}

/**
 * A fixed output with the wrong hash is kept, as Nix keeps it: valid at the
 * path its actual hash (and its references) give, with this derivation as
 * deriver, so that correcting the hash in the expression needs no second
 * build. One that refers to itself is not kept: that reference would be
 * wrong at the new path (Nix rewrites it; tsnix does not yet). Nor is one
 * whose kind of hash cannot have the references it has.
 */
function keepUnderActualHash(req: BuildRequest, storePath: string, actual: string, method: 'flat' | 'recursive', got: Hash, candidates: Set<string>): void {
  const { store, drvPath } = req;
  const { references, narHash, narSize } = scanForReferences(actual, candidates);
  if (references.includes(storePath)) return;
  let actualPath: string;
  try {
    actualPath = makeFixedOutputPath(method, got, storePathName(storePath), store.storeDir, references);
  } catch {
    return;
  }
  if (store.isValidPath(actualPath)) return;
  store.addTempRoot(actualPath);
  replaceContents(actual, store.toRealPath(actualPath));
  store.registerValidPaths([{
    path: actualPath,
    narHash: printHash(narHash, 'base32', true),
    narSize,
    references,
    deriver: drvPath,
    ultimate: true,
    ca: renderContentAddress({ type: 'fixed', method, hash: got }),
  }]);
}

/**
 * Puts what was built at `real`: whatever is there (a leftover, or the
 * corrupted contents of a path being repaired) is moved aside first and
 * deleted only once the new contents are in place (Nix's replaceValidPath).
 */
function replaceContents(from: string, real: string): void {
  let old: string | undefined;
  if (fs.existsSync(real) || isSymlink(real)) {
    old = `${real}.old-${process.pid}-${Date.now()}`;
    fs.renameSync(real, old);
  }
  moveIntoStore(from, real);
  if (old) deleteTree(old);
}

/**
 * Renames a canonicalised output into place. Moving a directory to another
 * parent needs write permission on it (its `..` changes), which its
 * canonical mode 0555 denies to anyone but root: open it up for the move.
 */
function moveIntoStore(from: string, to: string): void {
  const st = fs.lstatSync(from);
  if (!st.isDirectory() || process.getuid?.() === 0) {
    fs.renameSync(from, to);
    return;
  }
  fs.chmodSync(from, 0o755);
  fs.renameSync(from, to);
  fs.chmodSync(to, st.mode & 0o7777);
  fs.lutimesSync(to, st.atime, 1);
}

function isSymlink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

interface OutputChecks {
  ignoreSelfRefs: boolean;
  maxSize?: number;
  maxClosureSize?: number;
  allowedReferences?: string[];
  allowedRequisites?: string[];
  disallowedReferences?: string[];
  disallowedRequisites?: string[];
}

const REF_CHECKS = ['allowedReferences', 'allowedRequisites', 'disallowedReferences', 'disallowedRequisites'] as const;

function words(value: string): string[] {
  return value.split(/[ \t\n\r]+/).filter((x) => x !== '');
}

/** The checks for one output: the top-level attributes, or `outputChecks.<output>` with structured attributes. */
function checksFor(drv: Derivation, drvPath: string, outputName: string): OutputChecks | undefined {
  const json = drv.env.get('__json');
  if (json === undefined) {
    const checks: OutputChecks = { ignoreSelfRefs: true };
    for (const name of REF_CHECKS) {
      const v = drv.env.get(name);
      if (v !== undefined) checks[name] = words(v);
    }
    return checks;
  }
  const all = (JSON.parse(json) as { outputChecks?: Record<string, Record<string, unknown>> }).outputChecks;
  const spec = all?.[outputName];
  if (!spec || typeof spec !== 'object') return undefined;
  const checks: OutputChecks = { ignoreSelfRefs: spec.ignoreSelfRefs === true };
  if (typeof spec.maxSize === 'number') checks.maxSize = spec.maxSize;
  if (typeof spec.maxClosureSize === 'number') checks.maxClosureSize = spec.maxClosureSize;
  for (const name of REF_CHECKS) {
    const v = spec[name];
    if (v === undefined) continue;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
      throw new BuildFailure(`attribute '${name}' of derivation '${drvPath}' must be a list of strings`, 'rejected');
    checks[name] = v as string[];
  }
  return checks;
}

/**
 * Nix's output checks: sizes, and allowed/disallowed references (direct)
 * and requisites (the closure). A specifier is a store path or an output
 * name. Self-references count, except for requisites in the classic
 * (non-structured) form.
 */
function checkOutputReferences(drv: Derivation, drvPath: string, infos: ValidPathInfo[], outputs: Map<string, string>, store: BuildStore): void {
  const byPath = new Map(infos.map((i) => [i.path, i]));
  const infoOf = (p: string) => byPath.get(p) ?? store.queryPathInfo(p);
  const closureOf = (start: string): Set<string> => reachable([start], (p) => infoOf(p)?.references ?? []);
  const resolve = (specifiers: string[]): Set<string> => {
    const out = new Set<string>();
    for (const w of specifiers) {
      if (isStorePath(w, store.storeDir)) out.add(w);
      else if (outputs.has(w)) out.add(outputs.get(w)!);
      else throw new BuildFailure(`derivation contains an illegal reference specifier '${w}'`, 'rejected');
    }
    return out;
  };
  for (const [outputName, outPath] of outputs) {
    const info = byPath.get(outPath);
    const checks = info && checksFor(drv, drvPath, outputName);
    if (!info || !checks) continue;
    if (checks.maxSize !== undefined && info.narSize > checks.maxSize)
      throw new BuildFailure(`path '${info.path}' is too large at ${info.narSize} bytes; limit is ${checks.maxSize} bytes`, 'rejected');
    if (checks.maxClosureSize !== undefined) {
      let size = 0;
      for (const p of closureOf(info.path)) size += infoOf(p)?.narSize ?? 0;
      if (size > checks.maxClosureSize)
        throw new BuildFailure(`closure of path '${info.path}' is too large at ${size} bytes; limit is ${checks.maxClosureSize} bytes`, 'rejected');
    }
    for (const name of REF_CHECKS) {
      const value = checks[name];
      if (value === undefined) continue;
      const allowed = name.startsWith('allowed');
      const recursive = name.endsWith('Requisites');
      const spec = resolve(value);
      const used = recursive ? closureOf(info.path) : new Set(info.references);
      if (recursive && checks.ignoreSelfRefs) used.delete(info.path);
      const bad = [...used].filter((p) => (allowed ? !spec.has(p) : spec.has(p))).sort();
      if (bad.length > 0) {
        throw new BuildFailure(
          `output '${info.path}' is not allowed to refer to the following paths:${bad.map((p) => `\n  ${p}`).join('')}`,
          'rejected');
      }
    }
  }
}
