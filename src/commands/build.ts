// nix-build: evaluate, build what is missing, create result links, print
// the output paths. Arguments are Nix's: files (default ./default.nix) or
// -E expressions, -A attribute paths, --arg/--argstr, -o/--out-link,
// --no-out-link, --dry-run, --check, and the common build flags (-j, -k,
// -K, -Q, --cores, --max-silent-time, --timeout, --option ...). A store
// derivation given as a file is built directly.

import path from 'node:path';
import { NixError, UsageError } from '../eval/errors.js';
import { parseLegacyArgs } from '../cli/args.js';
import { localStoreOptions } from '../cli/store-options.js';
import { messagesFor, type CommandContext } from '../cli/run-command.js';
import { openLocalStore } from '../store/local/open-store.js';
import type { LocalStore } from '../store/local/local-store.js';
import { derivationOutputPath, readDerivation, type Derivation } from '../store/derivation.js';
import { isDerivationPath, isStorePath } from '../store/store-path.js';
import { missingLines, queryMissing, realisePaths, resultLinkName, type BuildTarget } from '../build/realise.js';
import { BuildProgress, formatError } from '../build/progress.js';
import { JsonBuildProgress } from '../build/json-log.js';
import { addResultLink } from '../build/result-links.js';
import type { DrvInfo } from '../build/eval-derivations.js';
import { showHelp, showVersion } from '../cli/help.js';
import { realPath } from '../byte-fs.js';

interface BuildArgs {
  outLink: string;
  noOutLink: boolean;
  attrPaths: string[];
  files: string[];
  fromArgs: boolean;
  readStdin: boolean;
  dryRun: boolean;
  check: boolean;
  printBuildLogs: boolean;
}

function readDerivationOf(store: LocalStore, cache: Map<string, Derivation>) {
  return (drvPath: string): Derivation => {
    let drv = cache.get(drvPath);
    if (!drv) {
      drv = readDerivation(store, drvPath);
      cache.set(drvPath, drv);
    }
    return drv;
  };
}

/** `path!output` as given on the command line. */
function splitOutputs(arg: string): { path: string; outputs: string[] } {
  const bang = arg.indexOf('!');
  if (bang < 0) return { path: arg, outputs: [] };
  return { path: arg.slice(0, bang), outputs: arg.slice(bang + 1).split(',').filter((o) => o !== '') };
}

/** A store derivation named on the command line, as Nix's DrvInfo(store, "path!output"). */
function drvInfoFromPath(store: LocalStore, arg: string, read: (p: string) => Derivation): DrvInfo {
  const { path: drvPath, outputs } = splitOutputs(arg);
  if (outputs.length > 1) throw new NixError(`building more than one derivation output is not supported, in '${arg}'`);
  if (!store.isValidPath(drvPath)) throw new NixError(`path '${drvPath}' is not valid`);
  const drv = read(drvPath);
  const outputName = outputs[0] ?? drv.env.get('outputName') ?? 'out';
  if (!drv.outputs.has(outputName)) throw new NixError(`derivation '${drvPath}' does not have output '${outputName}'`);
  return { drvPath, outputName };
}

export async function main(argv: string[], ctx: CommandContext): Promise<number> {
  const a: BuildArgs = {
    outLink: './result',
    noOutLink: false,
    attrPaths: [],
    files: [],
    fromArgs: false,
    readStdin: false,
    dryRun: false,
    check: false,
    printBuildLogs: false,
  };
  const common = parseLegacyArgs(argv, ctx.settings, (arg, cursor, positional) => {
    if (positional) {
      if (arg === '-') a.readStdin = true;
      else a.files.push(arg);
      return true;
    }
    switch (arg) {
      case '--no-out-link':
      case '--no-link':
        a.noOutLink = true;
        return true;
      case '--attr':
      case '-A':
        a.attrPaths.push(cursor.value(arg));
        return true;
      case '--out-link':
      case '-o':
        // The later of -o and --no-out-link wins, as in Nix.
        a.outLink = cursor.value(arg);
        a.noOutLink = false;
        return true;
      case '--add-root':
      case '--drv-link':
        cursor.value(arg); // obsolete in Nix too
        return true;
      case '--add-drv-link':
      case '--indirect':
        return true;
      case '--dry-run':
        a.dryRun = true;
        return true;
      case '--check':
        a.check = true;
        return true;
      case '--expr':
      case '-E':
        a.fromArgs = true;
        return true;
      case '--print-build-logs':
      case '-L':
        a.printBuildLogs = true;
        return true;
    }
    return false;
  });

  if (common.info === '--help') return showHelp('build');
  if (common.info === '--version') return showVersion(ctx);

  const settings = ctx.settings;
  const messages = messagesFor(ctx, common.verbosity);
  const json = messages.json;
  const store = openLocalStore({
    uri: settings.isSet('store') ? settings.getString('store') : undefined,
    warn: messages.warn,
    localStore: localStoreOptions(settings),
  });
  try {
    const drvCache = new Map<string, Derivation>();
    const read = readDerivationOf(store, drvCache);

    // Store derivations named as files are built as they are; everything else is evaluated.
    const drvs: DrvInfo[] = [];
    const exprFiles: string[] = [];
    const files = a.files.length === 0 && !a.fromArgs && !a.readStdin ? ['default.nix'] : a.files;
    for (const f of files) {
      if (!a.fromArgs) {
        let absolute = path.resolve(f);
        try {
          absolute = realPath(splitOutputs(absolute).path) + (f.includes('!') ? f.slice(f.indexOf('!')) : '');
        } catch {
          // keep the plain absolute path
        }
        const p = splitOutputs(absolute).path;
        if (isStorePath(p, store.storeDir) && isDerivationPath(p)) {
          drvs.push(drvInfoFromPath(store, absolute, read));
          continue;
        }
      }
      exprFiles.push(f);
    }
    if (exprFiles.length > 0 || a.readStdin) {
      // The evaluator is loaded only when there is something to evaluate.
      const { evaluateDerivations } = await import('../build/eval-derivations.js');
      drvs.push(...(await evaluateDerivations({
        store,
        settings,
        common,
        files: exprFiles,
        fromArgs: a.fromArgs,
        readStdin: a.readStdin,
        attrPaths: a.attrPaths.length > 0 ? a.attrPaths : [''],
      })));
    }

    // One target per derivation, numbered in order of first appearance (result, result-2, ...).
    const drvIndex = new Map<string, number>();
    const wanted = new Map<string, Set<string>>();
    for (const d of drvs) {
      if (!drvIndex.has(d.drvPath)) drvIndex.set(d.drvPath, drvIndex.size);
      if (!wanted.has(d.drvPath)) wanted.set(d.drvPath, new Set());
      wanted.get(d.drvPath)!.add(d.outputName);
    }
    const targets: BuildTarget[] = drvs.map((d) => ({ drvPath: d.drvPath, outputs: new Set([d.outputName]) }));

    const missing = queryMissing(store, targets, read);
    if (settings.getBool('print-missing') && common.verbosity >= (a.dryRun ? 0 : 3)) {
      for (const line of missingLines(missing, read)) {
        if (json) json.msg(3, line);
        else ctx.stderr.write(line + '\n');
      }
    }
    if (a.dryRun) return 0;

    const display = {
      showLogs: !common.noBuildOutput || a.printBuildLogs,
      expected: missing.willBuild.size,
      verbosity: common.verbosity,
    };
    const progress = json ? new JsonBuildProgress(json, display) : new BuildProgress(ctx.stderr, display);
    const result = await realisePaths(store, targets, {
      settings,
      events: progress,
      noBuildOutput: common.noBuildOutput && !a.printBuildLogs,
      check: a.check,
      repair: common.repair,
    });
    progress.finish();
    if (result.status !== 0) {
      for (const e of result.errors) {
        if (json) json.error(e);
        else ctx.stderr.write(formatError(e) + '\n');
      }
      return result.status;
    }

    const outPaths: string[] = [];
    for (const d of drvs) {
      const outPath = derivationOutputPath(read(d.drvPath), d.outputName, store.storeDir);
      if (!outPath) throw new NixError(`cannot determine the path of output '${d.outputName}' of '${d.drvPath}'`);
      if (!a.noOutLink) addResultLink(store, outPath, path.resolve(resultLinkName(a.outLink, drvIndex.get(d.drvPath)!, d.outputName)));
      outPaths.push(outPath);
    }
    for (const p of outPaths) ctx.stdout.write(p + '\n');
    return 0;
  } finally {
    store.close();
  }
}
