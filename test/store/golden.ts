// Loads the committed reference facts, and, when the reference Nix is on
// PATH, the same facts asked again live, so every golden test runs against both.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error plain JavaScript module without types
import * as recorder from '../../scripts/record-golden-store.mjs';

const versionProbe = spawnSync('nix-store', ['--version'], { encoding: 'utf8' });
export const haveNix = versionProbe.status === 0;
const nixVersion = haveNix ? versionProbe.stdout.trim() : '';

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
  /** Floating content-addressed and impure derivations (and dependents), with the features they need. */
  experimental: Record<string, DrvCase & { features: string[] }>;
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

/**
 * The reference's live answers. Several test files ask the same questions,
 * each in its own worker process, so within one test run the first to ask
 * records them into a temporary file (named after the run, the recorder's
 * source and the reference's version) and the others read it.
 */
function recordLive<T>(file: string, live: (tmp: string) => T): T {
  const recorderSource = readFileSync(join(import.meta.dirname, '..', '..', 'scripts', 'record-golden-store.mjs'));
  const key = createHash('sha256').update(recorderSource).update(nixVersion).update(String(process.ppid)).update(file).digest('hex').slice(0, 16);
  const cache = join(tmpdir(), `tsnix-live-${key}-${file}`);
  if (existsSync(cache)) return JSON.parse(readFileSync(cache, 'utf8')) as T;
  for (const old of readdirSync(tmpdir())) {
    const p = join(tmpdir(), old);
    if (old.startsWith('tsnix-live-') && Date.now() - statSync(p).mtimeMs > 3600_000) rmSync(p, { force: true });
  }
  const facts = rec.withTmp(live);
  const tmp = `${cache}.${process.pid}`;
  writeFileSync(tmp, JSON.stringify(facts));
  renameSync(tmp, cache);
  return facts;
}

/** [label, facts] pairs: the committed golden file, then the reference's live answers when it is installed. */
function sources<T>(file: string, live: (tmp: string) => T): [string, T][] {
  const out: [string, T][] = [['golden', load<T>(file)]];
  if (haveNix) out.push(['live', recordLive(file, live)]);
  return out;
}

export const hashSources = (): [string, HashFacts][] => sources('store-hashes.json', rec.recordHashes);
export const narSources = (): [string, NarFacts][] => sources('store-nar.json', rec.recordNar);
export const pathSources = (): [string, PathFacts][] => sources('store-paths.json', rec.recordPaths);
export const drvSources = (): [string, DrvFacts][] => sources('store-derivations.json', rec.recordDerivations);
export const sourceSources = (): [string, SourceFacts][] => sources('store-sources.json', rec.recordSources);
export const makeSourceTree = rec.makeSourceTree;
export const goldenDerivations = (): DrvFacts => load<DrvFacts>('store-derivations.json');
