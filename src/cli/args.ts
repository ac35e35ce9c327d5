// Nix-style command-line parsing for the classic commands (nix-build,
// nix-instantiate, ...). Nix's rules, which generic parsers don't follow:
//   - compound short flags expand: `-qR` → `-q -R`, `-j3` → `-j 3`, `-iA` → `-i -A`
//   - options take a fixed number of following words: `--arg NAME EXPR`
//   - every configuration setting is also a flag: `--sandbox`, `--no-sandbox`,
//     `--max-jobs 4`, `--extra-sandbox-paths /bin/sh=…`
//   - `--` ends flags; `-` alone is an ordinary argument (standard input)
// The command gets the first look at each argument; what it does not claim
// is tried against the common flags, and an unknown flag is a usage error.

import { NixError, UsageError } from '../eval/errors.js';
import { SETTINGS, SettingError, Settings, canonicalSettingName, intWithUnitPrefix } from './settings.js';

/** What `--log-format` takes. */
const LOG_FORMATS = new Set(['raw', 'raw-with-logs', 'internal-json', 'bar', 'bar-with-logs']);

export type AutoArg =
  | { kind: 'expr'; expr: string }
  | { kind: 'string'; value: string }
  | { kind: 'file'; path: string }
  | { kind: 'stdin' };

/** What the common flags of every classic command set. */
export interface CommonArgs {
  settings: Settings;
  /** `--arg`/`--argstr`/... in order; a later one with the same name wins. */
  autoArgs: Map<string, AutoArg>;
  /** `-I` entries, in order (they come before NIX_PATH and nix-path). */
  includes: string[];
  verbosity: number;
  readonlyMode: boolean;
  repair: boolean;
  /** `--eval-store URL` */
  evalStore?: string;
  /** -Q / --no-build-output */
  noBuildOutput: boolean;
  noGcWarning: boolean;
  logFormat?: string;
  /**
   * `--help` or `--version`, when met: as in Nix, it is answered at once,
   * so nothing after it is parsed (an unknown flag there is no error).
   */
  info?: '--help' | '--version';
}

export function expandCompoundFlags(argv: string[]): string[] {
  const out: string[] = [];
  let dashDash = false;
  for (const arg of argv) {
    if (dashDash) {
      out.push(arg);
      continue;
    }
    if (arg === '--') {
      dashDash = true;
      out.push(arg);
      continue;
    }
    if (arg.length > 2 && arg[0] === '-' && arg[1] !== '-' && isAlpha(arg[1]!)) {
      out.push('-' + arg[1]);
      for (let j = 2; j < arg.length; j++) {
        if (isAlpha(arg[j]!)) out.push('-' + arg[j]);
        else {
          out.push(arg.slice(j));
          break;
        }
      }
      continue;
    }
    out.push(arg);
  }
  return out;
}

function isAlpha(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/** A cursor over the argument list, for handlers that consume values. */
export class ArgCursor {
  private i = 0;
  constructor(private readonly args: string[]) {}

  get done(): boolean {
    return this.i >= this.args.length;
  }
  peek(): string | undefined {
    return this.args[this.i];
  }
  take(): string {
    return this.args[this.i++]!;
  }
  /** The value after option `opt`; Nix's error when there is none. */
  value(opt: string): string {
    if (this.i >= this.args.length) throw new UsageError(`'${opt}' requires an argument`);
    return this.args[this.i++]!;
  }
  /** Several values, for flags like `--arg NAME EXPR`. */
  values(flag: string, n: number): string[] {
    const got: string[] = [];
    for (let k = 0; k < n; k++) {
      if (this.i >= this.args.length)
        throw new UsageError(`flag '${flag}' requires ${n} argument(s), but only ${k} were given`);
      got.push(this.args[this.i++]!);
    }
    return got;
  }
  /** An integer flag's value (the flag-style message when it is missing). */
  intValue(flag: string): number {
    return intWithUnitPrefix(this.values(flag, 1)[0]!);
  }
}

/**
 * The command's own handler: return true if it consumed `arg` (and any values
 * through the cursor). Positional arguments arrive here too, with
 * `positional` set; so does everything after `--`, one argument at a time.
 */
export type ArgHandler = (arg: string, cursor: ArgCursor, positional: boolean) => boolean;

/** Nix's lvlInfo: what -v raises and --quiet lowers. */
export const DEFAULT_VERBOSITY = 3;

export function parseLegacyArgs(argv: string[], settings: Settings, handler: ArgHandler): CommonArgs {
  const common: CommonArgs = {
    settings,
    autoArgs: new Map(),
    includes: [],
    verbosity: DEFAULT_VERBOSITY,
    readonlyMode: false,
    repair: false,
    noBuildOutput: false,
    noGcWarning: false,
  };
  const cursor = new ArgCursor(expandCompoundFlags(argv));
  let dashDash = false;
  while (!cursor.done) {
    const arg = cursor.take();
    if (!dashDash && arg === '--') {
      dashDash = true;
      continue;
    }
    // Even after `--`, where Nix's commands still see them.
    if (arg === '--help' || arg === '--version') {
      common.info = arg;
      break;
    }
    if (dashDash) {
      // Nix hands each argument after `--` to the command's own handler on
      // its own: the command's flags still work (with nothing after them
      // to take as a value), the common ones do not.
      if (!handler(arg, new ArgCursor([]), arg === '-' || !arg.startsWith('-'))) throw new UsageError(`unexpected argument '${arg}'`);
      continue;
    }
    if (!arg.startsWith('-') || arg === '-') {
      if (!handler(arg, cursor, true)) throw new UsageError(`unexpected argument '${arg}'`);
      continue;
    }
    // Common flags are tried first, as in Nix (MixCommonArgs before the command).
    if (commonFlag(arg, cursor, common)) continue;
    if (handler(arg, cursor, false)) continue;
    throw new UsageError(`unrecognised flag '${arg}'`);
  }
  return common;
}

function commonFlag(arg: string, cursor: ArgCursor, c: CommonArgs): boolean {
  const settings = c.settings;
  switch (arg) {
    case '--verbose':
    case '-v':
      c.verbosity = Math.min(c.verbosity + 1, 7);
      return true;
    case '--quiet':
      c.verbosity = Math.max(c.verbosity - 1, 0);
      return true;
    case '--debug':
      c.verbosity = 6;
      return true;
    case '--option': {
      const [name, value] = cursor.values(arg, 2);
      try {
        if (!settings.set(name!, value!)) {
          // Nix warns about unknown settings rather than failing.
          process.stderr.write(`warning: unknown setting '${name}'\n`);
          settings.warnings.pop();
        }
      } catch (e) {
        // And about a value the setting does not take (keeping the old one).
        if (!(e instanceof SettingError)) throw e;
        process.stderr.write(`warning: ${e.message}\n`);
      }
      return true;
    }
    case '--log-format': {
      const format = cursor.values(arg, 1)[0]!;
      if (!LOG_FORMATS.has(format)) throw new NixError(`option 'log-format' has an invalid value '${format}'`);
      c.logFormat = format;
      // Also as the setting (current Nix's), which the build display reads.
      settings.set('log-format', format);
      return true;
    }
    case '--max-jobs':
    case '-j':
      try {
        settings.set('max-jobs', cursor.values(arg, 1)[0]!);
      } catch (e) {
        // A usage error here, as in Nix (with its hint to --help).
        if (e instanceof SettingError) throw new UsageError(e.message);
        throw e;
      }
      return true;
    case '--arg': {
      const [name, expr] = cursor.values(arg, 2);
      c.autoArgs.set(name!, { kind: 'expr', expr: expr! });
      return true;
    }
    case '--argstr': {
      const [name, value] = cursor.values(arg, 2);
      c.autoArgs.set(name!, { kind: 'string', value: value! });
      return true;
    }
    case '--arg-from-file': {
      const [name, path] = cursor.values(arg, 2);
      c.autoArgs.set(name!, { kind: 'file', path: path! });
      return true;
    }
    case '--arg-from-stdin': {
      const [name] = cursor.values(arg, 1);
      c.autoArgs.set(name!, { kind: 'stdin' });
      return true;
    }
    case '--include':
    case '-I':
      c.includes.push(cursor.values(arg, 1)[0]!);
      return true;
    case '--impure':
      settings.set('pure-eval', 'false');
      return true;
    case '--eval-store':
      c.evalStore = cursor.values(arg, 1)[0]!;
      return true;
    // LegacyArgs
    case '--no-build-output':
    case '-Q':
      c.noBuildOutput = true;
      return true;
    case '--keep-failed':
    case '-K':
      settings.set('keep-failed', 'true');
      return true;
    case '--keep-going':
    case '-k':
      settings.set('keep-going', 'true');
      return true;
    case '--fallback':
      settings.set('fallback', 'true');
      return true;
    case '--cores':
    case '--max-silent-time':
    case '--timeout':
      settings.set(arg.slice(2), String(cursor.intValue(arg)));
      return true;
    case '--readonly-mode':
      c.readonlyMode = true;
      return true;
    case '--no-gc-warning':
      c.noGcWarning = true;
      return true;
    case '--store':
      settings.set('store', cursor.values(arg, 1)[0]!);
      return true;
    case '--repair':
      c.repair = true;
      return true;
  }
  if (arg.startsWith('--')) return settingFlag(arg.slice(2), arg, cursor, settings);
  return false;
}

/** `--NAME VALUE`, `--NAME`/`--no-NAME` for booleans, `--extra-NAME VALUE` for lists. */
function settingFlag(name: string, flag: string, cursor: ArgCursor, settings: Settings): boolean {
  const canon = canonicalSettingName(name);
  // `sandbox` takes true/false/relaxed, but its flags are the boolean pair.
  if (canon && (SETTINGS[canon]!.type === 'bool' || canon === 'sandbox')) {
    settings.set(canon, 'true');
    return true;
  }
  if (canon) {
    settings.set(canon, cursor.values(flag, 1)[0]!);
    return true;
  }
  if (name.startsWith('no-')) {
    const c2 = canonicalSettingName(name.slice(3));
    if (c2 && (SETTINGS[c2]!.type === 'bool' || c2 === 'sandbox')) {
      settings.set(c2, 'false');
      return true;
    }
  }
  if (name.startsWith('extra-')) {
    const c3 = canonicalSettingName(name.slice(6));
    if (c3 && SETTINGS[c3]!.type === 'strings') {
      settings.set(name, cursor.values(flag, 1)[0]!);
      return true;
    }
  }
  return false;
}
