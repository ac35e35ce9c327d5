// The store-side logic of nix-store operations that print text: each
// returns the exact text Nix prints, so the command layer only writes it.

import fs from 'node:fs';
import { decodeBytes } from '../../byte-strings.js';
import path from 'node:path';
import { NixError, UsageError } from '../../eval/errors.js';
import { parseDerivation, derivationOutputPath, type Derivation } from '../derivation.js';
import { compareBytewise } from '../../sort-strings.js';
import { parseHashAny, printHash, parseHashAnyPrefixed } from '../hash.js';
import { isInStore, toStorePath, storePathName, isDerivationPath, DRV_EXTENSION } from '../store-path.js';
import type { ValidPathInfo } from '../store-api.js';
import type { LocalStore } from '../local/local-store.js';
import { topoSortPaths } from './closure.js';
import { lstat, readLink } from '../../byte-fs.js';

/** Nix's baseNameOf: the last component, ignoring one trailing slash. */
export function baseNameOf(p: string): string {
  if (p === '') return '';
  let last = p.length - 1;
  if (p[last] === '/' && last > 0) last--;
  const slash = p.lastIndexOf('/', last);
  return p.slice(slash + 1, last + 1);
}

/** Nix's followLinksToStorePath: absolute path, symlinks outside the store followed until it is inside. */
export function followLinksToStorePath(store: LocalStore, arg: string, cwd = process.cwd()): string {
  let p = path.resolve(cwd, arg);
  // A chroot store's result links point into its physical directory.
  const logical = (q: string) =>
    store.realStoreDir !== store.storeDir && q.startsWith(store.realStoreDir + '/') ? store.storeDir + q.slice(store.realStoreDir.length) : q;
  p = logical(p);
  while (!isInStore(p, store.storeDir)) {
    let st: fs.Stats;
    try {
      st = lstat(p);
    } catch {
      break;
    }
    if (!st.isSymbolicLink()) break;
    p = logical(path.resolve(path.dirname(p), readLink(p)));
  }
  if (!isInStore(p, store.storeDir)) throw new NixError(`path '${p}' is not in the Nix store`);
  return toStorePath(p, store.storeDir).storePath;
}

/** Reads and parses a derivation in the store (it must be valid). */
export function readStoreDerivation(store: LocalStore, drvPath: string): Derivation {
  if (!store.isValidPath(drvPath)) throw new NixError(`path '${drvPath}' is not valid`);
  const text = decodeBytes(fs.readFileSync(store.toRealPath(drvPath)));
  return parseDerivation(text, storePathName(drvPath).slice(0, -DRV_EXTENSION.length), store.storeDir);
}

/** The output paths of a derivation as `--use-output` sees them (sorted like Nix's path set). */
export function derivationOutputs(store: LocalStore, drvPath: string): string[] {
  const drv = readStoreDerivation(store, drvPath);
  const outs: string[] = [];
  for (const name of drv.outputs.keys()) {
    const p = derivationOutputPath(drv, name, store.storeDir);
    if (p === undefined)
      throw new UsageError('Cannot use output path of floating content-addressed derivation until we know what it is (e.g. by building it)');
    outs.push(p);
  }
  return [...new Set(outs)].sort();
}

export function maybeUseOutputs(store: LocalStore, storePath: string, useOutput: boolean): string[] {
  return useOutput && isDerivationPath(storePath) ? derivationOutputs(store, storePath) : [storePath];
}

/** Lines of paths in Nix's "dependencies first" order (reverse of topoSortPaths). */
export function printSortedPaths(store: LocalStore, paths: Iterable<string>): string {
  return topoSortPaths(store, paths).reverse().map((p) => `${p}\n`).join('');
}

/** `--print-env`: the derivation's environment as sourceable shell, then its arguments. */
export function printEnv(drv: Derivation): string {
  let out = '';
  for (const [k, v] of [...drv.env].sort(([a], [b]) => compareBytewise(a, b))) out += `export ${k}; ${k}=${shellEscape(v)}\n`;
  return `${out}export _args; _args='${drv.args.map(shellEscape).join(' ')}'\n`;
}

export function shellEscape(s: string): string {
  return `'${s.replace(/'/g, "'\\''")}'`;
}

/** `--dump-db` / makeValidityRegistration with derivers and hashes. */
export function validityRegistration(info: ValidPathInfo): string {
  const hex = printHash(parseHashAnyPrefixed(info.narHash), 'base16');
  const refs = [...info.references].sort();
  return `${info.path}\n${hex}\n${info.narSize}\n${info.deriver ?? ''}\n${refs.length}\n${refs.map((r) => `${r}\n`).join('')}`;
}

/**
 * Parses `--load-db` / `--register-validity` input. With hashGiven, each
 * entry carries the NAR hash and size after the path.
 */
export function parseValidityRegistrations(text: string, hashGiven: boolean): ValidPathInfo[] {
  const lines = text.split('\n');
  let i = 0;
  const next = (): string => {
    if (i >= lines.length || (i === lines.length - 1 && lines[i] === '')) throw new NixError('missing input');
    return lines[i++]!;
  };
  const num = (s: string): number => {
    if (!/^\d+$/.test(s)) throw new NixError('number expected');
    return Number(s);
  };
  const infos: ValidPathInfo[] = [];
  while (i < lines.length && !(i === lines.length - 1 && lines[i] === '')) {
    const p = lines[i++]!;
    let narHash = '';
    let narSize = 0;
    if (hashGiven) {
      narHash = printHash(parseHashAny(next(), 'sha256'), 'base32', true);
      narSize = num(next());
    }
    const deriver = next();
    const n = num(next());
    const references: string[] = [];
    for (let k = 0; k < n; k++) references.push(next());
    infos.push({ path: p, narHash, narSize, references, ...(deriver !== '' ? { deriver } : {}) });
  }
  return infos;
}
