// Nix's configuration settings: the table of known names with their types and
// defaults, and how values arrive, in Nix's order of precedence (later wins):
//   1. $NIX_CONF_DIR/nix.conf (default /etc/nix/nix.conf)
//   2. the user's files: $NIX_USER_CONF_FILES, or $XDG_CONFIG_DIRS/nix/nix.conf
//      and $XDG_CONFIG_HOME/nix/nix.conf (lowest priority first)
//   3. $NIX_CONFIG
//   4. command-line flags (`--option name value`, `--name value`, `--no-name`)
// `extra-NAME` appends to a list setting instead of replacing it. Unknown
// names produce a warning, as Nix gives.

import { existsSync, readFileSync } from 'node:fs';
import { homedir, availableParallelism } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { envValueWithBytes } from '../process-bytes.js';
import { UsageError } from '../eval/errors.js';

export type SettingType = 'bool' | 'int' | 'string' | 'strings' | 'path' | 'size';

export interface SettingSpec {
  type: SettingType;
  default: SettingValue;
  /** Other names accepted for the same setting (Nix keeps old names as aliases). */
  aliases?: string[];
}

export type SettingValue = boolean | number | string | string[];

function currentSystem(): string {
  const arch = process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'aarch64' : process.arch;
  const os = process.platform === 'darwin' ? 'darwin' : process.platform;
  return `${arch}-${os}`;
}

const b = (d: boolean): SettingSpec => ({ type: 'bool', default: d });
const i = (d: number): SettingSpec => ({ type: 'int', default: d });
const s = (d: string): SettingSpec => ({ type: 'string', default: d });
const l = (d: string[]): SettingSpec => ({ type: 'strings', default: d });

/** Every setting tsnix knows, with Nix's names and defaults. */
export const SETTINGS: Record<string, SettingSpec> = {
  // store and daemon
  store: s('auto'),
  'use-sqlite-wal': b(true),
  'fsync-metadata': b(true),
  'sync-before-registering': b(false),
  'build-users-group': s(''),
  'trusted-users': l(['root']),
  'allowed-users': l(['*']),
  'auto-allocate-uids': b(false),
  'require-drop-supplementary-groups': b(false),
  // building
  'max-jobs': { type: 'string', default: '1', aliases: ['build-max-jobs'] },
  cores: { type: 'int', default: 0, aliases: ['build-cores'] },
  sandbox: { type: 'string', default: 'true', aliases: ['build-use-sandbox', 'build-use-chroot'] },
  'sandbox-paths': { type: 'strings', default: [], aliases: ['build-sandbox-paths', 'build-chroot-dirs'] },
  'sandbox-fallback': b(true),
  // Nix's default is empty; when unset, the builder lets derivations ask for the host toolchain (src/build/realise.ts).
  'allowed-impure-host-deps': l([]),
  'sandbox-build-dir': s('/build'),
  'sandbox-dev-shm-size': s('50%'),
  'build-dir': s(''),
  'build-hook': l([]),
  builders: s(''),
  'builders-use-substitutes': b(false),
  'max-silent-time': { type: 'int', default: 0, aliases: ['build-max-silent-time'] },
  timeout: { type: 'int', default: 0, aliases: ['build-timeout'] },
  'max-build-log-size': { type: 'int', default: 0, aliases: ['build-max-log-size'] },
  'keep-failed': b(false),
  'keep-going': b(false),
  'keep-build-log': { type: 'bool', default: true, aliases: ['build-keep-log'] },
  'compress-build-log': { type: 'bool', default: true, aliases: ['build-compress-log'] },
  // Nix 2.8's (current Nix shows 25), as the rest of a failed build's message is 2.8's.
  'log-lines': i(10),
  'print-missing': b(true),
  'pre-build-hook': s(''),
  'post-build-hook': s(''),
  'diff-hook': s(''),
  'run-diff-hook': b(false),
  repeat: { type: 'int', default: 0, aliases: ['build-repeat'] },
  'enforce-determinism': b(true),
  'filter-syscalls': b(true),
  'allow-new-privileges': b(false),
  'impersonate-linux-26': { type: 'bool', default: false, aliases: ['build-impersonate-linux-26'] },
  'fallback': { type: 'bool', default: false, aliases: ['build-fallback'] },
  system: s(currentSystem()),
  'extra-platforms': l([]),
  // As Nix: `kvm` only when the host has /dev/kvm (the sandbox shows it to builds that need it).
  'system-features': l(['nixos-test', 'benchmark', 'big-parallel', ...(existsSync('/dev/kvm') ? ['kvm'] : [])]),
  'preallocate-contents': b(false),
  'ignored-acls': l(['security.csm', 'security.selinux', 'system.nfs4_acl']),
  'impure-env': l([]),
  'ssl-cert-file': s(''),
  'max-substitution-jobs': i(16),
  // garbage collection
  'keep-outputs': { type: 'bool', default: false, aliases: ['gc-keep-outputs'] },
  'keep-derivations': { type: 'bool', default: true, aliases: ['gc-keep-derivations'] },
  'keep-env-derivations': { type: 'bool', default: false, aliases: ['env-keep-derivations'] },
  'gc-reserved-space': { type: 'size', default: 8 * 1024 * 1024 },
  'auto-optimise-store': b(false),
  'min-free': { type: 'size', default: 0 },
  'max-free': { type: 'size', default: Number.MAX_SAFE_INTEGER },
  'min-free-check-interval': i(5),
  // substitution
  substitute: { type: 'bool', default: true, aliases: ['build-use-substitutes'] },
  substituters: { type: 'strings', default: ['https://cache.nixos.org/'], aliases: ['binary-caches'] },
  'trusted-substituters': { type: 'strings', default: [], aliases: ['trusted-binary-caches'] },
  'trusted-public-keys': { type: 'strings', default: ['cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY='], aliases: ['binary-cache-public-keys'] },
  'secret-key-files': l([]),
  'require-sigs': b(true),
  'narinfo-cache-negative-ttl': i(3600),
  'narinfo-cache-positive-ttl': i(30 * 24 * 3600),
  'always-allow-substitutes': b(false),
  'connect-timeout': i(0),
  'stalled-download-timeout': i(300),
  'download-attempts': i(5),
  'http-connections': { type: 'int', default: 25, aliases: ['binary-caches-parallel-connections'] },
  'http2': b(true),
  'netrc-file': s('/etc/nix/netrc'),
  'tarball-ttl': i(3600),
  'hashed-mirrors': l([]),
  'download-speed': i(0),
  'download-buffer-size': { type: 'size', default: 64 * 1024 * 1024 },
  // evaluation
  'nix-path': l([]),
  'restrict-eval': b(false),
  'pure-eval': b(false),
  'allowed-uris': l([]),
  'allow-import-from-derivation': b(true),
  'trace-import-from-derivation': b(false),
  'allow-unsafe-native-code-during-evaluation': b(false),
  'show-trace': b(false),
  'max-call-depth': i(10000),
  'trace-verbose': b(false),
  'abort-on-warn': b(false),
  'debugger-on-trace': b(false),
  'debugger-on-warn': b(false),
  'ignore-try': b(false),
  'eval-cache': b(true),
  'eval-system': s(''),
  'lint-url-literals': s('ignore'),
  'lint-short-path-literals': s('ignore'),
  'lint-absolute-path-literals': s('ignore'),
  'trace-function-calls': b(false),
  'use-xdg-base-directories': b(false),
  'experimental-features': l([]),
  'deprecated-features': l([]),
  'accept-flake-config': b(false),
  'flake-registry': s('https://channels.nixos.org/flake-registry.json'),
  'commit-lock-file-summary': { type: 'string', default: '', aliases: ['commit-lockfile-summary'] },
  'warn-dirty': b(true),
  // Settings of Nix 2.8 that tsnix has no use for, known so that they do not warn.
  'allow-dirty': b(true),
  'allow-symlinked-store': b(false),
  'build-poll-interval': { type: 'int', default: 5 },
  'nar-buffer-size': { type: 'size', default: 32 * 1024 * 1024 },
  'use-case-hack': b(false),
  'use-registries': b(true),
  'user-agent-suffix': s(''),
  'warn-large-path-threshold': { type: 'size', default: 0 },
  'bash-prompt': s(''),
  'bash-prompt-prefix': s(''),
  'bash-prompt-suffix': s(''),
  'plugin-files': l([]),
  'show-trace-on-error': b(false),
  'keep-env': b(false),
  'access-tokens': l([]),
  'upgrade-nix-store-path-url': s(''),
  'json-log-path': s(''),
  'log-format': s('bar'),
};

const aliasToName = new Map<string, string>();
for (const [name, spec] of Object.entries(SETTINGS)) for (const a of spec.aliases ?? []) aliasToName.set(a, name);

export function canonicalSettingName(name: string): string | undefined {
  if (name in SETTINGS) return name;
  return aliasToName.get(name);
}

export class Settings {
  private values = new Map<string, SettingValue>();
  /** Warnings collected while reading (unknown settings, bad values), printed by the caller. */
  readonly warnings: string[] = [];

  get<T extends SettingValue>(name: string): T {
    const canon = canonicalSettingName(name);
    if (!canon) throw new Error(`internal: unknown setting '${name}'`);
    return (this.values.get(canon) ?? SETTINGS[canon]!.default) as T;
  }

  getBool(name: string): boolean {
    return this.get<boolean>(name);
  }
  getInt(name: string): number {
    return this.get<number>(name);
  }
  getString(name: string): string {
    return this.get<string>(name);
  }
  getStrings(name: string): string[] {
    return this.get<string[]>(name);
  }

  isSet(name: string): boolean {
    const canon = canonicalSettingName(name);
    return canon !== undefined && this.values.has(canon);
  }

  /**
   * Set from text, as in nix.conf or `--option`. Returns false (and records a
   * warning) for unknown names.
   */
  set(name: string, value: string): boolean {
    let append = false;
    let canon = canonicalSettingName(name);
    if (!canon && name.startsWith('extra-')) {
      canon = canonicalSettingName(name.slice(6));
      append = true;
    }
    if (!canon) {
      this.warnings.push(`unknown setting '${name}'`);
      return false;
    }
    const spec = SETTINGS[canon]!;
    const parsed = parseSettingValue(canon, spec, value);
    if (append && spec.type === 'strings') {
      this.values.set(canon, [...this.getStrings(canon), ...(parsed as string[])]);
    } else {
      this.values.set(canon, parsed);
    }
    return true;
  }

  /** Sets a list setting to these words (which may hold spaces). */
  setStrings(name: string, values: string[]): void {
    const canon = canonicalSettingName(name);
    if (!canon || SETTINGS[canon]!.type !== 'strings') throw new Error(`internal: '${name}' is not a list setting`);
    this.values.set(canon, values);
  }

  /** The settings given a value (by nix.conf, NIX_CONFIG, --option or a flag), as `--option` text. */
  explicitValues(): [string, string][] {
    return [...this.values].map(([name, v]) => [name, Array.isArray(v) ? v.join(' ') : String(v)]);
  }

  /**
   * The settings given a value, as nix.conf lines (for NIX_CONFIG): read back
   * on top of the same nix.conf, they give the same configuration. Nix puts
   * every setting there; only these, so that a Nix of another version does
   * not warn about the settings it does not know.
   */
  explicitConfig(): string {
    return this.explicitValues()
      .map(([name, value]) => `${name} = ${value}\n`)
      .join('');
  }

  /** Whether a flag name (without dashes) names a setting: `--sandbox`, `--no-sandbox`, `--extra-x`. */
  static flagNames(): string[] {
    return Object.keys(SETTINGS);
  }

  experimentalFeatures(): Set<string> {
    return new Set(this.getStrings('experimental-features'));
  }
}

function parseSettingValue(name: string, spec: SettingSpec, value: string): SettingValue {
  switch (spec.type) {
    case 'bool':
      if (value === 'true') return true;
      if (value === 'false') return false;
      throw new SettingError(`Boolean setting '${name}' has invalid value '${value}'`);
    case 'int': {
      const n = parseIntWithUnit(value);
      if (n === undefined) throw new SettingError(`configuration setting '${name}' should have an integer value, but has '${value}'`);
      return n;
    }
    case 'size': {
      const n = parseIntWithUnit(value, true);
      if (n === undefined) throw new SettingError(`configuration setting '${name}' should have an integer value, but has '${value}'`);
      return n;
    }
    case 'strings':
      return value.split(/[ \t\n\r]+/).filter((w) => w !== '');
    case 'string':
      if (name === 'max-jobs' && value !== 'auto' && !/^[0-9]+$/.test(value)) throw new SettingError(`configuration setting 'max-jobs' should be 'auto' or an integer`);
      return value;
    case 'path':
      return value;
  }
}

/** A setting's integer (10, 10K, 10m, …; see intWithUnitPrefix), or undefined when it is not one. */
export function parseIntWithUnit(value: string, unsigned = false): number | undefined {
  try {
    return intWithUnitPrefix(value.trim(), unsigned);
  } catch {
    return undefined;
  }
}

/**
 * Nix's string2IntWithUnitPrefix: an integer with an optional unit (K, M,
 * G, T, either case), as Nix reads `--max-freed` or `--cores`: no spaces,
 * within 64 bits (signed, or for sizes unsigned: up to 2^64 - 1, which
 * max-free's default is); Nix's messages for anything else.
 */
export function intWithUnitPrefix(value: string, unsigned = false): number {
  let digits = value;
  let mult = 1n;
  const last = value.slice(-1).toUpperCase();
  if (/[A-Z]/.test(last)) {
    const i = 'KMGT'.indexOf(last);
    if (i < 0) throw new UsageError(`invalid unit specifier '${last}'`);
    mult = 1n << BigInt(10 * (i + 1));
    digits = value.slice(0, -1);
  }
  if (!/^-?[0-9]+$/.test(digits)) throw new UsageError(`'${value}' is not an integer`);
  const n = BigInt(digits);
  const [min, max] = unsigned ? [0n, 1n << 64n] : [-(1n << 63n), 1n << 63n];
  if (n < min || n >= max) throw new UsageError(`'${value}' is not an integer`);
  return Number(n * mult);
}

export class SettingError extends Error {}

/** Parse nix.conf text: `name = value` lines, `#` comments, `include` / `!include`. */
export function applyConfText(settings: Settings, text: string, path: string, seen = new Set<string>()): void {
  for (const rawLine of text.split('\n')) {
    const hash = rawLine.indexOf('#');
    const line = (hash >= 0 ? rawLine.slice(0, hash) : rawLine).trim();
    if (line === '') continue;
    const words = line.split(/[ \t]+/);
    if (words[0] === 'include' || words[0] === '!include') {
      if (words.length !== 2) throw new SettingError(`illegal configuration line '${line}' in '${path}'`);
      const target = isAbsolute(words[1]!) ? words[1]! : resolve(dirname(path), words[1]!);
      if (existsSync(target)) {
        if (!seen.has(target)) {
          seen.add(target);
          applyConfText(settings, readFileSync(target, 'utf8'), target, seen);
        }
      } else if (words[0] === 'include') {
        throw new SettingError(`file '${target}' included from '${path}' not found`);
      }
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0) throw new SettingError(`illegal configuration line '${line}' in '${path}'`);
    const name = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (name === '' || /\s/.test(name)) throw new SettingError(`illegal configuration line '${line}' in '${path}'`);
    settings.set(name, value);
  }
}

function userConfFiles(env: NodeJS.ProcessEnv): string[] {
  if (env.NIX_USER_CONF_FILES !== undefined) return env.NIX_USER_CONF_FILES.split(':').filter((p) => p !== '');
  const configHome = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  const dirs = (env.XDG_CONFIG_DIRS || '/etc/xdg').split(':').filter((p) => p !== '');
  // Lowest priority first: XDG_CONFIG_DIRS are listed most important first.
  return [...dirs.reverse().map((d) => join(d, 'nix', 'nix.conf')), join(configHome, 'nix', 'nix.conf')];
}

/** NIX_PATH is colon-separated, except inside URLs (`https://…`). */
export function parseNixPathEnv(s: string): string[] {
  // Entries are split at `:`, except the one after a URL's scheme (the
  // text after an entry's `=` starting with a scheme Nix fetches), and an
  // empty entry stands for the current directory; a last one is dropped.
  const out: string[] = [];
  let start = 0;
  let i = 0;
  while (i < s.length) {
    let valueStart = start;
    while (i < s.length && s[i] !== ':') {
      if (s[i] === '=') valueStart = i + 1;
      i++;
    }
    if (i < s.length && isPseudoUrl(s.slice(valueStart))) {
      i++;
      while (i < s.length && s[i] !== ':') i++;
    }
    if (i > start || i < s.length) out.push(s.slice(start, i));
    start = ++i;
  }
  return out;
}

/** Nix's isPseudoUrl: what a search path entry fetches rather than reads. */
function isPseudoUrl(s: string): boolean {
  if (s.startsWith('channel:')) return true;
  const m = /^([^]*?):\/\//.exec(s);
  return m !== null && ['http', 'https', 'file', 'channel', 'git', 's3', 'ssh'].includes(m[1]!);
}

/** Load settings from files and the environment, as Nix does at start-up. */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const settings = new Settings();
  const confDir = env.NIX_CONF_DIR || '/etc/nix';
  const files = [join(confDir, 'nix.conf'), ...userConfFiles(env)];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    applyConfText(settings, text, file);
  }
  if (env.NIX_CONFIG) applyConfText(settings, env.NIX_CONFIG, '<NIX_CONFIG>');
  // NIX_PATH overrides the configuration's nix-path, and --nix-path (or
  // --option nix-path) on the command line overrides NIX_PATH in turn, while
  // --extra-nix-path extends it: Nix sets the setting from the variable at
  // this point, after the files and before the arguments.
  if (env.NIX_PATH !== undefined) settings.setStrings('nix-path', parseNixPathEnv(env === process.env ? envValueWithBytes('NIX_PATH', env.NIX_PATH) : env.NIX_PATH));
  return settings;
}

/** `max-jobs`: a number or `auto` (the number of CPUs). */
export function maxJobs(settings: Settings): number {
  const v = settings.getString('max-jobs');
  if (v === 'auto') return availableParallelism();
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 ? n : 1;
}
