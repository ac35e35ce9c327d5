// The realisation scheduler, modelled on Nix's worker and goals so that the
// order of events, the messages and the exit status come out the same.
//
// A goal makes one thing valid: a derivation's outputs (DerivationGoal) or
// a store path that is not built here (PathGoal: valid already, or — once
// there is a substituter — fetched). A goal waits for the goals it needs
// (its waitees) and is woken when they are done:
//   - when a waitee fails and keep-going is off, the waiter wakes at once
//     and fails with "N dependencies of derivation '…' failed to build";
//   - a failing goal that others wait for reports its error right away; a
//     top-level goal keeps it for the caller;
//   - when a top-level goal fails and keep-going is off, everything stops:
//     no new builds start and running ones are killed.
// Builds run up to max-jobs at once. The substituter (a later layer) plugs
// in through the Substituter interface: a derivation goal asks it for the
// missing outputs before it considers building.

import fs from 'node:fs';
import path from 'node:path';
import { NixError } from '../eval/errors.js';
import { readDerivation, derivationOutputPath, type Derivation } from '../store/derivation.js';
import { isDerivationPath } from '../store/store-path.js';
import { compareBytewise } from '../sort-strings.js';
import { buildDerivation, BuildFailure, checkBuildable, type BuilderSettings, type FailureKind } from './local-builder.js';
import type { BuildStore } from './build-store.js';
import { createSpawner, type LockSet, type Spawner } from './spawn-helper.js';
import { runPostBuildHook, type PostBuildHook } from './post-build-hook.js';
import { SandboxEtcDirs } from './sandbox.js';
import { hashEquals, parseHashAnyPrefixed } from '../store/hash.js';
import { hashPath } from '../store/nar.js';

/** The binary-cache layer's hook; absent until that layer exists. */
export interface Substituter {
  /** Tries to make `storePath` valid by fetching it (with its closure); false if no cache has it. */
  substitute(storePath: string): Promise<boolean>;
}

/** Where the scheduler reports what happens; the command decides how it looks. */
export interface BuildEvents {
  /**
   * A line for the user (stderr), e.g. "building '/nix/store/…drv'...", at
   * one of Nix's verbosity levels (0 error, 1 warn, 2 notice, 3 info, the
   * default): shown when the command's verbosity reaches it.
   */
  message(line: string, level?: number): void;
  /** An error to show now (Nix's `error: …`). */
  error(message: string): void;
  /** A build starts; `text` announces it ("building '…'..."), which a progress display shows. Without this, `text` goes to message. */
  buildStarted?(drvPath: string, drv: Derivation, text: string): void;
  buildFinished?(drvPath: string, ok: boolean): void;
  buildLog?(drvPath: string, chunk: Buffer): void;
}

export interface WorkerOptions {
  builder: BuilderSettings;
  maxJobs: number;
  keepGoing: boolean;
  /** --check: rebuild valid outputs and compare. */
  check: boolean;
  /**
   * --repair: outputs whose contents no longer match their registered hash
   * count as missing, and are rebuilt and replaced (Nix's bmRepair).
   */
  repair?: boolean;
  events: BuildEvents;
  substituter?: Substituter;
  /** Runs before each build starts (auto-GC for min-free). */
  beforeBuild?: () => Promise<void>;
  /** The post-build-hook setting, run after each build and check. */
  postBuildHook?: PostBuildHook;
}

/** One thing to realise: outputs of a derivation (empty set = all), or an opaque store path. */
export type BuildTarget = { drvPath: string; outputs: Set<string> } | { path: string };

type ExitCode = 'busy' | 'success' | 'failed';

abstract class Goal {
  exitCode: ExitCode = 'busy';
  error?: NixError;
  readonly waiters = new Set<Goal>();
  readonly waitees = new Set<Goal>();
  nrFailed = 0;
  private wake?: () => void;
  private readonly finishedPromise: Promise<void>;
  private resolveFinished!: () => void;

  constructor(readonly worker: Worker) {
    this.finishedPromise = new Promise((r) => (this.resolveFinished = r));
  }

  abstract run(): Promise<void>;

  get finished(): Promise<void> {
    return this.finishedPromise;
  }

  /** Waits for the given goals as Nix does: all of them, or the first failure without keep-going. */
  async waitFor(goals: Goal[]): Promise<void> {
    for (const g of goals) {
      if (g === this) continue;
      if (g.exitCode === 'busy') {
        this.waitees.add(g);
        g.waiters.add(this);
      } else if (g.exitCode === 'failed') {
        this.nrFailed++;
      }
    }
    if (this.nrFailed > 0 && !this.worker.options.keepGoing) this.dropWaitees();
    if (this.waitees.size === 0) return;
    await new Promise<void>((resolve) => (this.wake = resolve));
  }

  private dropWaitees(): void {
    for (const w of this.waitees) w.waiters.delete(this);
    this.waitees.clear();
  }

  waiteeDone(goal: Goal, result: ExitCode): void {
    if (!this.waitees.delete(goal)) return;
    if (result === 'failed') this.nrFailed++;
    if (this.waitees.size === 0 || (result === 'failed' && !this.worker.options.keepGoing)) {
      this.dropWaitees();
      const wake = this.wake;
      this.wake = undefined;
      wake?.();
    }
  }

  done(result: 'success' | 'failed', error?: NixError): void {
    if (this.exitCode !== 'busy') return;
    this.exitCode = result;
    if (error) {
      if (this.waiters.size > 0) this.worker.options.events.error(error.message);
      else this.error = error;
    }
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const w of waiters) w.waiteeDone(this, result);
    this.worker.goalDone(this);
    this.resolveFinished();
  }
}

class PathGoal extends Goal {
  /** A top-level path under --repair: only a substituter can repair it, so a valid one is not enough. */
  constructor(worker: Worker, readonly storePath: string, readonly repair = false) {
    super(worker);
  }

  async run(): Promise<void> {
    const { store } = this.worker;
    // Rooted before the validity check, so a concurrent collection cannot
    // delete it between that check and its use as an input (as Nix does).
    store.addTempRoot(this.storePath);
    if (!this.repair && store.isValidPath(this.storePath)) return this.done('success');
    const sub = this.worker.options.substituter;
    if (sub && (await sub.substitute(this.storePath)) && store.isValidPath(this.storePath)) return this.done('success');
    if (this.worker.stopped) return;
    this.done('failed', new NixError(`path '${this.storePath}' is required, but there is no substituter that can build it`));
  }
}

class DerivationGoal extends Goal {
  drv?: Derivation;

  constructor(worker: Worker, readonly drvPath: string, readonly wantedOutputs: Set<string>) {
    super(worker);
  }

  /**
   * Nix's repairClosure: with this derivation's outputs intact, the rest of
   * their closure is checked, and what is corrupted is rebuilt by the
   * derivation (among this one's inputs) that produced it.
   */
  private async repairClosure(drv: Derivation): Promise<void> {
    const { worker } = this;
    const outputs = this.outputPaths(drv);
    const wanted = this.wantedOutputs.size === 0 ? [...outputs.keys()] : [...this.wantedOutputs];
    const closure = worker.closure(wanted.flatMap((o) => outputs.get(o) ?? []));
    for (const p of outputs.values()) closure.delete(p);
    const producedBy = new Map<string, string>();
    for (const p of worker.closure([this.drvPath])) {
      if (!isDerivationPath(p) || !worker.store.isValidPath(p)) continue;
      const dep = worker.readDerivation(p);
      for (const name of dep.outputs.keys()) {
        const out = derivationOutputPath(dep, name, worker.store.storeDir);
        if (out !== undefined) producedBy.set(out, p);
      }
    }
    const goals: Goal[] = [];
    for (const p of [...closure].sort()) {
      if (worker.pathContentsGood(p)) continue;
      worker.options.events.message(`found corrupted or missing path '${p}' in the output closure of '${this.drvPath}'`, 0);
      const deriver = producedBy.get(p);
      goals.push(deriver === undefined ? worker.pathGoal(p, true) : worker.derivationGoal(deriver, new Set()));
    }
    if (goals.length === 0) return this.done('success');
    await this.waitFor(goals);
    if (worker.stopped) return;
    if (this.nrFailed > 0) return this.fail(`some paths in the output closure of derivation '${this.drvPath}' could not be repaired`, 'misc');
    this.done('success');
  }

  private fail(message: string, kind: FailureKind | 'dependency'): void {
    if (kind !== 'dependency') this.worker.noteFailure(kind);
    this.done('failed', new NixError(message));
  }

  private outputPaths(drv: Derivation): Map<string, string> {
    const m = new Map<string, string>();
    for (const name of drv.outputs.keys()) {
      const p = derivationOutputPath(drv, name, this.worker.store.storeDir);
      if (p) m.set(name, p);
    }
    return m;
  }

  /** Whether the wanted outputs are valid (and, under --repair, their contents intact). */
  private wantedValid(drv: Derivation): boolean {
    const outputs = this.outputPaths(drv);
    const wanted = this.wantedOutputs.size === 0 ? [...drv.outputs.keys()] : [...this.wantedOutputs];
    const repair = this.worker.options.repair;
    return wanted.every((o) => {
      const p = outputs.get(o);
      return p !== undefined && this.worker.store.isValidPath(p) && (!repair || this.worker.pathContentsGood(p));
    });
  }

  async run(): Promise<void> {
    const { worker } = this;
    const { store } = worker;

    // The derivation itself must be valid (a substituter could provide it).
    if (!store.isValidPath(this.drvPath)) {
      await this.waitFor([worker.pathGoal(this.drvPath)]);
      if (worker.stopped) return;
      if (!store.isValidPath(this.drvPath)) return this.fail(`cannot build missing derivation '${this.drvPath}'`, 'misc');
    }
    let drv: Derivation;
    try {
      drv = worker.readDerivation(this.drvPath);
    } catch (e) {
      return this.fail((e as Error).message, 'misc');
    }
    this.drv = drv;
    // The derivation and its outputs are temporary roots from here on: an
    // output found valid below must survive a concurrent collection until
    // the builds that use it are done (Nix's haveDerivation does the same).
    store.addTempRoot(this.drvPath);
    for (const p of this.outputPaths(drv).values()) store.addTempRoot(p);
    for (const o of this.wantedOutputs) {
      if (!drv.outputs.has(o)) return this.fail(`derivation '${this.drvPath}' does not have wanted outputs '${o}'`, 'misc');
    }

    const check = worker.options.check && worker.isTopLevel(this);
    if (!check && this.wantedValid(drv)) return worker.options.repair ? this.repairClosure(drv) : this.done('success');
    if (check && ![...this.outputPaths(drv).values()].every((p) => store.isValidPath(p)))
      return worker.abort(uncheckable(this.drvPath));

    // Before building, the substituter may have the outputs.
    const sub = worker.options.substituter;
    const repair = worker.options.repair === true;
    if (sub && !check && !repair && substitutesAllowed(drv)) {
      const missing = [...this.outputPaths(drv).values()].filter((p) => !store.isValidPath(p));
      for (const p of missing) if (!(await sub.substitute(p))) break;
      if (worker.stopped) return;
      if (this.wantedValid(drv)) return this.done('success');
    }

    // Inputs first.
    const inputGoals: Goal[] = [];
    for (const [inputDrv, outputs] of drv.inputDrvs) inputGoals.push(worker.derivationGoal(inputDrv, outputs));
    for (const src of drv.inputSrcs) inputGoals.push(worker.pathGoal(src));
    await this.waitFor(inputGoals);
    if (worker.stopped) return;
    if (this.nrFailed > 0) {
      return this.fail(`${this.nrFailed} dependencies of derivation '${this.drvPath}' failed to build`, 'dependency');
    }

    const inputPaths = new Set<string>(drv.inputSrcs);
    for (const [inputDrv, outputs] of drv.inputDrvs) {
      const input = worker.readDerivation(inputDrv);
      for (const o of outputs) {
        const p = derivationOutputPath(input, o, store.storeDir);
        if (p === undefined || !store.isValidPath(p))
          return this.fail(`some dependencies of '${this.drvPath}' are missing`, 'misc');
        inputPaths.add(p);
      }
    }
    const closure = worker.closure(inputPaths);

    // A build slot, then the output locks (another process may be building
    // the same outputs); like Nix, neither is held while waiting for the other.
    const lockPaths = [...this.outputPaths(drv).values()].map((p) => store.toRealPath(p));
    let release: (() => void) | undefined;
    let locks: LockSet | undefined;
    let announced = false;
    for (;;) {
      release = await worker.acquireSlot();
      if (release === undefined) return;
      locks = await worker.spawner.tryLock(lockPaths);
      if (locks) break;
      release();
      if (!announced) {
        worker.options.events.message(`waiting for lock on ${lockPaths.map((p) => `'${p}'`).join(', ')}`, 1);
        announced = true;
      }
      await new Promise((r) => setTimeout(r, 250));
      if (worker.stopped) return;
    }
    let deleteLocks = false;
    try {
      if (worker.stopped) return;
      // Someone else may have built them while we waited.
      if (!check && this.wantedValid(drv)) {
        deleteLocks = true;
        return this.done('success');
      }
      await worker.options.beforeBuild?.();
      try {
        // What rules the build out fails before it is announced, as in Nix.
        checkBuildable(store, this.drvPath, drv, worker.options.builder);
      } catch (e) {
        if (e instanceof BuildFailure) return this.fail(e.message, e.kind);
        throw e;
      }
      const announce = () => {
        const text = check ? `checking outputs of '${this.drvPath}'...` : repair ? `repairing outputs of '${this.drvPath}'...` : `building '${this.drvPath}'...`;
        const events = worker.options.events;
        if (events.buildStarted) events.buildStarted(this.drvPath, drv, text);
        else events.message(text);
      };
      try {
        await buildDerivation(
          {
            store,
            drvPath: this.drvPath,
            drv,
            inputPaths: closure,
            check,
            repair,
            onLog: worker.options.events.buildLog ? (chunk) => worker.options.events.buildLog!(this.drvPath, chunk) : undefined,
            onMessage: (line, level) => worker.options.events.message(line, level),
            announce,
            signal: worker.abortSignal,
            spawner: worker.spawner,
            sandboxEtc: worker.sandboxEtc,
          },
          worker.options.builder,
        );
      } catch (e) {
        worker.options.events.buildFinished?.(this.drvPath, false);
        if (worker.stopped) return;
        if (e instanceof BuildFailure) return this.fail(e.message, e.kind);
        throw e;
      }
      worker.options.events.buildFinished?.(this.drvPath, true);
      // Rebuilt, its outputs are good now (a later check must not rebuild them again).
      if (repair) for (const p of this.outputPaths(drv).values()) worker.noteContentsGood(p);
      const hook = worker.options.postBuildHook;
      if (hook) {
        worker.options.events.message(`running post-build-hook '${hook.program}'...`);
        try {
          await runPostBuildHook(hook, this.drvPath, [...this.outputPaths(drv).values()], worker.spawner, worker.abortSignal);
        } catch (e) {
          // An exception in Nix: the run ends, the outputs stay valid.
          if (e instanceof NixError) return worker.abort(e);
          throw e;
        }
      }
      deleteLocks = true;
      this.done('success');
    } finally {
      locks.release(deleteLocks);
      release();
    }
  }
}

export interface RealiseResult {
  /** Nix's exit status: 0, 1, or 100 + failure bits. */
  status: number;
  /** The errors of failed top-level goals, as Nix reports them at the end (without "error: "). */
  errors: string[];
}

export class Worker {
  private readonly goals = new Map<string, Goal>();
  private topGoals = new Set<Goal>();
  private allTop: Goal[] = [];
  private running = 0;
  private readonly slotQueue: (() => void)[] = [];
  private readonly abortController = new AbortController();
  private readonly drvCache = new Map<string, Derivation>();
  private readonly pending = new Set<Promise<void>>();
  private readonly failures = { permanent: false, timedOut: false, hashMismatch: false, checkMismatch: false };
  stopped = false;
  /** An error that ends the whole run (thrown by run()). */
  private fatal?: NixError;
  private allDone?: () => void;

  constructor(readonly store: BuildStore, readonly options: WorkerOptions) {
    this.sandboxEtc = new SandboxEtcDirs(options.builder.tmpDirRoot);
  }

  get abortSignal(): AbortSignal {
    return this.abortController.signal;
  }

  readDerivation(drvPath: string): Derivation {
    let drv = this.drvCache.get(drvPath);
    if (!drv) {
      drv = readDerivation(this.store, drvPath);
      this.drvCache.set(drvPath, drv);
    }
    return drv;
  }

  isTopLevel(goal: Goal): boolean {
    return this.allTop.includes(goal);
  }

  noteFailure(kind: FailureKind): void {
    if (kind === 'permanent') this.failures.permanent = true;
    else if (kind === 'timedOut') this.failures.timedOut = true;
    else if (kind === 'hashMismatch') this.failures.hashMismatch = true;
    else if (kind === 'checkMismatch') this.failures.checkMismatch = true;
  }

  /** Nix's Worker::exitStatus. */
  exitStatus(): number {
    const f = this.failures;
    let mask = 0;
    if (f.permanent || f.timedOut || f.hashMismatch) mask |= 0x04;
    if (f.timedOut) mask |= 0x01;
    if (f.hashMismatch) mask |= 0x02;
    if (f.checkMismatch) mask |= 0x08;
    if (mask) mask |= 0x60;
    return mask || 1;
  }

  private start(goal: Goal): void {
    // Started on the next tick: the caller registers the goal (e.g. as top-level) first.
    const p = Promise.resolve().then(() => goal.run()).catch((e: unknown) => {
      goal.done('failed', e instanceof NixError ? e : new NixError(e instanceof Error ? e.message : String(e)));
    });
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  derivationGoal(drvPath: string, outputs: Set<string>): Goal {
    const key = `d:${drvPath}`;
    const existing = this.goals.get(key) as DerivationGoal | undefined;
    if (existing && existing.exitCode === 'busy') {
      // All outputs of a derivation are built together; a goal that is
      // still checking takes the extra wanted outputs along.
      for (const o of outputs) existing.wantedOutputs.add(o);
      if (outputs.size === 0) existing.wantedOutputs.clear();
      return existing;
    }
    if (existing && existing.exitCode === 'failed') return existing;
    const goal = new DerivationGoal(this, drvPath, new Set(outputs));
    this.goals.set(key, goal);
    this.start(goal);
    return goal;
  }

  pathGoal(storePath: string, repair = false): Goal {
    const key = `${repair ? 'r' : 'p'}:${storePath}`;
    const existing = this.goals.get(key);
    if (existing && existing.exitCode !== 'success') return existing;
    const goal = new PathGoal(this, storePath, repair);
    this.goals.set(key, goal);
    this.start(goal);
    return goal;
  }

  goalDone(goal: Goal): void {
    if (!this.topGoals.has(goal)) return;
    this.topGoals.delete(goal);
    if (goal.exitCode === 'failed' && !this.options.keepGoing) this.stop();
    if (this.topGoals.size === 0) this.allDone?.();
  }

  /** Ends the whole run with `error` (not just one goal, whatever --keep-going says), as an exception does in Nix. */
  abort(error: NixError): void {
    this.fatal ??= error;
    this.stop();
  }

  /** Stops everything: no new builds, running builds killed. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.abortController.abort();
    for (const wake of this.slotQueue.splice(0)) wake();
    this.allDone?.();
  }

  /** A build slot (max-jobs); undefined if the worker stopped meanwhile. */
  async acquireSlot(): Promise<(() => void) | undefined> {
    if (this.options.maxJobs <= 0) {
      // Nothing can ever build: the whole run fails (not just this goal), as in Nix.
      this.fatal ??= new NixError(
        "unable to start any build; either increase '--max-jobs' or enable remote builds." +
          '\nhttps://nixos.org/manual/nix/stable/advanced-topics/distributed-builds.html');
      this.stop();
      return undefined;
    }
    while (this.running >= this.options.maxJobs) {
      if (this.stopped) return undefined;
      await new Promise<void>((resolve) => this.slotQueue.push(resolve));
    }
    if (this.stopped) return undefined;
    this.running++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      this.slotQueue.shift()?.();
    };
  }

  private spawnerInstance?: Spawner;
  /** The sandboxes' /etc files, written once for the run (removed when it ends). */
  readonly sandboxEtc: SandboxEtcDirs;

  /** Starts builders and holds output locks; created on first use, closed when the run ends. */
  get spawner(): Spawner {
    return (this.spawnerInstance ??= createSpawner());
  }

  /**
   * References of valid paths seen so far. A valid path's references never
   * change, and the paths used here are temporary roots, so they stay valid
   * for the run: in a chain of builds each closure would otherwise query the
   * database again for every path of the previous one (quadratic).
   */
  private readonly referencesCache = new Map<string, readonly string[]>();

  private readonly contentsGood = new Map<string, boolean>();

  noteContentsGood(storePath: string): void {
    this.contentsGood.set(storePath, true);
  }

  /**
   * Nix's pathContentsGood: whether a valid path's contents still hash to
   * its registered NAR hash (a missing hash counts as good), checked once
   * per run, with Nix's messages. (Nix 2.8 looks for the path at its
   * logical name, so in a chroot store it finds every path missing; tsnix
   * looks where the store keeps it.)
   */
  pathContentsGood(storePath: string): boolean {
    const known = this.contentsGood.get(storePath);
    if (known !== undefined) return known;
    this.options.events.message(`checking path '${storePath}'...`);
    const info = this.store.queryPathInfo(storePath);
    let good = false;
    if (info) {
      const expected = parseHashAnyPrefixed(info.narHash);
      try {
        good = expected.bytes.every((b) => b === 0) || hashEquals(expected, hashPath(expected.algo, this.store.toRealPath(storePath)).hash);
      } catch {
        good = false; // gone, or unreadable
      }
    }
    this.contentsGood.set(storePath, good);
    if (!good) this.options.events.message(`path '${storePath}' is corrupted or missing!`, 0);
    return good;
  }

  /** The closure of store paths under the references relation. */
  closure(paths: Iterable<string>): Set<string> {
    const seen = new Set<string>();
    const todo = [...paths];
    while (todo.length > 0) {
      const p = todo.pop()!;
      if (seen.has(p)) continue;
      seen.add(p);
      let refs = this.referencesCache.get(p);
      if (refs === undefined) {
        const info = this.store.queryPathInfo(p);
        if (!info) continue;
        refs = info.references;
        this.referencesCache.set(p, refs);
      }
      for (const r of refs) if (!seen.has(r)) todo.push(r);
    }
    return seen;
  }

  /** Realises the targets; errors of dependencies are reported as they happen. */
  async run(targets: BuildTarget[]): Promise<RealiseResult> {
    const goals: Goal[] = [];
    const finished = new Promise<void>((resolve) => (this.allDone = resolve));
    // Goals start in Nix's order of goal keys (name, then path), which decides who builds first.
    const sorted = [...targets].sort((a, b) => compareBytewise(goalKey(a), goalKey(b)));
    // Ctrl-C / SIGTERM: stop like a failure, so that running builds are
    // killed and their temporary directories removed, then report it.
    let interrupted = false;
    const onSignal = () => {
      interrupted = true;
      this.stop();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      // --check of a derivation whose outputs are not all valid ends the run
      // before anything is built (in Nix it throws as soon as each goal has
      // its derivation, before any build starts).
      if (this.options.check) {
        for (const t of sorted) {
          if (!('drvPath' in t) || !this.store.isValidPath(t.drvPath)) continue;
          const drv = this.readDerivation(t.drvPath);
          for (const name of drv.outputs.keys()) {
            const p = derivationOutputPath(drv, name, this.store.storeDir);
            if (p === undefined || !this.store.isValidPath(p)) throw uncheckable(t.drvPath);
          }
        }
      }
      for (const t of sorted) {
        const g = 'drvPath' in t ? this.peekOrCreateTop(t) : this.peekOrCreateTopPath(t.path);
        goals.push(g);
      }
      if (this.topGoals.size > 0) await finished;
      // Let killed builds clean up before reporting.
      while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    } finally {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      this.spawnerInstance?.close();
      this.sandboxEtc.remove();
    }
    if (interrupted) throw new NixError('interrupted by the user');
    if (this.fatal) throw this.fatal;

    const failed: string[] = [];
    const errors: string[] = [];
    let first: NixError | undefined;
    const seen = new Set<Goal>();
    for (const [i, g] of goals.entries()) {
      if (seen.has(g)) continue;
      seen.add(g);
      if (g.error) {
        if (first) errors.push(g.error.message);
        else first = g.error;
      }
      if (g.exitCode !== 'success') failed.push(targetPath(sorted[i]!));
    }
    if (failed.length === 0) return { status: 0, errors: [] };
    const status = this.exitStatus();
    if (failed.length === 1 && first) return { status, errors: [...errors, first.message] };
    if (first) errors.push(first.message);
    errors.push(`build of ${[...new Set(failed)].sort().map((p) => `'${p}'`).join(', ')} failed`);
    return { status, errors };
  }

  private peekOrCreateTop(t: { drvPath: string; outputs: Set<string> }): Goal {
    const g = this.derivationGoal(t.drvPath, t.outputs);
    this.markTop(g);
    return g;
  }

  private peekOrCreateTopPath(p: string): Goal {
    const g = this.pathGoal(p, this.options.repair);
    this.markTop(g);
    return g;
  }

  private markTop(g: Goal): void {
    this.allTop.push(g);
    if (g.exitCode === 'busy') this.topGoals.add(g);
    else if (g.exitCode === 'failed' && !this.options.keepGoing) this.stop();
  }
}

function uncheckable(drvPath: string): NixError {
  return new NixError(`some outputs of '${drvPath}' are not valid, so checking is not possible`);
}

/** `allowSubstitutes = false` (e.g. user environments) builds locally even when a cache has the outputs. */
function substitutesAllowed(drv: Derivation): boolean {
  const json = drv.env.get('__json');
  if (json !== undefined) {
    try {
      return (JSON.parse(json) as { allowSubstitutes?: unknown }).allowSubstitutes !== false;
    } catch {
      return true;
    }
  }
  const v = drv.env.get('allowSubstitutes');
  return v === undefined || v === '1';
}

function goalKey(t: BuildTarget): string {
  const p = 'drvPath' in t ? t.drvPath : t.path;
  const base = path.basename(p);
  return `${'drvPath' in t ? 'b' : 'c'}$${base.slice(33)}$${p}`;
}

function targetPath(t: BuildTarget): string {
  return 'drvPath' in t ? t.drvPath : t.path;
}
