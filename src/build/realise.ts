// The entry points of the build layer for commands: what would be built
// (Nix's queryMissing / printMissing, for --dry-run and the summary before
// building) and realising derivation outputs and store paths
// (nix-build, nix-store --realise).

import { availableParallelism } from 'node:os';
import type { Settings } from '../cli/settings.js';
import { canonicalSettingName, maxJobs } from '../cli/settings.js';
import { derivationOutputPath } from '../store/derivation.js';
import { compareBytewise } from '../sort-strings.js';
import type { BuilderSettings } from './local-builder.js';
import { LocalStore } from '../store/local/local-store.js';
import { parseSandboxPaths } from './sandbox.js';
import { Worker, type BuildEvents, type BuildTarget, type RealiseResult, type Substituter } from './worker.js';
import type { BuildStore } from './build-store.js';
import type { PostBuildHook } from './post-build-hook.js';

export type { BuildTarget, BuildEvents, RealiseResult, Substituter };

/**
 * Host directories a derivation may ask for through `__impureHostDeps` when
 * the `allowed-impure-host-deps` setting is not set: the system's programs
 * and libraries, read-only. (Nix's default on Linux is empty; tsnix allows
 * these so that a package set can use the host toolchain inside the
 * sandbox without any configuration — see examples/README.md.)
 */
export const DEFAULT_ALLOWED_IMPURE_HOST_DEPS = [
  '/bin', '/sbin', '/usr', '/lib', '/lib32', '/lib64', '/libx32', '/etc/alternatives', '/etc/ld.so.cache',
];

export interface CommandBuildFlags {
  /** -Q: build output not shown (then the last log lines go into the error). */
  noBuildOutput?: boolean;
}

/** Builder settings from Nix's settings (nix.conf, --option, flags). */
export function builderSettingsFrom(settings: Settings, flags: CommandBuildFlags = {}): BuilderSettings {
  const sandbox = settings.getString('sandbox');
  const allowedName = canonicalSettingName('allowed-impure-host-deps');
  const allowed = allowedName ? settings.getStrings(allowedName) : DEFAULT_ALLOWED_IMPURE_HOST_DEPS;
  const cores = settings.getInt('cores');
  return {
    sandbox: sandbox === 'false' ? 'false' : sandbox === 'relaxed' ? 'relaxed' : 'true',
    sandboxPaths: parseSandboxPaths(settings.getStrings('sandbox-paths')),
    allowedImpureHostDeps: allowedName && !settings.isSet(allowedName) && allowed.length === 0 ? DEFAULT_ALLOWED_IMPURE_HOST_DEPS : allowed,
    sandboxBuildDir: settings.getString('sandbox-build-dir') || '/build',
    sandboxDevShmSize: settings.getString('sandbox-dev-shm-size'),
    // Nix 2.8: NIX_BUILD_CORES is the setting as given (0 = "all", left to
    // the builder); unset, it is the number of CPUs.
    cores: settings.isSet('cores') ? cores : availableParallelism(),
    keepFailed: settings.getBool('keep-failed'),
    preBuildHook: settings.getString('pre-build-hook'),
    impersonateLinux26: settings.getBool('impersonate-linux-26'),
    diffHook: settings.getString('diff-hook'),
    runDiffHook: settings.getBool('run-diff-hook'),
    filterSyscalls: settings.getBool('filter-syscalls'),
    maxSilentTime: settings.getInt('max-silent-time'),
    timeout: settings.getInt('timeout'),
    maxLogSize: settings.getInt('max-build-log-size'),
    keepBuildLog: settings.getBool('keep-build-log'),
    logLines: flags.noBuildOutput ? settings.getInt('log-lines') : 0,
    tmpDirRoot: process.env.TMPDIR || '/tmp',
    system: settings.getString('system'),
    extraPlatforms: settings.getStrings('extra-platforms'),
    systemFeatures: settings.getStrings('system-features'),
  };
}

export interface RealiseOptions {
  settings: Settings;
  events: BuildEvents;
  noBuildOutput?: boolean;
  check?: boolean;
  /** --repair (Nix's bmRepair): see WorkerOptions.repair. */
  repair?: boolean;
  substituter?: Substituter;
}

/** Builds what is missing among the targets. Errors of dependencies go to events.error as they happen. */
export async function realisePaths(store: BuildStore, targets: BuildTarget[], options: RealiseOptions): Promise<RealiseResult> {
  const worker = new Worker(store, {
    builder: builderSettingsFrom(options.settings, { noBuildOutput: options.noBuildOutput }),
    maxJobs: maxJobs(options.settings),
    keepGoing: options.settings.getBool('keep-going'),
    check: options.check ?? false,
    repair: options.repair ?? false,
    events: options.events,
    substituter: options.substituter,
    beforeBuild: autoGcHook(store, options),
    postBuildHook: postBuildHook(options),
  });
  return worker.run(targets);
}

function postBuildHook(options: RealiseOptions): PostBuildHook | undefined {
  const program = options.settings.getString('post-build-hook');
  if (program === '') return undefined;
  return {
    program,
    config: options.settings.explicitConfig(),
    showLine: options.noBuildOutput ? undefined : (line) => options.events.message(line),
    tmpDirRoot: process.env.TMPDIR || '/tmp',
  };
}

/**
 * min-free / max-free: before each build, collect garbage if the store's
 * file system is short of space (as Nix's worker does). Loaded only when set.
 */
function autoGcHook(store: BuildStore, options: RealiseOptions): (() => Promise<void>) | undefined {
  const settings = options.settings;
  if (settings.getInt('min-free') <= 0 || !(store instanceof LocalStore)) return undefined;
  return async () => {
    const { autoCollectIfNeeded } = await import('../store/gc/auto-gc.js');
    await autoCollectIfNeeded(store, settings, (line) => options.events.message(line));
  };
}

export interface MissingPaths {
  /** Derivations that will be built. */
  willBuild: Set<string>;
  /** Store paths nothing can produce. */
  unknown: Set<string>;
}

/** Reads a derivation (from the store) for queryMissing. */
export type DerivationReader = (drvPath: string) => import('../store/derivation.js').Derivation;

/** Nix's queryMissing without substituters: which derivations need building. */
export function queryMissing(store: BuildStore, targets: BuildTarget[], readDerivation: DerivationReader): MissingPaths {
  const willBuild = new Set<string>();
  const unknown = new Set<string>();
  const seen = new Set<string>();
  const visitDrv = (drvPath: string, outputs: Set<string>): void => {
    const key = `${drvPath}!${[...outputs].sort().join(',')}`;
    if (seen.has(key)) return;
    seen.add(key);
    if (!store.isValidPath(drvPath)) {
      unknown.add(drvPath);
      return;
    }
    const drv = readDerivation(drvPath);
    // Outputs the derivation does not have: nothing to list, the build says why.
    if ([...outputs].some((o) => !drv.outputs.has(o))) return;
    const wanted = outputs.size === 0 ? [...drv.outputs.keys()] : [...outputs];
    const allValid = wanted.every((o) => {
      const p = derivationOutputPath(drv, o, store.storeDir);
      return p !== undefined && store.isValidPath(p);
    });
    if (allValid) return;
    willBuild.add(drvPath);
    for (const [input, outs] of drv.inputDrvs) visitDrv(input, outs);
    for (const src of drv.inputSrcs) visitPath(src);
  };
  const visitPath = (p: string): void => {
    if (seen.has(p)) return;
    seen.add(p);
    if (!store.isValidPath(p)) unknown.add(p);
  };
  for (const t of targets) {
    if ('drvPath' in t) visitDrv(t.drvPath, t.outputs);
    else visitPath(t.path);
  }
  return { willBuild, unknown };
}

/**
 * Dependencies before dependents, in Nix's order: a depth-first walk over the
 * paths in sorted order, each path after the ones it refers to.
 */
export function sortDependenciesFirst(paths: Set<string>, referencesOf: (p: string) => Iterable<string>): string[] {
  const out: string[] = [];
  const visited = new Set<string>();
  const visit = (p: string): void => {
    if (visited.has(p)) return;
    visited.add(p);
    for (const r of [...referencesOf(p)].sort(compareBytewise)) if (r !== p && paths.has(r)) visit(r);
    out.push(p);
  };
  for (const p of [...paths].sort(compareBytewise)) visit(p);
  return out;
}

/** The lines Nix prints before building (printMissing). */
export function missingLines(missing: MissingPaths, readDerivation: DerivationReader): string[] {
  const lines: string[] = [];
  if (missing.willBuild.size > 0) {
    lines.push(missing.willBuild.size === 1 ? 'this derivation will be built:' : `these ${missing.willBuild.size} derivations will be built:`);
    const refs = (p: string) => {
      const drv = readDerivation(p);
      return [...drv.inputDrvs.keys(), ...drv.inputSrcs];
    };
    for (const p of sortDependenciesFirst(missing.willBuild, refs)) lines.push(`  ${p}`);
  }
  if (missing.unknown.size > 0) {
    lines.push("don't know how to build these paths:");
    for (const p of [...missing.unknown].sort(compareBytewise)) lines.push(`  ${p}`);
  }
  return lines;
}

/** Nix's name for a result link: `result`, `result-dev`, `result-2`, `result-2-dev`, ... */
export function resultLinkName(outLink: string, index: number, outputName: string): string {
  let name = outLink;
  if (index > 0) name += `-${index + 1}`;
  if (outputName !== 'out') name += `-${outputName}`;
  return name;
}

