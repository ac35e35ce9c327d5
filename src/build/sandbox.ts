// The build sandbox: bubblewrap (bwrap) run as a child process, with fresh
// user, mount, PID, network, UTS and IPC namespaces. Inside, the builder
// sees what Nix's chroot shows it:
//   /                 an empty read-only root
//   <storeDir>        a writable directory (so it can create its outputs)
//                     holding read-only binds of its input closure
//   /build            the build directory (cwd), /tmp a private tmpfs
//   /dev /proc        a minimal /dev (null, zero, full, random, urandom, tty,
//                     pts, shm, fd links) and a fresh /proc
//   /etc              passwd and group naming nixbld (uid 1000, gid 100),
//                     hosts; plus resolv.conf/services/nsswitch.conf for
//                     fixed-output derivations, which alone keep the network
//   sandbox-paths     host paths from the `sandbox-paths` setting and the
//                     derivation's allowed `__impureHostDeps`, read-only
// The hostname is `localhost`. The builder's uid inside is 1000; outside it
// is whoever runs tsnix, so it can never write to host files that user
// could not (and, for root, host paths are only ever bound read-only).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NixError } from '../eval/errors.js';
import type { BuildStore } from './build-store.js';
import { findProgram } from '../find-program.js';

export class SandboxError extends NixError {}

export const SANDBOX_UID = 1000;
export const SANDBOX_GID = 100;

/** A host path made visible in the sandbox. */
export interface SandboxPath {
  /** Where the builder sees it. */
  target: string;
  /** Where it is on the host. */
  source: string;
  /** `?` suffix: a missing source is skipped instead of failing the build. */
  optional: boolean;
}

/** Parses `sandbox-paths` entries: `/path`, `/target=/source`, either with a `?` suffix. */
export function parseSandboxPaths(entries: string[]): SandboxPath[] {
  const out: SandboxPath[] = [];
  for (let entry of entries) {
    if (entry === '') continue;
    let optional = false;
    if (entry.endsWith('?')) {
      optional = true;
      entry = entry.slice(0, -1);
    }
    const eq = entry.indexOf('=');
    if (eq < 0) out.push({ target: entry, source: entry, optional });
    else out.push({ target: entry.slice(0, eq), source: entry.slice(eq + 1), optional });
  }
  return out;
}

/** The bwrap executable: $TSNIX_BWRAP, else the first `bwrap` on PATH (or in /usr/bin, /bin). */
export function findBwrap(): string | undefined {
  const given = process.env.TSNIX_BWRAP;
  if (given) return fs.existsSync(given) ? given : undefined;
  return findProgram('bwrap');
}

export function missingBwrapError(): SandboxError {
  return new SandboxError(
    "sandboxed building needs bubblewrap ('bwrap'), which was not found on PATH; " +
      "install it (e.g. 'apt-get install bubblewrap') or turn the sandbox off with '--option sandbox false' " +
      "(or 'sandbox = false' in nix.conf)");
}

export interface SandboxSpec {
  bwrap: string;
  /** The logical store directory, e.g. /nix/store. */
  storeDir: string;
  /** Host directory shown writable at storeDir; the builder's outputs land here. */
  chrootStoreDir: string;
  /** Host build directory, shown at sandboxBuildDir. */
  buildDir: string;
  sandboxBuildDir: string;
  /** Host directory holding the generated /etc files (passwd, group, hosts, ...). */
  etcDir: string;
  /** Input closure: logical store path → host path. */
  inputs: Map<string, string>;
  /** sandbox-paths and impure host deps (sources already checked to exist, or optional). */
  extraPaths: SandboxPath[];
  /** Fixed-output derivations keep the host network. */
  network: boolean;
  /** The descriptor bwrap reads the system-call filter from (seccomp.ts), if any. */
  seccompFd?: number;
  /** Show the host's /dev/kvm (a build requiring the `kvm` feature, as in Nix). */
  kvm?: boolean;
  /** The size of /dev/shm in bytes (sandbox-dev-shm-size; see devShmBytes). */
  devShmSize?: number;
  builder: string;
  args: string[];
}

/**
 * sandbox-dev-shm-size in bytes: Nix mounts /dev/shm with `size=<setting>`,
 * and bubblewrap takes bytes. The kernel's forms for tmpfs: a number (with
 * a 0x or 0 prefix, hexadecimal or octal) and an optional unit K, M, G, T,
 * P or E, or a percentage of memory. Nix's error (the mount failing) for
 * anything else.
 */
export function devShmBytes(value: string, totalMemory = os.totalmem()): number {
  // tmpfs counts whole pages, rounding up; a percentage is of the memory's pages.
  const pages = (bytes: number) => Math.ceil(bytes / 4096) * 4096;
  const pct = /^([0-9]+)%$/.exec(value);
  if (pct) return pages(Math.floor((Number(pct[1]) * 4096 * Math.floor(totalMemory / 4096)) / 100));
  const m = /^(0x[0-9a-f]+|0[0-7]*|[1-9][0-9]*)([kmgtpe]?)$/i.exec(value);
  if (!m) throw new SandboxError('mounting /dev/shm: Invalid argument');
  const digits = m[1]!;
  const n = /^0x/i.test(digits) ? parseInt(digits.slice(2), 16) : digits.length > 1 ? parseInt(digits, digits[0] === '0' ? 8 : 10) : Number(digits);
  const unit = m[2] === '' ? 0 : 'kmgtpe'.indexOf(m[2]!.toLowerCase()) + 1;
  return pages(n * 1024 ** unit);
}

/** Writes the /etc files the sandbox shows (Nix's contents). */
export function writeSandboxEtc(etcDir: string, sandboxBuildDir: string, network: boolean): void {
  fs.mkdirSync(etcDir, { recursive: true });
  fs.writeFileSync(
    path.join(etcDir, 'passwd'),
    `root:x:0:0:Nix build user:${sandboxBuildDir}:/noshell\n` +
      `nixbld:x:${SANDBOX_UID}:${SANDBOX_GID}:Nix build user:${sandboxBuildDir}:/noshell\n` +
      'nobody:x:65534:65534:Nobody:/:/noshell\n');
  fs.writeFileSync(path.join(etcDir, 'group'), `root:x:0:\nnixbld:!:${SANDBOX_GID}:\nnogroup:x:65534:\n`);
  if (!network) fs.writeFileSync(path.join(etcDir, 'hosts'), '127.0.0.1 localhost\n::1 localhost\n');
  else fs.writeFileSync(path.join(etcDir, 'nsswitch.conf'), 'hosts: files dns\nservices: files\n');
}

/**
 * The /etc directories of one run's sandboxes, written on first use and
 * shared read-only by all its builds: they only depend on the build
 * directory setting and on whether the build keeps the network, and creating
 * four files per build cost more than the rest of preparing the sandbox.
 * Kept under the temporary directory root (like build directories, so
 * readable by the unprivileged sandbox user when that root is), removed when
 * the run ends.
 */
export class SandboxEtcDirs {
  private root?: string;
  private readonly dirs = new Map<boolean, string>();

  constructor(private readonly tmpDirRoot: string) {}

  /** The directory for builds with (true) or without the network. */
  get(sandboxBuildDir: string, network: boolean): string {
    let dir = this.dirs.get(network);
    if (dir === undefined) {
      if (this.root === undefined) {
        this.root = fs.mkdtempSync(path.join(this.tmpDirRoot, 'nix-sandbox-etc-'));
        fs.chmodSync(this.root, 0o755);
      }
      dir = path.join(this.root, network ? 'network' : 'local');
      writeSandboxEtc(dir, sandboxBuildDir, network);
      this.dirs.set(network, dir);
    }
    return dir;
  }

  remove(): void {
    if (this.root !== undefined) fs.rmSync(this.root, { recursive: true, force: true });
    this.root = undefined;
    this.dirs.clear();
  }
}

/** The bwrap command line (without the bwrap executable itself). */
export function bwrapArgs(spec: SandboxSpec): string[] {
  const a: string[] = [
    '--unshare-user', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try',
    '--uid', String(SANDBOX_UID), '--gid', String(SANDBOX_GID),
    '--hostname', 'localhost',
    '--die-with-parent', '--new-session',
    // The builder is PID 1 of its namespace, as in Nix: signals it sends
    // itself without a handler are ignored, and orphans are its children.
    '--as-pid-1',
  ];
  if (!spec.network) a.push('--unshare-net');
  if (spec.seccompFd !== undefined) a.push('--seccomp', String(spec.seccompFd));

  // The store first, so that input binds land inside it.
  a.push('--bind', spec.chrootStoreDir, spec.storeDir);
  for (const [logical, real] of [...spec.inputs].sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
    a.push('--ro-bind', real, logical);
  }

  // /tmp and /dev/shm writable by everyone, sticky, as in Nix's sandbox.
  a.push('--dev', '/dev', '--perms', '1777', ...(spec.devShmSize !== undefined ? ['--size', String(spec.devShmSize)] : []), '--tmpfs', '/dev/shm');
  a.push('--proc', '/proc', '--perms', '1777', '--tmpfs', '/tmp');
  if (spec.kvm) a.push('--dev-bind', '/dev/kvm', '/dev/kvm');
  a.push('--bind', spec.buildDir, spec.sandboxBuildDir);

  for (const name of ['passwd', 'group', 'hosts', 'nsswitch.conf']) {
    const file = path.join(spec.etcDir, name);
    if (fs.existsSync(file)) a.push('--ro-bind', file, `/etc/${name}`);
  }
  if (spec.network) {
    for (const f of ['/etc/resolv.conf', '/etc/services', '/etc/hosts', '/etc/ssl/certs/ca-certificates.crt']) {
      if (fs.existsSync(f)) a.push('--ro-bind', f, f);
    }
  }

  for (const p of spec.extraPaths) {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p.source);
    } catch (e) {
      if (p.optional) continue;
      const code = (e as NodeJS.ErrnoException).code;
      const reason = code === 'ENOENT' ? 'No such file or directory' : code === 'EACCES' ? 'Permission denied' : code === 'ENOTDIR' ? 'Not a directory' : (e as Error).message;
      throw new SandboxError(`getting attributes of path '${p.source}': ${reason}`);
    }
    if (st.isSymbolicLink()) a.push('--symlink', fs.readlinkSync(p.source), p.target);
    else if (st.isCharacterDevice() || st.isBlockDevice()) a.push('--dev-bind', p.source, p.target);
    else a.push('--ro-bind', p.source, p.target);
  }

  // Nothing else is writable: the root becomes read-only once everything is mounted.
  a.push('--remount-ro', '/');
  a.push('--chdir', spec.sandboxBuildDir);
  // A builder named without a slash is a file in the build directory (Nix
  // execs it as given, relative to there); bwrap would look it up in PATH.
  const builder = spec.builder.includes('/') ? spec.builder : path.posix.join(spec.sandboxBuildDir, spec.builder);
  a.push('--', builder, ...spec.args);
  return a;
}

/** The host user sandboxed builds run as when tsnix runs as root (nobody). */
export const SANDBOX_HOST_USER = { uid: 65534, gid: 65534 };

/**
 * Makes the input closure visible in the sandbox's store directory and
 * returns the inputs that still need a read-only bind mount. A mount costs
 * milliseconds and closures of hundreds of paths are common, so like Nix,
 * which hard-links non-directories, files are hard-linked when the builder
 * runs as another user than the store's owner (it cannot write through the
 * link then), and symlinks are recreated. Otherwise — an unprivileged tsnix,
 * whose builder maps to the store's owner — everything but symlinks is
 * bind-mounted read-only.
 */
export function materialiseInputs(inputPaths: Set<string>, store: BuildStore, chrootStoreDir: string, linkFiles: boolean): Map<string, string> {
  const binds = new Map<string, string>();
  for (const p of inputPaths) {
    const real = store.toRealPath(p);
    const st = fs.lstatSync(real);
    const dest = path.join(chrootStoreDir, path.basename(p));
    if (st.isSymbolicLink()) {
      fs.symlinkSync(fs.readlinkSync(real), dest);
    } else if (st.isFile() && linkFiles) {
      try {
        fs.linkSync(real, dest);
      } catch {
        binds.set(p, real);
      }
    } else {
      binds.set(p, real);
    }
  }
  return binds;
}
