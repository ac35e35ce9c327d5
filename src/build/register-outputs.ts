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
import { isStorePath } from '../store/store-path.js';
import type { ValidPathInfo } from '../store/store-api.js';
import type { BuildStore } from './build-store.js';
import type { BuildRequest } from './local-builder.js';
import { removeTree } from './fs-tree.js';

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

  if (req.check) {
    for (const info of infos) {
      const old = store.queryPathInfo(info.path);
      if (old && old.narHash !== info.narHash)
        throw new BuildFailure(`derivation '${drvPath}' may not be deterministic: output '${store.toRealPath(info.path)}' differs`, 'checkMismatch');
    }
    for (const p of scratch.values()) removeTree(p);
    return outputs;
  }

  checkOutputReferences(drv, infos, outputs, store);

  const toRegister = infos.filter((info) => !store.isValidPath(info.path));
  for (const info of toRegister) store.addTempRoot(info.path);
  if (useScratch) {
    for (const [name, storePath] of outputs) {
      if (alreadyValid.has(name) || store.isValidPath(storePath)) continue;
      const real = store.toRealPath(storePath);
      removeTree(real);
      moveIntoStore(scratch.get(name)!, real);
    }
  }
  store.registerValidPaths(toRegister);
  return outputs;
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

/**
 * allowedReferences / allowedRequisites / disallowedReferences /
 * disallowedRequisites (non-structured form), as Nix checks them: a
 * specifier is a store path or an output name; a self-reference counts for
 * the *References checks but not for the *Requisites ones.
 */
function checkOutputReferences(drv: Derivation, infos: ValidPathInfo[], outputs: Map<string, string>, store: BuildStore): void {
  if (drv.env.has('__json')) return;
  const byPath = new Map(infos.map((i) => [i.path, i]));
  const resolve = (value: string): Set<string> => {
    const out = new Set<string>();
    for (const w of value.split(/[ \t\n\r]+/).filter((x) => x !== '')) {
      if (isStorePath(w, store.storeDir)) out.add(w);
      else if (outputs.has(w)) out.add(outputs.get(w)!);
      else throw new BuildFailure(`derivation contains an illegal reference specifier '${w}'`, 'rejected');
    }
    return out;
  };
  const closureOf = (start: string): Set<string> => {
    const seen = new Set<string>();
    const todo = [start];
    while (todo.length > 0) {
      const p = todo.pop()!;
      if (seen.has(p)) continue;
      seen.add(p);
      todo.push(...(byPath.get(p)?.references ?? store.queryPathInfo(p)?.references ?? []));
    }
    return seen;
  };
  const checks: [string, boolean, boolean][] = [
    ['allowedReferences', true, false],
    ['allowedRequisites', true, true],
    ['disallowedReferences', false, false],
    ['disallowedRequisites', false, true],
  ];
  for (const info of infos) {
    for (const [attr, allowed, recursive] of checks) {
      const value = drv.env.get(attr);
      if (value === undefined) continue;
      const spec = resolve(value);
      const used = recursive ? closureOf(info.path) : new Set(info.references);
      if (recursive) used.delete(info.path);
      const bad = [...used].filter((p) => (allowed ? !spec.has(p) : spec.has(p))).sort();
      if (bad.length > 0) {
        throw new BuildFailure(
          `output '${info.path}' is not allowed to refer to the following paths:${bad.map((p) => `\n  ${p}`).join('')}`,
          'rejected');
      }
    }
  }
}
