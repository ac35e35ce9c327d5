#!/usr/bin/env node
// Store maintenance benchmarks, tsnix against the reference Nix in the same
// run, on identical copies of one chroot store:
//   1. collecting 10,000 dead paths (chains of references, so the order matters);
//   2. optimising a store of 10,000 files of which half are duplicates.
// Both tools run as fresh processes (start-up included), each on its own copy.
//
//   node scripts/bench-gc.mjs [--paths 10000] [--files 10000] [--runs 3]
//
// tsnix is run from the sources, bundled once with esbuild (no build step).

import { buildSync } from 'esbuild';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const nPaths = opt('--paths', 10_000);
const nFiles = opt('--files', 10_000);
const runs = opt('--runs', 3);

if (spawnSync('nix-store', ['--version']).status !== 0) {
  console.error('bench-gc: the reference nix-store is not on PATH');
  process.exit(1);
}

// The tsnix side: populate, collect and optimise, as one small CLI.
const ENTRY = `
import fs from 'node:fs';
import path from 'node:path';
import { LocalStore } from './src/store/local/local-store.js';
import { resolveStoreConfig } from './src/store/local/store-config.js';
import { collectGarbage, formatFreed } from './src/store/gc/collect.js';
import { optimiseStore, formatOptimiseSummary } from './src/store/optimise.js';
import { hashPath, canonicaliseMetadata } from './src/store/nar.js';
import { printHash } from './src/store/hash.js';
import { makeTextPath, makeFixedOutputPath } from './src/store/store-path.js';
import { hashString } from './src/store/hash.js';

const [cmd, root, countArg] = process.argv.slice(2);
const cfg = resolveStoreConfig({ uri: root, env: {} });
const store = LocalStore.open(cfg);
const quiet = () => {};

function register(infos) {
  for (let k = 0; k < infos.length; k += 2000) store.registerValidPaths(infos.slice(k, k + 2000));
}

if (cmd === 'populate-gc') {
  // Chains of 10: path i refers to path i-1 within its chain.
  const n = Number(countArg);
  const infos = [];
  let prev;
  for (let i = 0; i < n; i++) {
    const refs = i % 10 === 0 || !prev ? [] : [prev];
    const text = 'garbage ' + i + '\\n' + refs.join('\\n') + '\\n' + 'x'.repeat(i % 4096);
    const p = makeTextPath('g' + i, hashString('sha256', text), refs, store.storeDir);
    const real = store.toRealPath(p);
    fs.writeFileSync(real, text);
    canonicaliseMetadata(real);
    const nar = hashPath('sha256', real);
    infos.push({ path: p, narHash: printHash(nar.hash, 'base32', true), narSize: nar.size, references: refs,
      ca: 'text:sha256:' + printHash(hashString('sha256', text), 'base32') });
    prev = p;
  }
  register(infos);
} else if (cmd === 'populate-optimise') {
  // Directories of 10 files: files 0-4 have contents shared by every directory, 5-9 their own.
  const files = Number(countArg);
  const dirs = Math.ceil(files / 10);
  const infos = [];
  const tmp = path.join(root, 'src');
  for (let d = 0; d < dirs; d++) {
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    for (let k = 0; k < 10 && d * 10 + k < files; k++) {
      const contents = k < 5 ? ('shared contents ' + k + '\\n').repeat(400) : ('own contents ' + d + ' ' + k + '\\n').repeat(400);
      fs.writeFileSync(path.join(tmp, 'f' + k), contents);
    }
    store.addPathToStore('tree' + d, tmp, { method: 'recursive', hashAlgo: 'sha256' });
  }
  fs.rmSync(tmp, { recursive: true, force: true });
} else if (cmd === 'gc') {
  const r = await collectGarbage(store, { action: 'delete-dead', keep: { keepDerivations: true, keepOutputs: false } }, quiet);
  process.stdout.write(formatFreed(r));
} else if (cmd === 'optimise') {
  process.stdout.write(formatOptimiseSummary(await optimiseStore(store, { info: quiet, warn: quiet })) + '\\n');
}
store.close();
`;

// Inside the worktree (git-ignored), not in node_modules, which worktrees may share.
const bundleDir = path.join(repo, '.bench');
fs.mkdirSync(bundleDir, { recursive: true });
const bundle = path.join(bundleDir, 'bench-gc.mjs');
buildSync({
  stdin: { contents: ENTRY, resolveDir: repo, loader: 'ts', sourcefile: 'bench-gc-entry.ts' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile: bundle,
  external: ['better-sqlite3'],
  logLevel: 'error',
});

const env = { ...process.env, NIX_REMOTE: '', NIX_CONF_DIR: '/etc/nix', NIX_CONFIG: '' };
// CPU time of waited-for children (user + system), from /proc/self/stat, in ms.
const ticksPerSecond = 100;
function childrenCpuMs() {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / ticksPerSecond;
}
function run(cmd, argv) {
  const cpu0 = childrenCpuMs();
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 26 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed with ${r.status}`);
  return { ms, cpuMs: childrenCpuMs() - cpu0, stdout: r.stdout };
}
const tsnix = (...a) => run(process.execPath, [bundle, ...a]);
const nixStore = (...a) => run('nix-store', a);

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnix-bench-gc-'));
const copy = (from, to) => {
  if (spawnSync('cp', ['-a', from, to]).status !== 0) throw new Error('cp failed');
};
const removeTree = (dir) => {
  spawnSync('chmod', ['-R', 'u+w', dir]);
  fs.rmSync(dir, { recursive: true, force: true });
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function bench(label, template, nixArgs, tsnixCmd, check) {
  const nixTimes = [];
  const ourTimes = [];
  const nixCpu = [];
  const ourCpu = [];
  for (let r = 0; r < runs; r++) {
    const a = path.join(work, `nix-${r}`);
    const b = path.join(work, `tsnix-${r}`);
    copy(template, a);
    copy(template, b);
    // Dirty pages from the copies would be flushed during whichever run comes first.
    spawnSync('sync');
    // Alternate who goes first, so cache effects do not favour one side.
    let theirs;
    let ours;
    if (r % 2 === 0) {
      theirs = nixStore('--store', a, ...nixArgs);
      ours = tsnix(tsnixCmd, b);
    } else {
      ours = tsnix(tsnixCmd, b);
      theirs = nixStore('--store', a, ...nixArgs);
    }
    check(theirs, ours);
    nixTimes.push(theirs.ms);
    ourTimes.push(ours.ms);
    nixCpu.push(theirs.cpuMs);
    ourCpu.push(ours.cpuMs);
    removeTree(a);
    removeTree(b);
  }
  const n = median(nixTimes);
  const t = median(ourTimes);
  const nc = median(nixCpu);
  const tc = median(ourCpu);
  // Wall time on a shared disk is dominated by write-back; CPU time (user + system) is the steadier measure.
  console.log(`${label}: wall nix ${n.toFixed(0)} ms, tsnix ${t.toFixed(0)} ms, ratio ${(t / n).toFixed(2)}; ` +
    `cpu nix ${nc.toFixed(0)} ms, tsnix ${tc.toFixed(0)} ms, ratio ${(tc / nc).toFixed(2)} (median of ${runs})`);
  return { label, nixMs: n, tsnixMs: t, ratio: t / n, cpuRatio: tc / nc };
}

try {
  const gcTemplate = path.join(work, 'gc-template');
  tsnix('populate-gc', gcTemplate, String(nPaths));
  bench(`collect ${nPaths} dead paths`, gcTemplate, ['--gc'], 'gc', (theirs, ours) => {
    const want = `${nPaths} store paths deleted`;
    if (!theirs.stdout.startsWith(want) || !ours.stdout.startsWith(want))
      throw new Error(`unexpected summaries: nix '${theirs.stdout.trim()}', tsnix '${ours.stdout.trim()}'`);
  });
  removeTree(gcTemplate);

  const optTemplate = path.join(work, 'optimise-template');
  tsnix('populate-optimise', optTemplate, String(nFiles));
  bench(`optimise ${nFiles} files, half duplicates`, optTemplate, ['--optimise'], 'optimise', (_theirs, ours) => {
    if (!/ freed by hard-linking \d+ files/.test(ours.stdout)) throw new Error(`unexpected tsnix summary '${ours.stdout.trim()}'`);
  });
  removeTree(optTemplate);
} finally {
  removeTree(work);
}
