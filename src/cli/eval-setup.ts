// Evaluation set-up shared by nix-instantiate, nix-build and nix-env: the
// EvalState built from settings and common flags, the --arg/--argstr set, the
// expressions named on the command line (files, `-E` strings, `-` for stdin,
// `<lookup>` paths), and the stats printout of NIX_SHOW_STATS.

import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Expr } from '../eval/ast.js';
import { EvalError } from '../eval/errors.js';
import { EvalState, resolveExprPath } from '../eval/eval-state.js';
import { NixAttrs, FnThunk, type Lazy } from '../eval/values.js';
import type { Store } from '../store/store-api.js';
import type { CommonArgs } from './args.js';
import type { Settings } from './settings.js';
import { seaCorepkgsDir } from '../sea-assets.js';
import { decodeBytes } from '../byte-strings.js';
import { readText, writeText } from '../byte-fs.js';
import { buildDuringEvaluation, childLogFlags } from './build-during-eval.js';
import type { LocalStore } from '../store/local/local-store.js';
import { jsonLoggerFor } from '../build/json-log.js';

export function createEvalState(common: CommonArgs, store: Store, env: NodeJS.ProcessEnv = process.env): EvalState {
  const s = common.settings;
  // The search path as Nix builds it: -I entries, then the nix-path setting
  // (NIX_PATH overrides the configuration's, see loadSettings), then the
  // channel directories that exist unless evaluation is restricted; none at
  // all in pure evaluation mode.
  const nixPath = s.getBool('pure-eval')
    ? []
    : [...common.includes, ...s.getStrings('nix-path'), ...(s.getBool('restrict-eval') ? [] : defaultNixPath(s, env))];
  const evalSystem = s.getString('eval-system');
  // Traces and warnings as Nix's JSON messages with --log-format internal-json.
  // (process.stderr reached only when written to: it loads Node's stream modules.)
  const json = jsonLoggerFor(s.getString('log-format'), { write: (d) => process.stderr.write(d) });
  return new EvalState(store, {
    ...(json ? { log: (line: string, level: number) => json.msg(level, line) } : {}),
    nixPath,
    pureEval: s.getBool('pure-eval'),
    restrictEval: s.getBool('restrict-eval'),
    enableNativeCode: s.getBool('allow-unsafe-native-code-during-evaluation'),
    allowImportFromDerivation: s.getBool('allow-import-from-derivation'),
    traceImportFromDerivation: s.getBool('trace-import-from-derivation'),
    // Only a local store written to can build (read-only mode computes paths only).
    buildDerivations: isLocalStore(store) ? (targets) => buildDuringEvaluation(store, s, childLogFlags(common), targets) : undefined,
    maxCallDepth: s.getInt('max-call-depth'),
    showTrace: s.getBool('show-trace'),
    traceVerbose: s.getBool('trace-verbose'),
    verbosity: common.verbosity,
    abortOnWarn: s.getBool('abort-on-warn') || env.NIX_ABORT_ON_WARN === '1',
    currentSystem: evalSystem !== '' ? evalSystem : s.getString('system'),
    home: env.HOME,
    experimentalFeatures: s.experimentalFeatures(),
    corepkgsDir: seaCorepkgsDir(),
    lint: {
      urlLiterals: lintLevel(s.getString('lint-url-literals')),
      shortPathLiterals: lintLevel(s.getString('lint-short-path-literals')),
      absolutePathLiterals: lintLevel(s.getString('lint-absolute-path-literals')),
    },
  });
}

function isLocalStore(store: Store): store is LocalStore {
  return !store.readOnly && typeof (store as Partial<LocalStore>).addTempRoot === 'function';
}

function lintLevel(v: string): 'ignore' | 'warn' | 'fatal' {
  return v === 'warn' || v === 'fatal' ? v : 'ignore';
}

/**
 * The search path entries Nix adds after the configured ones, for those
 * that exist: the user's channels, then root's nixpkgs channel and root's
 * channels.
 */
function defaultNixPath(s: Settings, env: NodeJS.ProcessEnv): string[] {
  const home = env.HOME || homedir();
  const defExpr = s.getBool('use-xdg-base-directories') ? join(env.XDG_STATE_HOME || join(home, '.local', 'state'), 'nix', 'defexpr') : join(home, '.nix-defexpr');
  const rootChannels = join(env.NIX_STATE_DIR || '/nix/var/nix', 'profiles', 'per-user', 'root', 'channels');
  const out: string[] = [];
  if (existsSync(join(defExpr, 'channels'))) out.push(join(defExpr, 'channels'));
  if (existsSync(join(rootChannels, 'nixpkgs'))) out.push(`nixpkgs=${join(rootChannels, 'nixpkgs')}`);
  if (existsSync(rootChannels)) out.push(rootChannels);
  return out;
}

/** The --arg/--argstr/--arg-from-file/--arg-from-stdin set, as lazy values. */
export function autoArgsOf(state: EvalState, common: CommonArgs): NixAttrs {
  const m = new Map<string, Lazy>();
  for (const [name, arg] of common.autoArgs) {
    switch (arg.kind) {
      case 'expr': {
        // Parsed and bound now, as Nix does: a syntax error or an undefined
        // variable fails the command even if the argument is never used.
        const expr = arg.expr;
        m.set(name, new FnThunk(state.compileExpr(state.parseString(expr, { kind: 'string', source: expr }, process.cwd()))));
        break;
      }
      case 'string':
        m.set(name, arg.value);
        break;
      case 'file':
        m.set(name, readText(arg.path));
        break;
      case 'stdin':
        m.set(name, decodeBytes(readFileSync(0)));
        break;
    }
  }
  return new NixAttrs(m);
}

/**
 * A file argument as Nix resolves it: `<name>` through the search path,
 * otherwise a path relative to the current directory (a directory means its
 * default.nix).
 */
export function lookupFileArg(state: EvalState, arg: string): string {
  if (arg.length > 2 && arg.startsWith('<') && arg.endsWith('>')) {
    return state.findFile(state.lookupPath, arg.slice(1, -1), undefined);
  }
  if (/^(https?|ftp|file|channel):/.test(arg)) throw new EvalError(`fetching '${arg}' is not supported yet in tsnix`);
  return resolve(arg);
}

/** The expressions a command line names, parsed, in order. */
export function parseCommandLineExprs(
  state: EvalState,
  opts: { files: string[]; fromArgs: boolean; readStdin: boolean },
): Expr[] {
  const exprs: Expr[] = [];
  if (opts.readStdin) {
    const source = decodeBytes(readFileSync(0));
    exprs.push(state.parseString(source, { kind: 'stdin', source }, process.cwd()));
  }
  for (const f of opts.files) {
    if (opts.fromArgs) exprs.push(state.parseString(f, { kind: 'string', source: f }, process.cwd()));
    else exprs.push(state.parseFile(resolveExprPath(lookupFileArg(state, f))));
  }
  return exprs;
}

/**
 * NIX_SHOW_STATS set to anything but 0: the counters as Nix prints them, to
 * stderr, or to the file NIX_SHOW_STATS_PATH names unless that is `-`.
 */
export function maybePrintStats(state: EvalState, env: NodeJS.ProcessEnv = process.env): void {
  if ((env.NIX_SHOW_STATS ?? '0') === '0') return;
  const json = state.statsJSON() + '\n';
  const path = env.NIX_SHOW_STATS_PATH ?? '-';
  if (path !== '-') writeText(path, json);
  else process.stderr.write(json);
}
