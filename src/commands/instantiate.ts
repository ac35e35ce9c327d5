// nix-instantiate: evaluate expressions (--eval, with --strict/--json/--xml/
// --raw), print their parse (--parse), find files on the search path
// (--find-file), or instantiate derivations and print their .drv paths
// (the default), exactly as Nix's nix-instantiate does.

import { resolve } from 'node:path';
import { parseLegacyArgs } from '../cli/args.js';
import { autoArgsOf, createEvalState, maybePrintStats, parseCommandLineExprs } from '../cli/eval-setup.js';
import { messagesFor, type CommandContext } from '../cli/run-command.js';
import { showHelp, showVersion } from '../cli/help.js';
import { localStoreOptions } from '../cli/store-options.js';
import type { Expr } from '../eval/ast.js';
import { EvalError } from '../eval/errors.js';
import type { EvalState } from '../eval/eval-state.js';
import { getDerivations } from '../eval/get-derivations.js';
import { printAmbiguous } from '../eval/print-value.js';
import { showExpr } from '../eval/show-expr.js';
import { printValueAsJson } from '../eval/builtins/json.js';
import { printValueAsXml } from '../eval/builtins/xml.js';
import type { NixAttrs } from '../eval/values.js';
import { addPermRoot } from '../store/local/gc-roots.js';
import { LocalStore } from '../store/local/local-store.js';
import { openStoreForEval } from '../store/local/open-store.js';
import type { Store } from '../store/store-api.js';

type OutputKind = 'plain' | 'raw' | 'xml' | 'json';

interface Options {
  files: string[];
  readStdin: boolean;
  fromArgs: boolean;
  findFile: boolean;
  evalOnly: boolean;
  parseOnly: boolean;
  output: OutputKind;
  xmlLocation: boolean;
  strict: boolean;
  attrPaths: string[];
  wantsReadWrite: boolean;
  dryRun: boolean;
  gcRoot?: string;
  /** --no-gc-warning */
  noGcWarning: boolean;
}

export async function main(argv: string[], ctx: CommandContext): Promise<number> {
  const o: Options = {
    files: [],
    readStdin: false,
    fromArgs: false,
    findFile: false,
    evalOnly: false,
    parseOnly: false,
    output: 'plain',
    xmlLocation: true,
    strict: false,
    attrPaths: [],
    wantsReadWrite: false,
    dryRun: false,
    noGcWarning: false,
  };
  const common = parseLegacyArgs(argv, ctx.settings, (arg, cursor, positional) => {
    if (positional && arg !== '-') {
      o.files.push(arg);
      return true;
    }
    switch (arg) {
      case '-':
        o.readStdin = true;
        return true;
      case '--expr':
      case '-E':
        o.fromArgs = true;
        return true;
      case '--eval':
      case '--eval-only':
        o.evalOnly = true;
        return true;
      case '--read-write-mode':
        o.wantsReadWrite = true;
        return true;
      case '--parse':
      case '--parse-only':
        o.parseOnly = o.evalOnly = true;
        return true;
      case '--find-file':
        o.findFile = true;
        return true;
      case '--attr':
      case '-A':
        o.attrPaths.push(cursor.value(arg));
        return true;
      case '--add-root':
        o.gcRoot = cursor.value(arg);
        return true;
      case '--indirect':
        return true;
      case '--raw':
        o.output = 'raw';
        return true;
      case '--xml':
        o.output = 'xml';
        return true;
      case '--json':
        o.output = 'json';
        return true;
      case '--no-location':
        o.xmlLocation = false;
        return true;
      case '--strict':
        o.strict = true;
        return true;
      case '--dry-run':
        o.dryRun = true;
        return true;
    }
    return false;
  });

  if (common.info === '--help') return showHelp('instantiate');
  if (common.info === '--version') return showVersion(ctx);

  const readOnly = (o.evalOnly && !o.wantsReadWrite) || o.dryRun || common.readonlyMode;
  const store = openStoreForEval({
    uri: ctx.settings.isSet('store') ? ctx.settings.getString('store') : undefined,
    readOnly,
    warn: messagesFor(ctx, common.verbosity).warn,
    localStore: localStoreOptions(ctx.settings),
  });
  const state = createEvalState(common, store);
  const autoArgs = autoArgsOf(state, common);
  o.noGcWarning = common.noGcWarning;
  if (o.attrPaths.length === 0) o.attrPaths = [''];

  if (o.findFile) {
    for (const f of o.files) ctx.stdout.write(state.findFile(state.lookupPath, f, undefined) + '\n');
    return 0;
  }

  if (!o.readStdin && o.files.length === 0 && !o.fromArgs) o.files.push('./default.nix');
  const exprs = parseCommandLineExprs(state, o);
  let rootNr = 0;
  for (const e of exprs) rootNr = processExpr(state, store, e, o, autoArgs, ctx, rootNr);
  maybePrintStats(state);
  return 0;
}

function processExpr(
  state: EvalState,
  store: Store,
  e: Expr,
  o: Options,
  autoArgs: NixAttrs,
  ctx: CommandContext,
  rootNr: number,
): number {
  if (o.parseOnly) {
    // Nix resolves variables right after parsing, so --parse reports undefined ones too.
    state.compiler.compile(e, state.baseScope);
    ctx.stdout.write(showExpr(e) + '\n');
    return rootNr;
  }
  const vRoot = state.evalExpr(e);
  for (const attrPath of o.attrPaths) {
    const v = state.findAlongAttrPath(vRoot, attrPath, autoArgs);
    const context = new Set<string>();
    if (o.evalOnly) {
      const vRes = autoArgs.size === 0 ? v : state.autoCallFunction(v, autoArgs);
      switch (o.output) {
        case 'raw':
          ctx.stdout.write(state.coerceToString(vRes, undefined, 'while generating the nix-instantiate output', context));
          break;
        case 'xml':
          ctx.stdout.write(printValueAsXml(state, vRes, { strict: o.strict, location: o.xmlLocation }, context));
          break;
        case 'json':
          ctx.stdout.write(printValueAsJson(state, o.strict, vRes, undefined, context) + '\n');
          break;
        default:
          if (o.strict) state.forceValueDeep(vRes);
          ctx.stdout.write(printAmbiguous(vRes) + '\n');
      }
    } else {
      for (const drv of getDerivations(state, v, '', autoArgs)) {
        let drvPath = drv.requireDrvPath();
        const outputName = drv.queryOutputName();
        if (outputName === '') throw new EvalError(`derivation '${drvPath}' lacks an 'outputName' attribute`);
        if (o.gcRoot === undefined) {
          // Nix warns in read-only mode and with --dry-run too.
          if (!o.noGcWarning) printGcWarning(ctx);
        } else {
          let rootName = resolve(o.gcRoot);
          if (++rootNr > 1) rootName += `-${rootNr}`;
          drvPath = addRoot(store, drvPath, rootName);
        }
        ctx.stdout.write(`${drvPath}${outputName !== 'out' ? `!${outputName}` : ''}\n`);
      }
    }
  }
  return rootNr;
}

let gcWarningPrinted = false;
function printGcWarning(ctx: CommandContext): void {
  if (gcWarningPrinted) return;
  gcWarningPrinted = true;
  ctx.stderr.write(
    'warning: you did not specify \'--add-root\'; the result might be removed by the garbage collector\n',
  );
}

/** --add-root: a symlink to the path, registered as an indirect GC root. Returns the link's path. */
function addRoot(store: Store, storePath: string, rootName: string): string {
  if (!(store instanceof LocalStore)) throw new EvalError('cannot add a garbage collector root to a read-only store');
  return addPermRoot(store, storePath, rootName);
}
