// nix-store: parses the classic command line (one operation, its flags,
// its arguments), opens the store and runs the operation. The store logic
// lives in src/store/; this file only dispatches and prints.

import fs from 'node:fs';
import { writeAllFd } from '../cli/fd-output.js';
import { localStoreOptions } from '../cli/store-options.js';
import path from 'node:path';
import { NixError, UsageError } from '../eval/errors.js';
import { parseLegacyArgs, type CommonArgs } from '../cli/args.js';
import { ExitError, errorLogger, messagesFor, writeError, type CommandContext } from '../cli/run-command.js';
import { parseHashAlgo, parseHashAny, parseHashAnyPrefixed, printHash, hashEquals } from '../store/hash.js';
import { FdSource, hashPath, restorePath } from '../store/nar.js';
import { dumpPathParallel } from '../store/nar-parallel.js';
import { makeFixedOutputPath, isDerivationPath, parseStorePath } from '../store/store-path.js';
import type { FileIngestionMethod } from '../store/store-api.js';
import { writeExport } from '../store/export-format.js';
import { derivationOutputPath, type Derivation } from '../store/derivation.js';
import { compareBytewise } from '../sort-strings.js';
// Building, collecting and help load on demand: most invocations are queries
// and start-up time is part of every one.
import type { BuildTarget } from '../build/realise.js';
import type { LocalStore } from '../store/local/local-store.js';
import { openLocalStore } from '../store/local/open-store.js';
import { CREATING, nixSysError } from '../sys-error.js';
import { addPermRoot } from '../store/local/gc-roots.js';
import { computeFSClosure, requireInfo, topoSortPaths } from '../store/query/closure.js';
import { printTree } from '../store/query/tree.js';
import { printDotGraph, printGraphML } from '../store/query/graph.js';
import { writeText } from '../byte-fs.js';
import {
  baseNameOf,
  followLinksToStorePath,
  maybeUseOutputs,
  parseValidityRegistrations,
  printEnv,
  printSortedPaths,
  readStoreDerivation,
  validityRegistration,
} from '../store/query/store-ops.js';

type Operation =
  | 'realise' | 'add' | 'add-fixed' | 'print-fixed-path' | 'delete' | 'query' | 'print-env' | 'read-log'
  | 'dump-db' | 'load-db' | 'register-validity' | 'check-validity' | 'gc' | 'dump' | 'restore' | 'export'
  | 'import' | 'init' | 'verify' | 'verify-path' | 'repair-path' | 'optimise' | 'serve'
  | 'generate-binary-cache-key' | 'version' | 'help';

const OPERATIONS: Record<string, Operation> = {
  '--realise': 'realise', '--realize': 'realise', '-r': 'realise',
  '--add': 'add', '-A': 'add',
  '--add-fixed': 'add-fixed',
  '--print-fixed-path': 'print-fixed-path',
  '--delete': 'delete',
  '--query': 'query', '-q': 'query',
  '--print-env': 'print-env',
  '--read-log': 'read-log', '-l': 'read-log',
  '--dump-db': 'dump-db',
  '--load-db': 'load-db',
  '--register-validity': 'register-validity',
  '--check-validity': 'check-validity',
  '--gc': 'gc',
  '--dump': 'dump',
  '--restore': 'restore',
  '--export': 'export',
  '--import': 'import',
  '--init': 'init',
  '--verify': 'verify',
  '--verify-path': 'verify-path',
  '--repair-path': 'repair-path',
  '--optimise': 'optimise', '--optimize': 'optimise',
  '--serve': 'serve',
  '--generate-binary-cache-key': 'generate-binary-cache-key',
};

interface Invocation {
  op: Operation;
  opFlags: string[];
  opArgs: string[];
  gcRoot: string;
  noOutput: boolean;
  common: CommonArgs;
}

function parse(argv: string[], ctx: CommandContext): Invocation {
  let op: Operation | undefined;
  const opFlags: string[] = [];
  const opArgs: string[] = [];
  let gcRoot = '';
  let noOutput = false;
  const common = parseLegacyArgs(argv, ctx.settings, (arg, cursor, positional) => {
    if (positional) {
      opArgs.push(arg);
      return true;
    }
    const newOp = OPERATIONS[arg];
    if (newOp) {
      if (op && op !== newOp) throw new UsageError('only one operation may be specified');
      op = newOp;
      return true;
    }
    if (arg === '--add-root') {
      gcRoot = path.resolve(cursor.value(arg));
      return true;
    }
    if (arg === '--indirect') return true;
    if (arg === '--no-output') {
      noOutput = true;
      return true;
    }
    opFlags.push(arg);
    // Flags of operations that take a value.
    if (arg === '--max-freed' || arg === '--max-links' || arg === '--max-atime') opFlags.push(cursor.value(arg));
    return true;
  });
  // --help or --version is answered whatever else the line holds.
  if (common.info) return { op: common.info === '--help' ? 'help' : 'version', opFlags: [], opArgs: [], gcRoot: '', noOutput: false, common };
  if (!op) throw new UsageError('no operation specified');
  return { op, opFlags, opArgs, gcRoot, noOutput, common };
}

/** A `path` or `drv!out1,out2` argument to build; `!*` (as in current Nix) and no `!` mean every output. */
function buildTargetOf(arg: string, storePathOf: (s: string) => string): BuildTarget {
  const bang = arg.indexOf('!');
  const p = storePathOf(bang >= 0 ? arg.slice(0, bang) : arg);
  if (!isDerivationPath(p)) return { path: p };
  const spec = bang >= 0 ? arg.slice(bang + 1) : '*';
  return { drvPath: p, outputs: new Set(spec === '*' ? [] : spec.split(',').filter((o) => o !== '')) };
}

function noFlags(inv: Invocation, message = 'unknown flag'): void {
  if (inv.opFlags.length > 0) throw new UsageError(message);
}

function unknownFlags(inv: Invocation, known: string[]): void {
  for (const f of inv.opFlags) if (!known.includes(f)) throw new UsageError(`unknown flag '${f}'`);
}

export async function main(argv: string[], ctx: CommandContext): Promise<number> {
  try {
    return await run(argv, ctx);
  } catch (e) {
    throw nixSysError(e) ?? e;
  }
}

async function run(argv: string[], ctx: CommandContext): Promise<number> {
  const inv = parse(argv, ctx);
  const out = (s: string): void => {
    ctx.stdout.write(s);
  };
  const { info, printError, warn } = messagesFor(ctx, inv.common.verbosity);

  // --dump and --restore work on plain files and need no store.
  if (inv.op === 'dump') {
    noFlags(inv);
    if (inv.opArgs.length !== 1) throw new UsageError('only one argument allowed');
    // Nothing in tsnix touches process.stdout, so a pipe on fd 1 stays
    // blocking and these synchronous writes do not meet EAGAIN.
    dumpPathParallel(inv.opArgs[0]!, (chunk) => writeAllFd(1, chunk));
    return 0;
  }
  if (inv.op === 'restore') {
    noFlags(inv);
    if (inv.opArgs.length !== 1) throw new UsageError('only one argument allowed');
    try {
      restorePath(inv.opArgs[0]!, new FdSource(0));
    } catch (e) {
      throw nixSysError(e, CREATING) ?? e;
    }
    return 0;
  }
  if (inv.op === 'version') return (await import('../cli/help.js')).showVersion(ctx);
  if (inv.op === 'help') return (await import('../cli/help.js')).showHelp('store');
  if (inv.op === 'print-fixed-path') {
    return opPrintFixedPath(inv, out);
  }

  const storeUri = ctx.settings.isSet('store') ? ctx.settings.getString('store') : undefined;
  const store = openLocalStore({ uri: storeUri, warn, localStore: localStoreOptions(ctx.settings) });
  const gcIO = { out, info, warn, settings: ctx.settings };
  try {
    switch (inv.op) {
      case 'add': {
        noFlags(inv);
        for (const arg of inv.opArgs) {
          const p = store.addPathToStore(baseNameOf(arg), path.resolve(arg), { method: 'recursive', hashAlgo: 'sha256' });
          out(`${p}\n`);
        }
        return 0;
      }
      case 'add-fixed': {
        let method: FileIngestionMethod = 'flat';
        for (const f of inv.opFlags) {
          if (f === '--recursive') method = 'recursive';
          else throw new UsageError(`unknown flag '${f}'`);
        }
        if (inv.opArgs.length === 0) throw new UsageError('first argument must be hash algorithm');
        const algo = parseHashAlgo(inv.opArgs[0]!);
        for (const arg of inv.opArgs.slice(1)) {
          out(`${store.addPathToStore(baseNameOf(arg), path.resolve(arg), { method, hashAlgo: algo })}\n`);
        }
        return 0;
      }
      case 'query':
        return await opQuery(store, inv, ctx, out, warn);
      case 'realise':
        return await opRealise(store, inv, ctx, out, warn);
      case 'print-env': {
        noFlags(inv);
        if (inv.opArgs.length !== 1) throw new UsageError("'--print-env' requires one derivation store path");
        const drvPath = parseStorePath(inv.opArgs[0]!, store.storeDir).path;
        out(printEnv(readStoreDerivation(store, drvPath)));
        return 0;
      }
      case 'read-log': {
        noFlags(inv);
        for (const arg of inv.opArgs) {
          ctx.stdout.write(await readLog(store, followLinksToStorePath(store, arg)));
        }
        return 0;
      }
      case 'dump-db': {
        noFlags(inv);
        const paths = inv.opArgs.length > 0 ? inv.opArgs.map((a) => followLinksToStorePath(store, a)) : store.queryAllValidPaths();
        for (const p of paths) out(validityRegistration(requireInfo(store, p)));
        return 0;
      }
      case 'load-db': {
        noFlags(inv);
        if (inv.opArgs.length > 0) throw new UsageError('no arguments expected');
        store.registerValidPaths(parseValidityRegistrations(fs.readFileSync(0, 'utf8'), true));
        return 0;
      }
      case 'register-validity':
        return opRegisterValidity(store, inv);
      case 'check-validity': {
        unknownFlags(inv, ['--print-invalid']);
        const printInvalid = inv.opFlags.includes('--print-invalid');
        for (const arg of inv.opArgs) {
          const p = followLinksToStorePath(store, arg);
          if (!store.isValidPath(p)) {
            if (printInvalid) out(`${p}\n`);
            else throw new NixError(`path '${p}' is not valid`);
          }
        }
        return 0;
      }
      case 'delete':
        return await (await import('../store/gc/operations.js')).opDelete(store, inv.opFlags, inv.opArgs.map((a) => followLinksToStorePath(store, a)), gcIO);
      case 'gc':
        return await (await import('../store/gc/operations.js')).opGC(store, inv.opFlags, inv.opArgs, gcIO);
      case 'optimise':
        return await (await import('../store/gc/operations.js')).opOptimise(store, inv.opFlags, inv.opArgs, gcIO);
      case 'export': {
        unknownFlags(inv, []);
        const paths = new Set(inv.opArgs.map((a) => followLinksToStorePath(store, a)));
        // Nix's buffered output means an invalid path yields an error and no bytes.
        for (const p of paths) requireInfo(store, p);
        // As for --dump: fd 1 stays blocking when process.stdout is untouched.
        writeExport(store, topoSortPaths(store, paths).reverse(), (chunk) => writeAllFd(1, chunk));
        return 0;
      }
      case 'import': {
        unknownFlags(inv, []);
        if (inv.opArgs.length > 0) throw new UsageError('no arguments expected');
        for (const p of store.importPaths(new FdSource(0))) out(`${p}\n`);
        return 0;
      }
      case 'init':
        noFlags(inv);
        if (inv.opArgs.length > 0) throw new UsageError('no arguments expected');
        return 0;
      case 'verify': {
        if (inv.opArgs.length > 0) throw new UsageError('no arguments expected');
        unknownFlags(inv, ['--check-contents']);
        const report = store.verifyStore(inv.opFlags.includes('--check-contents'), inv.common.repair, (level, m) => {
          if (level === 'info') info(m);
          else if (level === 'warn') warn(m);
          else printError(m);
        });
        for (const p of report.toRepair) {
          // As Nix: a path that cannot be repaired is one more error, not the end.
          try {
            if ((await repairPath(store, p, inv, ctx)) !== 0) report.errors = true;
          } catch (e) {
            if (!(e instanceof NixError)) throw e;
            printError(`error: ${e.message}`);
            report.errors = true;
          }
        }
        if (report.errors) {
          warn('not all store errors were fixed');
          throw new ExitError(1);
        }
        return 0;
      }
      case 'repair-path': {
        noFlags(inv, 'no flags expected');
        for (const arg of inv.opArgs) {
          const status = await repairPath(store, followLinksToStorePath(store, arg), inv, ctx);
          if (status !== 0) return status;
        }
        return 0;
      }
      case 'verify-path': {
        noFlags(inv, 'no flags expected');
        let status = 0;
        for (const arg of inv.opArgs) {
          const p = followLinksToStorePath(store, arg);
          const pathInfo = requireInfo(store, p);
          const expected = parseHashAnyPrefixed(pathInfo.narHash);
          const current = hashPath(expected.algo, store.toRealPath(p)).hash;
          if (!hashEquals(expected, current)) {
            printError(`path '${p}' was modified! expected hash '${printHash(expected, 'base32', true)}', got '${printHash(current, 'base32', true)}'`);
            status = 1;
          }
        }
        return status;
      }
      case 'serve': {
        unknownFlags(inv, ['--write']);
        if (inv.opArgs.length > 0) throw new UsageError('no arguments expected');
        const { serve } = await import('../store/local/serve.js');
        const pending: Buffer[] = [];
        await serve(store, {
          input: new FdSource(0),
          write: (data) => pending.push(data),
          flush: () => {
            if (pending.length > 0) writeAllFd(1, Buffer.concat(pending.splice(0)));
          },
        }, {
          writeAllowed: inv.opFlags.includes('--write'),
          buildPaths: async (paths) => {
            const targets = paths.map((arg) => buildTargetOf(arg, (p) => parseStorePath(p, store.storeDir).path));
            const result = await build(store, targets, 0, inv, ctx);
            return { status: result.status, message: result.errors.join('\n') };
          },
        });
        return 0;
      }
      case 'generate-binary-cache-key':
        unknownFlags(inv, []);
        if (inv.opArgs.length !== 3) throw new UsageError('three arguments expected');
        await generateBinaryCacheKey(inv.opArgs[0]!, inv.opArgs[1]!, inv.opArgs[2]!);
        return 0;
      default:
        throw new NixError(`nix-store --${inv.op} is not implemented yet in tsnix`);
    }
  } finally {
    store.close();
  }
}

function opPrintFixedPath(inv: Invocation, out: (s: string) => void): number {
  let method: FileIngestionMethod = 'flat';
  for (const f of inv.opFlags) {
    if (f === '--recursive') method = 'recursive';
    else throw new UsageError(`unknown flag '${f}'`);
  }
  if (inv.opArgs.length !== 3) throw new UsageError("'--print-fixed-path' requires three arguments");
  const [algoName, hash, name] = inv.opArgs as [string, string, string];
  const algo = parseHashAlgo(algoName);
  const storeDir = process.env.NIX_STORE_DIR ?? process.env.NIX_STORE ?? '/nix/store';
  out(`${makeFixedOutputPath(method, parseHashAny(hash, algo), name, storeDir)}\n`);
  return 0;
}

type QueryType =
  | 'outputs' | 'requisites' | 'references' | 'referrers' | 'referrers-closure' | 'deriver' | 'binding'
  | 'hash' | 'size' | 'tree' | 'graph' | 'graphml' | 'resolve' | 'roots' | 'valid-derivers';

const QUERY_FLAGS: Record<string, QueryType> = {
  '--outputs': 'outputs',
  '--requisites': 'requisites', '-R': 'requisites',
  '--references': 'references',
  '--referrers': 'referrers', '--referers': 'referrers',
  '--referrers-closure': 'referrers-closure', '--referers-closure': 'referrers-closure',
  '--deriver': 'deriver', '-d': 'deriver',
  '--binding': 'binding', '-b': 'binding',
  '--hash': 'hash',
  '--size': 'size',
  '--tree': 'tree',
  '--graph': 'graph',
  '--graphml': 'graphml',
  '--resolve': 'resolve',
  '--roots': 'roots',
  '--valid-derivers': 'valid-derivers',
};

async function opQuery(store: LocalStore, inv: Invocation, ctx: CommandContext, out: (s: string) => void, warn: (s: string) => void): Promise<number> {
  let query: QueryType | undefined;
  let useOutput = false;
  let includeOutputs = false;
  let forceRealise = false;
  let bindingName = '';
  const args = [...inv.opArgs];
  for (const f of inv.opFlags) {
    const prev = query;
    const q = QUERY_FLAGS[f];
    if (q) {
      query = q;
      if (q === 'binding') {
        if (args.length === 0) throw new UsageError('expected binding name');
        bindingName = args.shift()!;
      }
    } else if (f === '--use-output' || f === '-u') useOutput = true;
    else if (f === '--force-realise' || f === '--force-realize' || f === '-f') forceRealise = true;
    else if (f === '--include-outputs') includeOutputs = true;
    else throw new UsageError(`unknown flag '${f}'`);
    if (prev !== undefined && prev !== query) throw new UsageError(`query type '${f}' conflicts with earlier flag`);
  }
  query ??= 'outputs';
  const follow = (a: string) => followLinksToStorePath(store, a);
  // -f builds the arguments first, for the queries that look at outputs (as Nix's maybeUseOutputs).
  if (forceRealise && !['deriver', 'binding', 'tree', 'resolve', 'valid-derivers'].includes(query)) {
    const targets: BuildTarget[] = args.map((a) => {
      const p = follow(a);
      return isDerivationPath(p) ? { drvPath: p, outputs: new Set<string>() } : { path: p };
    });
    const { queryMissing } = await import('../build/realise.js');
    const missing = queryMissing(store, targets, (d) => readStoreDerivation(store, d));
    const status = await buildReporting(store, targets, missing.willBuild.size, inv, ctx);
    if (status !== 0) throw new ExitError(status);
    if (!inv.common.noGcWarning && inv.gcRoot === '') warn("you did not specify '--add-root'; the result might be removed by the garbage collector");
  }

  switch (query) {
    case 'outputs':
      for (const a of args) for (const p of maybeUseOutputs(store, follow(a), true)) out(`${p}\n`);
      return 0;
    case 'requisites':
    case 'references':
    case 'referrers':
    case 'referrers-closure': {
      const paths = new Set<string>();
      for (const a of args) {
        for (const j of maybeUseOutputs(store, follow(a), useOutput)) {
          if (query === 'requisites') for (const p of computeFSClosure(store, [j], { includeOutputs })) paths.add(p);
          else if (query === 'references') for (const p of requireInfo(store, j).references) paths.add(p);
          else if (query === 'referrers') for (const p of store.queryReferrers(j)) paths.add(p);
          else for (const p of computeFSClosure(store, [j], { flipDirection: true })) paths.add(p);
        }
      }
      out(printSortedPaths(store, paths));
      return 0;
    }
    case 'deriver':
      for (const a of args) out(`${requireInfo(store, follow(a)).deriver ?? 'unknown-deriver'}\n`);
      return 0;
    case 'valid-derivers':
      for (const a of args) for (const d of store.queryValidDerivers(follow(a))) out(`${d}\n`);
      return 0;
    case 'binding':
      for (const a of args) {
        let p = follow(a);
        if (!isDerivationPath(p)) {
          const deriver = requireInfo(store, p).deriver;
          if (!deriver) throw new NixError(`deriver of path '${p}' is not known`);
          p = deriver;
        }
        const value = readStoreDerivation(store, p).env.get(bindingName);
        if (value === undefined) throw new NixError(`derivation '${p}' has no environment binding named '${bindingName}'`);
        out(`${value}\n`);
      }
      return 0;
    case 'hash':
    case 'size':
      for (const a of args) {
        for (const j of maybeUseOutputs(store, follow(a), useOutput)) {
          const pathInfo = requireInfo(store, j);
          out(query === 'hash' ? `${printHash(parseHashAnyPrefixed(pathInfo.narHash), 'base32', true)}\n` : `${pathInfo.narSize}\n`);
        }
      }
      return 0;
    case 'tree':
      out(printTree(store, args.map(follow)));
      return 0;
    case 'graph':
    case 'graphml': {
      const roots = new Set<string>();
      for (const a of args) for (const j of maybeUseOutputs(store, follow(a), useOutput)) roots.add(j);
      out(query === 'graph' ? printDotGraph(store, roots) : printGraphML(store, roots));
      return 0;
    }
    case 'resolve':
      for (const a of args) out(`${follow(a)}\n`);
      return 0;
    case 'roots': {
      const starts = new Set<string>();
      for (const a of args) for (const j of maybeUseOutputs(store, follow(a), useOutput)) starts.add(j);
      const referrers = computeFSClosure(store, starts, {
        flipDirection: true,
        includeOutputs: ctx.settings.getBool('keep-outputs'),
        includeDerivers: ctx.settings.getBool('keep-derivations'),
      });
      const lines: string[] = [];
      const { findAllRoots } = await import('../store/gc/collect.js');
      for (const [target, links] of findAllRoots(store, { censor: false })) {
        if (referrers.has(target)) for (const link of links) lines.push(`${link} -> ${target}\n`);
      }
      out(lines.sort().join(''));
      return 0;
    }
  }
}

/** The build log of a derivation, or of the deriver of an output (Nix's getBuildLog). */
async function readLog(store: LocalStore, storePath: string): Promise<Buffer> {
  const { readBuildLog } = await import('../build/build-log.js');
  let drvPath = storePath;
  if (!isDerivationPath(drvPath)) {
    const deriver = store.queryPathInfo(drvPath)?.deriver;
    if (!deriver) throw new NixError(`build log of derivation '${storePath}' is not available`);
    drvPath = deriver;
  }
  const log = readBuildLog(store.logDir, drvPath);
  if (log === undefined) throw new NixError(`build log of derivation '${drvPath}' is not available`);
  return log;
}

function opRegisterValidity(store: LocalStore, inv: Invocation): number {
  unknownFlags(inv, ['--reregister', '--hash-given']);
  if (inv.opArgs.length > 0) throw new UsageError('no arguments expected');
  const reregister = inv.opFlags.includes('--reregister');
  const hashGiven = inv.opFlags.includes('--hash-given');
  const infos = parseValidityRegistrations(fs.readFileSync(0, 'utf8'), hashGiven)
    .filter((i) => reregister || !store.isValidPath(i.path))
    .map((i) => {
      if (hashGiven) return i;
      const { hash, size } = hashPath('sha256', store.toRealPath(i.path));
      return { ...i, narHash: printHash(hash, 'base32', true), narSize: size };
    });
  store.registerValidPaths(infos);
  return 0;
}

/**
 * Nix's repairPath: with no substituter to fetch a good copy from, the
 * path's deriver is built again in repair mode, which replaces whichever of
 * its outputs are corrupted or missing. A path without a valid deriver
 * cannot be repaired.
 */
async function repairPath(store: LocalStore, storePath: string, inv: Invocation, ctx: CommandContext): Promise<number> {
  const deriver = requireInfo(store, storePath).deriver;
  if (deriver === undefined || !store.isValidPath(deriver)) throw new NixError(`cannot repair path '${storePath}'`);
  return buildReporting(store, [{ drvPath: deriver, outputs: new Set() }], 0, inv, ctx, { repair: true });
}

/** Nix's build modes besides the normal one: --check (compare) and --repair (replace corrupted outputs). */
interface BuildMode {
  check?: boolean;
  repair?: boolean;
}

/** Builds what is missing among targets with progress on stderr; Nix's exit status and the failures' messages. */
async function build(store: LocalStore, targets: BuildTarget[], expected: number, inv: Invocation, ctx: CommandContext, mode: BuildMode = {}): Promise<{ status: number; errors: string[] }> {
  const { BuildProgress } = await import('../build/progress.js');
  const { JsonBuildProgress } = await import('../build/json-log.js');
  const { realisePaths } = await import('../build/realise.js');
  const display = { showLogs: !inv.common.noBuildOutput, expected, verbosity: inv.common.verbosity };
  const json = messagesFor(ctx, inv.common.verbosity).json;
  const progress = json ? new JsonBuildProgress(json, display) : new BuildProgress(ctx.stderr, display);
  const result = await realisePaths(store, targets, {
    settings: ctx.settings,
    events: progress,
    noBuildOutput: inv.common.noBuildOutput,
    ...mode,
  });
  progress.finish();
  return result;
}

/** build(), reporting failures on stderr as `error: ...`. */
async function buildReporting(store: LocalStore, targets: BuildTarget[], expected: number, inv: Invocation, ctx: CommandContext, mode: BuildMode = {}): Promise<number> {
  const { formatError } = await import('../build/progress.js');
  const result = await build(store, targets, expected, inv, ctx, mode);
  const json = errorLogger(ctx.settings);
  for (const e of result.errors) {
    if (json) json.error(e);
    else writeError(`${formatError(e)}\n`);
  }
  return result.status;
}

/**
 * `nix-store --realise`: builds what is missing (through the build worker),
 * then prints each target's outputs, or the GC roots made for them with
 * --add-root (numbered like Nix: ROOT, ROOT-2, ..., with -OUTPUT suffixes).
 */
async function opRealise(store: LocalStore, inv: Invocation, ctx: CommandContext, out: (s: string) => void, warn: (s: string) => void): Promise<number> {
  unknownFlags(inv, ['--dry-run', '--ignore-unknown', '--check']);
  const dryRun = inv.opFlags.includes('--dry-run');
  const ignoreUnknown = inv.opFlags.includes('--ignore-unknown');
  const drvCache = new Map<string, Derivation>();
  const read = (drvPath: string): Derivation => {
    let drv = drvCache.get(drvPath);
    if (!drv) drvCache.set(drvPath, (drv = readStoreDerivation(store, drvPath)));
    return drv;
  };
  let targets = inv.opArgs.map((arg) => buildTargetOf(arg, (p) => followLinksToStorePath(store, p)));

  const { missingLines, queryMissing } = await import('../build/realise.js');
  const missing = queryMissing(store, targets, read);
  if (ignoreUnknown) {
    targets = targets.filter((t) => !missing.unknown.has('drvPath' in t ? t.drvPath : t.path));
    missing.unknown.clear();
  }
  if (ctx.settings.getBool('print-missing')) {
    const { info } = messagesFor(ctx, inv.common.verbosity);
    for (const line of missingLines(missing, read)) info(line);
  }
  if (dryRun) return 0;

  const status = await buildReporting(store, targets, missing.willBuild.size, inv, ctx, { check: inv.opFlags.includes('--check'), repair: inv.common.repair });
  if (status !== 0) return status;
  if (ignoreUnknown) return 0;

  let rootNr = 0;
  let warned = false;
  const rootFor = (p: string, outputName?: string): string => {
    if (inv.gcRoot === '') {
      if (!warned && !inv.common.noGcWarning) warn("you did not specify '--add-root'; the result might be removed by the garbage collector");
      warned = true;
      return p;
    }
    let name = inv.gcRoot;
    if (rootNr > 1) name += `-${rootNr}`;
    if (outputName !== undefined && outputName !== 'out') name += `-${outputName}`;
    return addPermRoot(store, p, name);
  };
  const results: string[] = [];
  for (const t of targets) {
    rootNr++;
    if (!('drvPath' in t)) {
      if (!store.isValidPath(t.path)) throw new NixError(`path '${t.path}' does not exist and cannot be created`);
      results.push(rootFor(t.path));
      continue;
    }
    const drv = read(t.drvPath);
    const names = t.outputs.size === 0 ? [...drv.outputs.keys()] : [...t.outputs];
    const printed = new Set<string>();
    for (const name of names.sort(compareBytewise)) {
      if (!drv.outputs.has(name)) throw new NixError(`derivation '${t.drvPath}' does not have an output named '${name}'`);
      const o = derivationOutputPath(drv, name, store.storeDir);
      if (o === undefined) throw new NixError(`cannot determine the path of output '${name}' of '${t.drvPath}'`);
      printed.add(rootFor(o, name));
    }
    // Nix collects one target's results in a set of strings.
    results.push(...[...printed].sort());
  }
  if (!inv.noOutput) for (const r of results) out(`${r}\n`);
  return 0;
}

/**
 * An ed25519 key pair in Nix's text format: `NAME:base64(seed ‖ public key)`
 * for the secret key (written mode 0600), `NAME:base64(public key)` for the
 * public one.
 */
async function generateBinaryCacheKey(keyName: string, secretKeyFile: string, publicKeyFile: string): Promise<void> {
  const { privateKey, publicKey } = process.getBuiltinModule('node:crypto').generateKeyPairSync('ed25519');
  // The raw keys are the last 32 bytes of their DER encodings.
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32);
  const pub = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  writeText(publicKeyFile, `${keyName}:${pub.toString('base64')}`);
  writeText(secretKeyFile, `${keyName}:${Buffer.concat([seed, pub]).toString('base64')}`, 0o600);
}
