// Builds one derivation on this machine: prepares the build directory and
// the environment, runs the builder (in the bubblewrap sandbox, without it,
// or in-process for `builtin:` builders), then turns what it left behind into
// valid store paths.
//
// Where outputs are written:
//   sandboxed    into <realStoreDir>/<drv>.chroot/store, a scratch directory
//                shown at the logical store directory inside the sandbox
//                (this is also how chroot stores build: the logical store
//                path need not exist on the host); moved into place after
//                the build
//   unsandboxed  straight to the real output paths, as Nix does (only
//                possible when the logical and physical store coincide)
// Either way a path becomes valid only in the final registration, a single
// database transaction for all outputs, after canonicalisation, the
// fixed-output hash check, reference scanning and NAR hashing. A failure
// (or a kill) before that leaves nothing valid, and the leftovers are
// removed now or by the next build of the same derivation.

import fs from 'node:fs';
import path from 'node:path';
import { BuildFailure } from './build-failure.js';
import { derivationOutputPath, derivationType, type Derivation } from '../store/derivation.js';
import { isInStore, toStorePath } from '../store/store-path.js';
import { buildEnvironment } from './environment.js';
import {
  SANDBOX_HOST_USER,
  bwrapArgs,
  devShmBytes,
  findBwrap,
  materialiseInputs,
  missingBwrapError,
  writeSandboxEtc,
  type SandboxEtcDirs,
  type SandboxPath,
} from './sandbox.js';
import { buildLogPath, lastLogLines } from './build-log.js';
import { runPreBuildHook } from './pre-build-hook.js';
import { withBuildPersonality } from './personality.js';
import { runBuiltinBuilder } from './builtins/index.js';
import { referencesGraphFiles, referencesGraphJson } from './references-graph.js';
import { runProcess, type ProcessStatus } from './builder-process.js';
import { registerOutputs } from './register-outputs.js';
import { seccompProgram } from './seccomp.js';
import { chownTree, othersCanReach, deleteTree } from './fs-tree.js';
import { reachable } from '../store/query/closure.js';
import { DirectSpawner, type Spawner } from './spawn-helper.js';
import type { BuildStore } from './build-store.js';
import { statusToString } from '../process-status.js';

export { BuildFailure, type FailureKind } from './build-failure.js';

let fallbackSpawner: Spawner | undefined;
function defaultSpawner(): Spawner {
  return (fallbackSpawner ??= new DirectSpawner());
}

export interface BuilderSettings {
  /** The `sandbox` setting: true, false or relaxed. */
  sandbox: 'true' | 'false' | 'relaxed';
  sandboxPaths: SandboxPath[];
  /** Prefixes a derivation's `__impureHostDeps` may name. */
  allowedImpureHostDeps: string[];
  sandboxBuildDir: string;
  /** sandbox-dev-shm-size, as given (a tmpfs size). */
  sandboxDevShmSize?: string;
  cores: number;
  /** The `filter-syscalls` setting: sandboxed builders run under Nix's system-call filter (seccomp.ts). */
  filterSyscalls?: boolean;
  keepFailed: boolean;
  /** impersonate-linux-26 (personality.ts). */
  impersonateLinux26?: boolean;
  /** pre-build-hook (pre-build-hook.ts). */
  preBuildHook?: string;
  /** diff-hook, run on an output --check finds different when run-diff-hook is set (diff-hook.ts). */
  diffHook?: string;
  runDiffHook?: boolean;
  /** Seconds; 0 = no limit. */
  maxSilentTime: number;
  timeout: number;
  /** Bytes of builder output allowed (max-build-log-size); 0 = no limit. */
  maxLogSize?: number;
  keepBuildLog: boolean;
  /** Lines of log shown in the error after a failure (0 when the log was shown live). */
  logLines: number;
  /** Where build directories go ($TMPDIR or /tmp). */
  tmpDirRoot: string;
  /** This machine's platform (`system`), the others it can build for, and its features. */
  system: string;
  extraPlatforms: string[];
  systemFeatures: string[];
}

export interface BuildRequest {
  store: BuildStore;
  drvPath: string;
  drv: Derivation;
  /** The closure of the inputs (logical store paths). */
  inputPaths: Set<string>;
  /** --check: build again and compare with the valid outputs instead of registering. */
  check: boolean;
  /** --repair: build every output again and replace the valid ones with what was built. */
  repair?: boolean;
  /** Builder output as it arrives (for -L / the default nix-build log display). */
  onLog?: (chunk: Buffer) => void;
  /** A line for the user at a verbosity level (see BuildEvents.message), such as "keeping build directory". */
  onMessage?: (line: string, level?: number) => void;
  /** Called once the build really starts (after the pre-build-hook, which can still rule it out, as in Nix). */
  announce?: () => void;
  signal?: AbortSignal;
  /** Who starts the builder process (the worker's spawn helper). */
  spawner?: Spawner;
  /** The run's shared sandbox /etc directories; without it each build writes its own. */
  sandboxEtc?: SandboxEtcDirs;
}

export interface BuildOutcome {
  /** Output name → store path. */
  outputs: Map<string, string>;
}

let buildDirCounter = 0;

function makeBuildDir(root: string, drvPath: string): string {
  const prefix = path.join(root, `nix-build-${path.basename(drvPath).slice(33)}-`);
  for (;;) {
    const dir = prefix + buildDirCounter++;
    try {
      fs.mkdirSync(dir, { mode: 0o700 });
      return dir;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

function derivationAttr(drv: Derivation, name: string): string | undefined {
  const json = drv.env.get('__json');
  if (json !== undefined) {
    try {
      const v = (JSON.parse(json) as Record<string, unknown>)[name];
      if (v === undefined) return undefined;
      if (Array.isArray(v)) return v.join(' ');
      return typeof v === 'boolean' ? (v ? '1' : '') : String(v);
    } catch {
      return undefined;
    }
  }
  return drv.env.get(name);
}

function isPathInside(p: string, dir: string): boolean {
  const c = path.posix.normalize(p);
  const d = path.posix.normalize(dir).replace(/\/$/, '');
  return c === d || c.startsWith(d + '/');
}

/** Whether this derivation builds in the sandbox, with Nix's rules (and its error for __noChroot). */
export function usesSandbox(drv: Derivation, drvPath: string, store: BuildStore, settings: BuilderSettings): boolean {
  if (drv.builder.startsWith('builtin:')) return false;
  const diverted = store.storeDir !== store.realStoreDir;
  const noChrootAttr = derivationAttr(drv, '__noChroot');
  const noChroot = noChrootAttr === '1' || noChrootAttr === 'true';
  let sandbox: boolean;
  if (settings.sandbox === 'true') {
    if (noChroot)
      throw new BuildFailure(`derivation '${drvPath}' has '__noChroot' set, but that's not allowed when 'sandbox' is 'true'`, 'misc');
    sandbox = true;
  } else if (settings.sandbox === 'relaxed') {
    // Relaxed: fixed-output derivations and those asking for it build outside.
    const type = derivationType(drv);
    sandbox = !(type.kind === 'contentAddressed' && type.fixed) && !noChroot;
  } else {
    sandbox = false;
  }
  // A diverted (chroot) store can only build in the sandbox: the builder
  // must see the logical store directory, which does not exist on the host.
  if (diverted) sandbox = true;
  return sandbox;
}

export async function buildDerivation(req: BuildRequest, settings: BuilderSettings): Promise<BuildOutcome> {
  const { store, drvPath, drv } = req;
  const type = derivationType(drv);
  const isFixed = type.kind === 'contentAddressed' && type.fixed;
  if (type.kind !== 'inputAddressed' && !isFixed)
    throw new BuildFailure(`building derivation '${drvPath}' needs content-addressed derivations, which tsnix does not support`, 'misc');

  const outputs = new Map<string, string>();
  for (const name of drv.outputs.keys()) outputs.set(name, derivationOutputPath(drv, name, store.storeDir)!);
  checkPlatform(drv, drvPath, settings);

  const isBuiltin = drv.builder.startsWith('builtin:');
  const sandboxed = usesSandbox(drv, drvPath, store, settings);
  const bwrap = sandboxed ? findBwrap() : undefined;
  if (sandboxed && !bwrap) throw missingBwrapError();
  const diverted = store.storeDir !== store.realStoreDir;
  if (req.check && !sandboxed && !isBuiltin)
    throw new BuildFailure(`checking '${drvPath}' needs the sandbox in tsnix (it builds the outputs beside the valid ones)`, 'misc');
  if (!sandboxed && !isBuiltin && fs.existsSync('/homeless-shelter'))
    throw new BuildFailure("home directory '/homeless-shelter' exists; please remove it to assure purity of builds without sandboxing", 'misc');

  // Outputs that are already valid are kept as they are (unless checking, or repairing: then all are replaced).
  const alreadyValid = new Set(req.repair ? [] : [...outputs].filter(([, p]) => store.isValidPath(p)).map(([n]) => n));
  if (!sandboxed && !isBuiltin && !diverted && alreadyValid.size > 0 && alreadyValid.size < outputs.size)
    throw new BuildFailure(`cannot rebuild derivation '${drvPath}' without the sandbox while some of its outputs are valid`, 'misc');

  const buildDir = makeBuildDir(settings.tmpDirRoot, drvPath);
  const buildDirInSandbox = sandboxed ? settings.sandboxBuildDir : buildDir;
  const chrootDir = store.toRealPath(drvPath) + '.chroot';
  const useScratch = sandboxed || (isBuiltin && (diverted || req.check));
  // The sandbox's store at the logical path under the chroot directory, as Nix lays it out (error messages show it).
  const chrootStoreDir = path.join(chrootDir, store.storeDir);
  /** Where each output is written, on the host. */
  const scratch = new Map<string, string>();
  for (const [name, p] of outputs) {
    scratch.set(name, useScratch ? path.join(chrootStoreDir, path.basename(p)) : store.toRealPath(p));
  }

  const logFile = settings.keepBuildLog ? buildLogPath(store.logDir, drvPath) : `${buildDir}.log`;
  let succeeded = false;
  try {
    if (useScratch) {
      deleteTree(chrootDir);
      fs.mkdirSync(chrootStoreDir, { recursive: true, mode: 0o755 });
    } else {
      // Leftovers of an interrupted build at the final names are not valid: replace them.
      for (const [name, real] of scratch) if (!alreadyValid.has(name)) deleteTree(real);
    }

    const { env, args, files } = buildEnvironment({
      drv,
      storeDir: store.storeDir,
      buildDirInSandbox,
      cores: settings.cores,
      outputPaths: outputs,
      isFixedOutput: isFixed,
      exportReferencesGraph: (spec) => referencesGraphJson(spec, store, req.inputPaths),
    });
    for (const [name, contents] of files) fs.writeFileSync(path.join(buildDir, name), contents);
    if (!drv.env.has('__json')) {
      for (const [name, contents] of referencesGraphFiles(drv.env.get('exportReferencesGraph'), store, req.inputPaths))
        fs.writeFileSync(path.join(buildDir, name), contents);
    }

    // Paths for the sandbox from the pre-build-hook (run for every build, as in Nix).
    const hookPaths = settings.preBuildHook ? runPreBuildHook(settings.preBuildHook, drvPath, sandboxed ? chrootDir : undefined, (l) => req.onMessage?.(l, 0)) : [];
    req.announce?.();

    fs.mkdirSync(path.dirname(logFile), { recursive: true });
    const logFd = fs.openSync(logFile, 'w', 0o644);
    /** The host user a sandboxed build runs as (running as root), if any. */
    let builderUser: { uid: number; gid: number } | undefined;
    try {
      let status: ProcessStatus;
      if (isBuiltin) {
        status = { code: 0 };
        try {
          await runBuiltinBuilder(drv.builder.slice('builtin:'.length), {
            drvPath,
            drv,
            env,
            outputs: scratch,
            toHostPath: (p) => {
              for (const [name, out] of outputs) {
                if (p === out || p.startsWith(out + '/')) return scratch.get(name)! + p.slice(out.length);
              }
              return p.startsWith(store.storeDir + '/') ? store.toRealPath(p) : p;
            },
            log: (line) => {
              fs.writeSync(logFd, line + '\n');
              req.onLog?.(Buffer.from(line + '\n'));
            },
            signal: req.signal,
          });
        } catch (e) {
          // In the log as Nix's builder child writes its error: `error: …`.
          const msg = `error: ${e instanceof Error ? e.message : String(e)}`;
          fs.writeSync(logFd, msg + '\n');
          req.onLog?.(Buffer.from(msg + '\n'));
          status = { code: 1 };
        }
      } else {
        let command: string;
        let argv: string[];
        let fdFiles: string[] | undefined;
        if (sandboxed) {
          // As root, the sandbox runs as an unprivileged host user (like Nix's
          // build users): the store's files are then not the builder's own, so
          // inputs can be hard-linked instead of mounted one by one.
          builderUser = process.getuid?.() === 0 && othersCanReach(chrootDir) && othersCanReach(buildDir) ? SANDBOX_HOST_USER : undefined;
          // Store paths named in sandbox-paths come with their closures, like inputs (Nix does the same).
          const visible = new Set(req.inputPaths);
          const sandboxPaths = settings.sandboxPaths.map((p) => {
            if (!isInStore(p.source, store.storeDir)) return p;
            const { storePath, rest } = toStorePath(p.source, store.storeDir);
            if (store.isValidPath(storePath)) for (const q of storeClosure(store, storePath)) visible.add(q);
            return { ...p, source: store.toRealPath(storePath) + rest };
          });
          const inputs = materialiseInputs(visible, store, chrootStoreDir, builderUser !== undefined);
          if (builderUser) {
            fs.chownSync(chrootStoreDir, builderUser.uid, builderUser.gid);
            chownTree(buildDir, builderUser.uid, builderUser.gid);
          }
          // One mount per target, the last named winning (Nix keeps them in a
          // map): a path both in sandbox-paths and among the derivation's
          // impure host deps would otherwise be mounted twice.
          const extraPaths = [...new Map([...sandboxPaths, ...hookPaths, ...impureHostDeps(drv, drvPath, settings)].map((p) => [p.target, p])).values()];
          let etcDir: string;
          if (req.sandboxEtc) {
            etcDir = req.sandboxEtc.get(settings.sandboxBuildDir, isFixed);
          } else {
            etcDir = path.join(chrootDir, 'etc');
            writeSandboxEtc(etcDir, settings.sandboxBuildDir, isFixed);
          }
          // The filter reaches bwrap as descriptor 3, read from a file outside the sandbox.
          const filter = settings.filterSyscalls === false ? undefined : seccompProgram();
          if (filter) {
            fdFiles = [path.join(chrootDir, 'seccomp.bpf')];
            fs.writeFileSync(fdFiles[0]!, filter);
          }
          command = bwrap!;
          argv = bwrapArgs({
            bwrap: bwrap!,
            storeDir: store.storeDir,
            chrootStoreDir,
            buildDir,
            sandboxBuildDir: settings.sandboxBuildDir,
            etcDir,
            inputs,
            extraPaths,
            network: isFixed,
            ...(fdFiles ? { seccompFd: 3 } : {}),
            kvm: requiredFeatures(drv).includes('kvm') && fs.existsSync('/dev/kvm'),
            ...(settings.sandboxDevShmSize ? { devShmSize: devShmBytes(settings.sandboxDevShmSize) } : {}),
            builder: drv.builder,
            args,
          });
        } else {
          // Relative to the build directory, as Nix execs it (spawn would search PATH).
          command = drv.builder.includes('/') ? drv.builder : path.join(buildDir, drv.builder);
          argv = args;
        }
        // 32-bit or a 2.6 kernel where Nix gives them (personality.ts).
        const run = withBuildPersonality(command, argv, drv.platform, { system: settings.system, impersonateLinux26: settings.impersonateLinux26 ?? false });
        status = await runProcess(req.spawner ?? defaultSpawner(), run.command, run.args, {
          env: Object.fromEntries(env),
          cwd: buildDir,
          logFile,
          onLog: req.onLog,
          signal: req.signal,
          maxSilentTime: settings.maxSilentTime,
          timeout: settings.timeout,
          maxLogSize: settings.maxLogSize ?? 0,
          // setarch reads its argv[0] (as linux32, it sets 32 bits): its own name when it runs.
          argv0: run.command === command ? path.basename(drv.builder) : run.command,
          ...(fdFiles ? { fdFiles } : {}),
          ...(builderUser ?? {}),
        });
        // Outputs belong to the store's owner again before they are checked and registered.
        if (builderUser) for (const p of scratch.values()) chownTree(p, process.getuid!(), process.getgid!());
      }
      {
        const what = `building of '${drvPath}!${[...outputs.keys()].sort().join(',')}' from .drv file`;
        // Nix's LogLimitExceeded, which sets none of the exit status bits.
        if (status.logLimit) throw new BuildFailure(`${what} killed after writing more than ${settings.maxLogSize} bytes of log output`, 'misc');
        if (status.timedOut) {
          throw new BuildFailure(
            status.timedOut === 'silence'
              ? `${what} timed out after ${settings.maxSilentTime} seconds of silence`
              : `${what} timed out after ${settings.timeout} seconds`,
            'timedOut');
        }
        if (status.code !== 0) {
          let msg = `builder for '${drvPath}' ${statusToString(status.code, status.signal)}`;
          const tail = settings.logLines > 0 ? lastLogLines(readTail(logFile), settings.logLines) : [];
          if (tail.length > 0) {
            msg += `;\nlast ${tail.length} log lines:\n${tail.map((l) => `> ${l}\n`).join('')}For full logs, run 'nix log ${drvPath}'.`;
          }
          throw new BuildFailure(msg, isFixed ? 'transient' : 'permanent');
        }
      }
    } finally {
      fs.closeSync(logFd);
    }

    const diffHook = req.check && settings.runDiffHook && settings.diffHook ? { program: settings.diffHook, buildDir, ...(builderUser ?? {}) } : undefined;
    const registered = registerOutputs(req, outputs, scratch, alreadyValid, useScratch, isFixed, settings.keepFailed, diffHook);
    succeeded = true;
    return { outputs: registered };
  } finally {
    if (!succeeded) {
      // Nothing of a failed build may look like a store path; the build directory stays with -K.
      for (const [name, p] of scratch) if (!alreadyValid.has(name) || useScratch) deleteTree(p);
    }
    deleteTree(chrootDir);
    if (!succeeded && settings.keepFailed) {
      req.onMessage?.(`note: keeping build directory '${buildDir}'`, 0);
    } else {
      deleteTree(buildDir);
    }
    if (!settings.keepBuildLog) fs.rmSync(logFile, { force: true });
  }
}

/**
 * What rules a build out before it starts (and before it is announced):
 * the platform and system features, and in the sandbox impure host paths
 * that are not allowed. buildDerivation checks the same again.
 */
export function checkBuildable(store: BuildStore, drvPath: string, drv: Derivation, settings: BuilderSettings): void {
  checkPlatform(drv, drvPath, settings);
  if (usesSandbox(drv, drvPath, store, settings)) impureHostDeps(drv, drvPath, settings);
}

/** The derivation's `requiredSystemFeatures`, sorted, without duplicates. */
function requiredFeatures(drv: Derivation): string[] {
  return [...new Set((derivationAttr(drv, 'requiredSystemFeatures') ?? '').split(/[ \t\n\r]+/).filter((w) => w !== ''))].sort();
}

/** Nix's canBuildLocally: the right platform (builtins run anywhere) and every required system feature. */
function checkPlatform(drv: Derivation, drvPath: string, settings: BuilderSettings): void {
  const required = requiredFeatures(drv);
  const platformOk = drv.platform === settings.system || settings.extraPlatforms.includes(drv.platform) || drv.builder.startsWith('builtin:');
  if (platformOk && required.every((f) => settings.systemFeatures.includes(f))) return;
  throw new BuildFailure(
    `a '${drv.platform}' with features {${required.join(', ')}} is required to build '${drvPath}', ` +
      `but I am a '${settings.system}' with features {${[...new Set(settings.systemFeatures)].sort().join(', ')}}`,
    'misc');
}

function storeClosure(store: BuildStore, start: string): Set<string> {
  return reachable([start], (p) => store.queryPathInfo(p)?.references ?? []);
}

function readTail(file: string): Buffer {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const len = Math.min(size, 256 * 1024);
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, size - len);
      return buf;
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return Buffer.alloc(0);
  }
}

/** The derivation's `__impureHostDeps`, each checked against allowed-impure-host-deps (Nix's rule and message). */
function impureHostDeps(drv: Derivation, drvPath: string, settings: BuilderSettings): SandboxPath[] {
  const value = derivationAttr(drv, '__impureHostDeps');
  if (!value) return [];
  const out: SandboxPath[] = [];
  for (const dep of value.split(/[ \t\n\r]+/).filter((w) => w !== '')) {
    if (!settings.allowedImpureHostDeps.some((allowed) => isPathInside(dep, allowed)))
      throw new BuildFailure(`derivation '${drvPath}' requested impure path '${dep}', but it was not in allowed-impure-host-deps`, 'misc');
    // Like Nix, impure host deps may be missing on this host.
    out.push({ target: dep, source: dep, optional: true });
  }
  return out;
}

