// Loads the committed reference facts, and, when the reference Nix is on
// PATH, the same facts asked again live, so every golden test runs against both.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
// @ts-expect-error plain JavaScript module without types
import * as recorder from '../../scripts/record-golden-store.mjs';

export const haveNix = spawnSync('nix-store', ['--version']).status === 0;

export type TreeSpec =
  | { type: 'file'; contents: string; executable?: boolean }
  | { type: 'symlink'; target: string }
  | { type: 'dir'; entries: Record<string, TreeSpec> };

export interface HashFacts {
  hashes: { input: string; algo: 'md5' | 'sha1' | 'sha256' | 'sha512'; base16: string; base32: string; truncated: string }[];
}
export interface NarFacts {
  trees: { name: string; spec: TreeSpec; narHex: string; sha256: string; md5: string }[];
}
export interface PathFacts {
  fixed: { tree: string; storeName: string; method: 'flat' | 'recursive'; algo: 'md5' | 'sha1' | 'sha256' | 'sha512'; path: string }[];
  texts: { expr: string; path: string }[];
}
export interface DrvCase {
  expr: string;
  drvPath: string;
  outputs: Record<string, string>;
  drvs: Record<string, string>;
}
export interface DrvFacts {
  cases: Record<string, DrvCase>;
  errors: Record<string, { expr: string; message: string; stderr: string }>;
}

const goldenDir = join(import.meta.dirname, '..', 'golden');
const load = <T>(name: string): T => JSON.parse(readFileSync(join(goldenDir, name), 'utf8')) as T;

export interface SourceFacts {
  sources: Record<string, { expr: string; value: string }>;
}

type Recorder = {
  recordSources(tmp: string): SourceFacts;
  makeSourceTree(tmp: string): string;
  withTmp<T>(fn: (tmp: string) => T): T;
  recordHashes(tmp: string): HashFacts;
  recordNar(tmp: string): NarFacts;
  recordPaths(tmp: string): PathFacts;
  recordDerivations(tmp: string): DrvFacts;
  buildTree(path: string, spec: TreeSpec): void;
  NAR_TREES: Record<string, TreeSpec>;
};
const rec = recorder as unknown as Recorder;

export const buildTree = rec.buildTree;
export const NAR_TREES = rec.NAR_TREES;

/** [label, facts] pairs: the committed golden file, then a live recording when possible. */
function sources<T>(file: string, live: (tmp: string) => T): [string, T][] {
  const out: [string, T][] = [['golden', load<T>(file)]];
  if (haveNix) out.push(['live', rec.withTmp(live)]);
  return out;
}

export const hashSources = (): [string, HashFacts][] => sources('store-hashes.json', rec.recordHashes);
export const narSources = (): [string, NarFacts][] => sources('store-nar.json', rec.recordNar);
export const pathSources = (): [string, PathFacts][] => sources('store-paths.json', rec.recordPaths);
export const drvSources = (): [string, DrvFacts][] => sources('store-derivations.json', rec.recordDerivations);
export const sourceSources = (): [string, SourceFacts][] => sources('store-sources.json', rec.recordSources);
export const makeSourceTree = rec.makeSourceTree;
export const goldenDerivations = (): DrvFacts => load<DrvFacts>('store-derivations.json');
