// Which store to open, decided the way Nix decides it: from the `store`
// setting (`--store`, nix.conf), else NIX_REMOTE, else "auto"; the logical
// and physical directories from NIX_STORE_DIR / NIX_STATE_DIR / NIX_LOG_DIR
// and from the store URI's parameters (`root`, `state`, `log`, `real`,
// `store`). This module only computes a description; opening it is the
// job of local-store.ts and readonly-store.ts.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface LocalStoreConfig {
  kind: 'local';
  /** The logical store directory that appears in store paths. */
  storeDir: string;
  /** Where the store directory really is on disk (differs for chroot stores). */
  realStoreDir: string;
  stateDir: string;
  logDir: string;
  /** Set for chroot stores: every other directory is below it. */
  rootDir?: string;
  /**
   * Set when "auto" fell back to a chroot store under the user's data
   * directory; the command line prints it as Nix does (a warning the first
   * time the directory is created, a debug message afterwards).
   */
  chrootNotice?: { message: string; created: boolean };
  /** Nix-style warnings for the caller to print (e.g. unknown URI parameters). */
  warnings: string[];
}

/** `dummy://`: computes paths, stores nothing (the language test suite uses it). */
export interface DummyStoreConfig {
  kind: 'dummy';
  storeDir: string;
}

export type StoreConfig = LocalStoreConfig | DummyStoreConfig;

export class StoreConfigError extends Error {}

export interface ResolveStoreOptions {
  /** The `store` setting (`--store`, nix.conf); NIX_REMOTE and then "auto" when absent. */
  uri?: string;
  env?: NodeJS.ProcessEnv;
  /** Current directory for relative `--store ./dir`. */
  cwd?: string;
  /** For tests: whether we are root (Nix never auto-chroots for root). */
  isRoot?: boolean;
  /** For tests: the compiled-in state directory (/nix/var/nix). */
  defaultStateDir?: string;
}

const DEFAULT_STORE_DIR = '/nix/store';
const DEFAULT_STATE_DIR = '/nix/var/nix';
const DEFAULT_LOG_DIR = '/nix/var/log/nix';

/** Removes `.`/`..`/duplicate slashes like Nix's canonPath (without resolving symlinks). */
function canonPath(p: string): string {
  const normalised = path.posix.normalize(p);
  return normalised.length > 1 && normalised.endsWith('/') ? normalised.slice(0, -1) : normalised;
}

/** Splits `scheme://rest?a=b&c=d` / `path?a=b` into the part before `?` and its decoded parameters. */
export function splitUriAndParams(uri: string): { base: string; params: Record<string, string> } {
  const q = uri.indexOf('?');
  if (q < 0) return { base: uri, params: {} };
  const params: Record<string, string> = {};
  for (const item of uri.slice(q + 1).split('&')) {
    if (item === '') continue;
    const eq = item.indexOf('=');
    // Nix's decodeQuery ignores items without '='.
    if (eq < 0) continue;
    params[decodeURIComponent(item.slice(0, eq))] = decodeURIComponent(item.slice(eq + 1));
  }
  return { base: uri.slice(0, q), params };
}

/** Nix's test for "a plain directory given as a store": no `://`, at least one `/`. */
function isNonUriPath(spec: string): boolean {
  return !spec.includes('://') && spec.includes('/');
}

function isAccessibleRW(dir: string): boolean {
  try {
    fs.accessSync(dir, fs.constants.R_OK | fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Nix's getDataDir(): $NIX_DATA_HOME, else $XDG_DATA_HOME/nix, else ~/.local/share/nix. */
export function userDataDir(env: NodeJS.ProcessEnv): string {
  if (env.NIX_DATA_HOME) return env.NIX_DATA_HOME;
  const xdg = env.XDG_DATA_HOME;
  if (xdg) return path.join(xdg, 'nix');
  const home = env.HOME || os.homedir();
  return path.join(home, '.local', 'share', 'nix');
}

const KNOWN_LOCAL_PARAMS = new Set(['root', 'state', 'log', 'real', 'store']);

function localConfig(params: Record<string, string>, env: NodeJS.ProcessEnv, cwd: string, defaultStateDir = DEFAULT_STATE_DIR): LocalStoreConfig {
  const warnings = Object.keys(params).filter((key) => !KNOWN_LOCAL_PARAMS.has(key)).map((key) => `unknown setting '${key}'`);
  const abs = (p: string) => canonPath(path.resolve(cwd, p));
  const storeDir = canonPath(params.store ?? env.NIX_STORE_DIR ?? env.NIX_STORE ?? DEFAULT_STORE_DIR);
  const rootDir = params.root !== undefined && params.root !== '' ? abs(params.root) : undefined;
  // With a root, the physical layout below it is always the default one,
  // whatever the logical store directory is (as in Nix).
  const stateDir = params.state !== undefined ? abs(params.state)
    : rootDir ? rootDir + '/nix/var/nix' : canonPath(env.NIX_STATE_DIR ?? defaultStateDir);
  const logDir = params.log !== undefined ? abs(params.log)
    : rootDir ? rootDir + '/nix/var/log/nix' : canonPath(env.NIX_LOG_DIR ?? DEFAULT_LOG_DIR);
  const realStoreDir = params.real !== undefined ? abs(params.real)
    : rootDir ? rootDir + '/nix/store' : storeDir;
  return { kind: 'local', storeDir, realStoreDir, stateDir, logDir, ...(rootDir ? { rootDir } : {}), warnings };
}

/**
 * Resolves the store description. Errors are Nix's texts
 * ("don't know how to open Nix store '...'").
 */
export function resolveStoreConfig(options: ResolveStoreOptions = {}): StoreConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const uri = options.uri ?? env.NIX_REMOTE ?? 'auto';
  const isRoot = options.isRoot ?? (typeof process.getuid === 'function' && process.getuid() === 0);

  const { base, params } = splitUriAndParams(uri === '' ? 'auto' : uri);

  if (base === 'dummy://' || base === 'dummy') {
    return { kind: 'dummy', storeDir: canonPath(params.store ?? env.NIX_STORE_DIR ?? env.NIX_STORE ?? DEFAULT_STORE_DIR) };
  }
  if (base === 'local') return localConfig(params, env, cwd);
  if (base === 'auto') {
    const candidate = localConfig(params, env, cwd, options.defaultStateDir);
    if (isAccessibleRW(candidate.stateDir)) return candidate;
    // Not writable by us: like Nix for unprivileged users without a daemon,
    // fall back to a chroot store under the user's data directory, but only
    // when nothing was configured explicitly.
    if (Object.keys(params).length === 0 && !isRoot && env.NIX_STORE_DIR === undefined && env.NIX_STATE_DIR === undefined) {
      const chrootDir = path.join(userDataDir(env), 'root');
      let created = false;
      if (!fs.existsSync(chrootDir)) {
        try {
          fs.mkdirSync(chrootDir, { recursive: true });
          created = true;
        } catch {
          return candidate;
        }
      }
      return {
        ...localConfig({ root: chrootDir }, env, cwd),
        chrootNotice: {
          message: fs.existsSync(candidate.stateDir)
            ? `'${candidate.stateDir}' is not writable, so tsnix will use '${chrootDir}' as a chroot store`
            : `'${candidate.stateDir}' does not exist, so Nix will use '${chrootDir}' as a chroot store`,
          created,
        },
      };
    }
    return candidate;
  }
  if (base === 'daemon' || base.startsWith('unix://')) {
    throw new StoreConfigError(`store '${uri}' is not supported by tsnix yet (no daemon client)`);
  }
  if (isNonUriPath(base)) {
    return localConfig({ ...params, root: path.resolve(cwd, base) }, env, cwd);
  }
  throw new StoreConfigError(`don't know how to open Nix store '${uri}'`);
}
