// The garbage collector: `nix-store --gc` (and --print-live/--print-dead,
// --max-freed), `nix-store --delete` and `nix-collect-garbage`.
//
// How one collection goes:
//  1. free the reserved space; take the GC lock (exclusive, for the whole
//     collection, as Nix does: other collectors wait, and processes adding
//     temporary roots switch to the roots socket);
//  2. open the roots socket, then read the roots: gcroots/profiles/runtime
//     roots and the temproots files (in that order, so a temp root is seen
//     either in its file or over the socket);
//  3. load the reference graph in one read transaction and compute the
//     live set (liveness.ts); the rest is dead;
//  4. delete, component by component of the dead graph (whole strongly
//     connected components, referrers before references), in batches. Each
//     batch is one critical section with no await inside: re-check the
//     temporary roots that arrived over the socket, remove the rows in one
//     transaction, rename the directories aside. Between batches the socket
//     is served, and the renamed trees are deleted; so a process adding a
//     root waits at most for one batch, never for file deletion, and once
//     it is answered a path is either kept or entirely gone from its name;
//  5. remove .links entries nobody uses any more.
//
// A path that becomes a temporary root during the collection is kept with
// everything it keeps alive. A path that gained a referrer we did not see
// (the database refuses to delete it) is kept the same way.

import fs from 'node:fs';
import path from 'node:path';
import { NixError } from '../../eval/errors.js';
import { parseStorePathBaseName, storePathHashPart } from '../store-path.js';
import type { LocalStore } from '../local/local-store.js';
import { GcLock } from './gc-lock.js';
import { RootsServer } from './collector-socket.js';
import { loadStoreGraph } from './graph-from-db.js';
import { computeLive, keptAliveBy, planDeletion, reachable, type KeepOptions, type StoreGraph } from './liveness.js';
import { findPermanentRoots, findTempRoots, type Roots } from './roots.js';
import { findRuntimeRoots } from './runtime-roots.js';
import { releaseReservedSpace } from './reserved-space.js';
import { deleteTreeCountingBytes } from './delete-tree.js';

export type GcAction = 'delete-dead' | 'delete-specific' | 'return-live' | 'return-dead';

export interface GcOptions {
  action: GcAction;
  /** For delete-specific: the store paths to delete. */
  pathsToDelete?: string[];
  /** Ignore permanent and runtime roots (`--delete --ignore-liveness`). */
  ignoreLiveness?: boolean;
  /** Stop after freeing more than this many bytes (Nix's --max-freed). */
  maxFreed?: number;
  keep: KeepOptions;
  /** Look for store paths held by running processes (on by default, as in Nix). */
  runtimeRoots?: boolean;
  /** Paths per deletion batch (critical section); tests use small values. */
  batchSize?: number;
}

export interface GcResults {
  /** Deleted paths (delete actions) or the live/dead paths (return actions). */
  paths: Set<string>;
  bytesFreed: number;
}

export type GcLog = (message: string) => void;

export class GcError extends NixError {}

const MiB = 1024 * 1024;

/** Nix's showBytes: `%.2f MiB`. */
export function showBytes(bytes: number): string {
  return `${(bytes / MiB).toFixed(2)} MiB`;
}

/** The summary line `nix-store --gc` and `nix-collect-garbage` print on stdout. */
export function formatFreed(results: GcResults): string {
  return `${results.paths.size} store paths deleted, ${showBytes(results.bytesFreed)} freed\n`;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

class LimitReached extends Error {}

/** True for temporary names of tsnix writers that are still running (`.tmp-tsnix-<pid>-...`). */
function isLiveTempName(name: string): boolean {
  const m = /^\.tmp-(?:tsnix|link)-(\d+)-/.exec(name);
  if (!m) return false;
  const pid = Number(m[1]);
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseBaseName(name: string): boolean {
  try {
    parseStorePathBaseName(name);
    return true;
  } catch {
    return false;
  }
}

export interface RootsOptions {
  censor?: boolean;
  runtimeRoots?: boolean;
  log?: GcLog;
}

/** All roots (permanent, runtime, temporary), for `--print-roots`. */
export function findAllRoots(store: LocalStore, options: RootsOptions = {}): Roots {
  const log = options.log ?? (() => {});
  const ctx = { storeDir: store.storeDir, realStoreDir: store.realStoreDir, stateDir: store.stateDir, isValidPath: (p: string) => store.isValidPath(p), log };
  const roots = findPermanentRoots(ctx);
  if (options.runtimeRoots ?? true)
    findRuntimeRoots({ storeDir: store.storeDir, realStoreDir: store.realStoreDir, isValidPath: ctx.isValidPath, censor: options.censor }, roots);
  findTempRoots(path.join(store.stateDir, 'temproots'), { censor: options.censor, log, storeDir: store.storeDir }, roots);
  return roots;
}

export async function collectGarbage(store: LocalStore, options: GcOptions, log: GcLog,
  results: GcResults = { paths: new Set(), bytesFreed: 0 }): Promise<GcResults> {
  return new Collection(store, options, log, results).run();
}

class Collection {
  private readonly shouldDelete: boolean;
  private readonly keep: KeepOptions;
  private readonly maxFreed: number;
  /** Hash parts of temporary roots: read from files, then received over the socket. */
  private readonly tempRootHashes = new Set<string>();
  private graph!: StoreGraph;
  private roots: Roots = new Map();
  private trashCounter = 0;

  constructor(private readonly store: LocalStore, private readonly options: GcOptions, private readonly log: GcLog,
    private readonly results: GcResults) {
    this.shouldDelete = options.action === 'delete-dead' || options.action === 'delete-specific';
    // --delete --ignore-liveness would otherwise follow deriver/output edges
    // into paths the user did not name.
    this.keep = options.action === 'delete-specific' && options.ignoreLiveness
      ? { keepDerivations: false, keepOutputs: false } : options.keep;
    this.maxFreed = options.maxFreed ?? Number.POSITIVE_INFINITY;
  }

  async run(): Promise<GcResults> {
    const { store, log } = this;
    if (this.shouldDelete) releaseReservedSpace(store.stateDir);
    const lock = GcLock.acquire(store.stateDir, () => log('waiting for the big garbage collector lock...'));
    let server: RootsServer | undefined;
    try {
      server = await RootsServer.start(store.stateDir, store.storeDir, (hashPart) => this.tempRootHashes.add(hashPart),
        (m) => log(`error: ${m}`));

      log('finding garbage collector roots...');
      const ctx = { storeDir: store.storeDir, realStoreDir: store.realStoreDir, stateDir: store.stateDir, isValidPath: (p: string) => store.isValidPath(p), log };
      // Temporary roots before permanent ones: a process that makes a
      // permanent root for a path it holds as a temporary root and then
      // exits is seen one way or the other. (The other order misses it if
      // the link appears after the gcroots scan and the process is gone
      // before the temproots scan.)
      const tempRoots = findTempRoots(path.join(store.stateDir, 'temproots'), { censor: true, log, storeDir: store.storeDir });
      for (const p of tempRoots.keys()) {
        this.tempRootHashes.add(storePathHashPart(p));
        this.roots.set(p, tempRoots.get(p)!);
      }
      if (!this.options.ignoreLiveness) {
        findPermanentRoots(ctx, this.roots);
        if (this.options.runtimeRoots ?? true)
          findRuntimeRoots({ storeDir: store.storeDir, realStoreDir: store.realStoreDir, isValidPath: ctx.isValidPath, censor: true }, this.roots);
      }

      this.graph = loadStoreGraph(store.db.db);

      if (this.options.action === 'delete-specific') await this.deleteSpecific();
      else await this.wholeStore();

      if (this.shouldDelete) this.removeUnusedLinks();
    } finally {
      await server?.stop();
      lock.release();
    }
    return this.results;
  }

  private liveMask(): Uint8Array {
    const seeds: number[] = [];
    for (const p of this.roots.keys()) {
      const i = this.graph.indexOf(p);
      if (i !== undefined) seeds.push(i);
    }
    if (this.tempRootHashes.size > 0)
      for (let i = 0; i < this.graph.size; i++)
        if (this.tempRootHashes.has(storePathHashPart(this.graph.paths[i]!))) seeds.push(i);
    return computeLive(this.graph, seeds, this.keep);
  }

  /** Entries of the real store directory: store-path names (minus .links) and everything else. */
  private readStoreDir(): { storeNames: string[]; junk: string[] } {
    const storeNames: string[] = [];
    const junk: string[] = [];
    for (const name of fs.readdirSync(this.store.realStoreDir)) {
      if (name === '.links') continue;
      if (parseBaseName(name)) storeNames.push(name);
      else junk.push(name);
    }
    return { storeNames, junk };
  }

  private isTempRooted(storePath: string): boolean {
    return this.tempRootHashes.has(storePathHashPart(storePath)) || this.roots.has(storePath);
  }

  private async wholeStore(): Promise<void> {
    const { log, graph, store } = this;
    const action = this.options.action;
    if (this.maxFreed <= 0 && action === 'delete-dead') return;
    log(this.shouldDelete ? 'deleting garbage...' : 'determining live/dead paths...');

    const live = this.liveMask();
    const { storeNames, junk } = this.readStoreDir();
    const invalidEntries = storeNames
      .map((name) => `${store.storeDir}/${name}`)
      .filter((p) => !graph.has(p));

    if (action === 'return-live' || action === 'return-dead') {
      const wantLive = action === 'return-live';
      for (let i = 0; i < graph.size; i++) if (!!live[i] === wantLive) this.results.paths.add(graph.paths[i]!);
      for (const p of invalidEntries) if (this.isTempRooted(p) === wantLive) this.results.paths.add(p);
      // Other entries are garbage too, and Nix lists them (it even deletes
      // them while only asked to print; tsnix leaves them be).
      if (!wantLive) for (const name of junk) if (!isLiveTempName(name)) this.results.paths.add(`${store.storeDir}/${name}`);
      return;
    }

    const dead = new Uint8Array(graph.size);
    for (let i = 0; i < graph.size; i++) dead[i] = live[i] ? 0 : 1;
    const plan = planDeletion(graph, dead, this.keep);
    try {
      await this.deleteComponents(plan.components);
      // Leftovers: store-path names that are not valid, and other junk.
      for (const p of invalidEntries) {
        await yieldToEventLoop();
        if (this.isTempRooted(p) || store.db.isValidPath(p)) continue;
        const trash = this.renameAside(p.slice(store.storeDir.length + 1));
        this.deleteTrash(p, trash);
      }
      for (const name of junk) {
        if (isLiveTempName(name)) continue;
        await yieldToEventLoop();
        this.deleteTrash(`${store.storeDir}/${name}`, path.join(store.realStoreDir, name));
      }
    } catch (e) {
      if (!(e instanceof LimitReached)) throw e;
    }
  }

  /** Moves a store entry to a fresh name that is no store path; returns the new real path (or undefined if absent). */
  private renameAside(baseName: string): string | undefined {
    const from = path.join(this.store.realStoreDir, baseName);
    const to = path.join(this.store.realStoreDir, `.tmp-tsnix-${process.pid}-gc-${this.trashCounter++}`);
    try {
      fs.renameSync(from, to);
      return to;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  private deleteTrash(storePath: string, trash: string | undefined): void {
    this.log(`deleting '${storePath}'`);
    this.results.paths.add(storePath);
    if (trash) {
      try {
        this.results.bytesFreed += deleteTreeCountingBytes(trash);
      } catch (e) {
        // An immutable or foreign file: the path is already invalid and out
        // of the way, so report it and go on; a later collection retries.
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'EPERM' && code !== 'EACCES') throw e;
        this.log(`error: cannot delete all of '${storePath}': ${(e as Error).message}`);
      }
    }
    if (this.results.bytesFreed > this.maxFreed) {
      this.log(`deleted more than ${this.maxFreed} bytes; stopping`);
      throw new LimitReached();
    }
  }

  /**
   * Invalidates and renames aside one batch of components (synchronously:
   * this is the critical section), returning what to delete afterwards.
   */
  private invalidateBatch(batch: number[][], rescued: Uint8Array): { storePath: string; trash: string | undefined }[] {
    const { graph, store } = this;
    const db = store.db;
    const invalidated: number[][] = [];
    db.writeTransaction(() => {
      for (const component of batch) {
        if (component.some((i) => rescued[i])) continue;
        if (component.some((i) => this.tempRootHashes.has(storePathHashPart(graph.paths[i]!)))) {
          this.rescue(component, rescued);
          continue;
        }
        try {
          // A savepoint per component: a referrer we did not know about makes
          // the database refuse (foreign key), and only that component is kept.
          db.db.transaction(() => {
            for (const i of component) db.invalidatePath(graph.paths[i]!);
          })();
          invalidated.push(component);
        } catch (e) {
          if (!/FOREIGN KEY/i.test((e as Error).message)) throw e;
          this.rescue(component, rescued);
        }
      }
    });
    const toDelete: { storePath: string; trash: string | undefined }[] = [];
    for (const component of invalidated)
      for (const i of component) {
        const storePath = graph.paths[i]!;
        toDelete.push({ storePath, trash: this.renameAside(storePath.slice(store.storeDir.length + 1)) });
      }
    return toDelete;
  }

  /** Keeps a component and everything it keeps alive (none of it has been deleted: components go in order). */
  private rescue(component: number[], rescued: Uint8Array): void {
    const stack = [...component];
    for (const i of component) rescued[i] = 1;
    while (stack.length > 0) {
      this.graph.forEachKeptAlive(stack.pop()!, this.keep, (j) => {
        if (!rescued[j]) {
          rescued[j] = 1;
          stack.push(j);
        }
      });
    }
  }

  private async deleteComponents(components: number[][]): Promise<void> {
    const rescued = new Uint8Array(this.graph.size);
    // With a byte limit, one component at a time so the limit is not overshot by a batch.
    const batchSize = Number.isFinite(this.maxFreed) ? 1 : (this.options.batchSize ?? 256);
    let k = 0;
    while (k < components.length) {
      const batch: number[][] = [];
      let n = 0;
      while (k < components.length && (batch.length === 0 || n + components[k]!.length <= batchSize)) {
        n += components[k]!.length;
        batch.push(components[k++]!);
      }
      // Serve the socket first, so roots sent meanwhile are seen by the check.
      await yieldToEventLoop();
      const toDelete = this.invalidateBatch(batch, rescued);
      let sinceYield = 0;
      for (const { storePath, trash } of toDelete) {
        try {
          this.deleteTrash(storePath, trash);
        } catch (e) {
          if (e instanceof LimitReached) {
            // Already invalid and renamed: finish deleting them, then stop.
            for (const rest of toDelete.slice(toDelete.findIndex((d) => d.storePath === storePath) + 1)) {
              this.results.paths.add(rest.storePath);
              if (rest.trash) this.results.bytesFreed += deleteTreeCountingBytes(rest.trash);
            }
          }
          throw e;
        }
        if (++sinceYield >= 64) {
          sinceYield = 0;
          await yieldToEventLoop();
        }
      }
    }
  }

  /** `--delete PATH...`: each path goes only if everything keeping it alive goes too and none of it is live. */
  private async deleteSpecific(): Promise<void> {
    const { graph, store } = this;
    const requested = [...new Set(this.options.pathsToDelete ?? [])].sort();
    const requestedSet = new Set(requested);
    const live = this.liveMask();
    const inverse = keptAliveBy(graph, this.keep);
    const deleted = new Set<string>();
    for (const p of requested) {
      if (deleted.has(p)) continue;
      const alive = (): never => {
        throw new GcError(
          `Cannot delete path '${p}' since it is still alive. To find out why, use: nix-store --query --roots`);
      };
      const i = graph.indexOf(p);
      if (i === undefined) {
        if (this.isTempRooted(p)) alive();
        await yieldToEventLoop();
        if (this.isTempRooted(p)) alive();
        deleted.add(p);
        this.deleteTrash(p, this.renameAside(p.slice(store.storeDir.length + 1)));
        continue;
      }
      const closure = reachable(inverse, i).filter((j) => !deleted.has(graph.paths[j]!));
      if (closure.some((j) => live[j] || !requestedSet.has(graph.paths[j]!))) alive();
      // One component: the closure is deleted together, referrers first.
      const ordered = orderForDeletion(graph, closure, this.keep);
      await yieldToEventLoop();
      const rescued = new Uint8Array(graph.size);
      const toDelete = this.invalidateBatch([ordered], rescued);
      if (rescued[i]) alive();
      for (const { storePath, trash } of toDelete) {
        deleted.add(storePath);
        this.deleteTrash(storePath, trash);
      }
    }
  }

  private removeUnusedLinks(): void {
    const linksDir = this.store.linksDir;
    this.log('deleting unused links...');
    let names: string[];
    try {
      names = fs.readdirSync(linksDir);
    } catch {
      return;
    }
    let actualSize = 0;
    let unsharedSize = 0;
    for (const name of names) {
      const p = path.join(linksDir, name);
      let st: fs.Stats;
      try {
        st = fs.lstatSync(p);
      } catch {
        continue;
      }
      if (st.nlink !== 1) {
        actualSize += st.size;
        unsharedSize += (st.nlink - 1) * st.size;
        continue;
      }
      fs.unlinkSync(p);
    }
    const overhead = fs.statSync(linksDir).blocks * 512;
    this.log(`note: currently hard linking saves ${((unsharedSize - actualSize - overhead) / MiB).toFixed(2)} MiB`);
  }
}

/** A set of paths deleted together: components in order, each referrers first. */
function orderForDeletion(graph: StoreGraph, nodes: number[], keep: KeepOptions): number[] {
  const member = new Uint8Array(graph.size);
  for (const n of nodes) member[n] = 1;
  return planDeletion(graph, member, keep).components.flat();
}
