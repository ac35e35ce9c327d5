#!/usr/bin/env node
// Store benchmarks against the reference Nix in the same run, on one tree of
// mixed files (default 1 GiB: many small text files, some large binary
// files, executables, symlinks, empty directories):
//   add    nix-store --add TREE into a fresh chroot store
//   dump   nix-store --dump TREE > /dev/null (NAR serialisation)
//   hash   nix-hash --type sha256 TREE (NAR hash)
// Median wall time of N rounds (CPU time too), peak RSS, ratios.
//
//   node scripts/bench/store.mjs [--size-mb 1024] [--rounds 3] [--markdown]

import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomFillSync } from 'node:crypto';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
let sizeMb = 1024;
let rounds = 3;
let markdown = false;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--size-mb') sizeMb = Number(args[++i]);
  else if (args[i] === '--rounds') rounds = Number(args[++i]);
  else if (args[i] === '--markdown') markdown = true;
}

const work = mkdtempSync(join(tmpdir(), 'tsnix-bench-store-'));
const tree = join(work, 'tree');

// 30% of the bytes in small files (1–16 KiB), the rest in files of 8–64 MiB.
function makeTree() {
  const total = sizeMb * 1024 * 1024;
  let written = 0;
  let n = 0;
  const small = Buffer.alloc(16 * 1024);
  for (let d = 0; written < total * 0.3; d++) {
    const dir = join(tree, `dir${d}`, `sub${d % 7}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < 200 && written < total * 0.3; f++) {
      const len = 1024 + ((n * 7919) % (15 * 1024));
      small.fill(`line ${n} of some text in a file\n`);
      writeFileSync(join(dir, `file${f}.txt`), small.subarray(0, len));
      if (f % 50 === 0) chmodSync(join(dir, `file${f}.txt`), 0o755);
      if (f % 40 === 0) symlinkSync(`file${f}.txt`, join(dir, `link${f}`));
      written += len;
      n++;
    }
    mkdirSync(join(tree, `dir${d}`, 'empty'), { recursive: true });
  }
  mkdirSync(join(tree, 'big'), { recursive: true });
  const chunk = Buffer.alloc(8 * 1024 * 1024);
  for (let b = 0; written < total; b++) {
    const parts = 1 + (b % 8);
    const path = join(tree, 'big', `blob${b}.bin`);
    writeFileSync(path, '');
    for (let p = 0; p < parts && written < total; p++) {
      randomFillSync(chunk);
      writeFileSync(path, chunk, { flag: 'a' });
      written += chunk.length;
    }
  }
}

function timed(cmd, argv, env = {}) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', 'sh', '-c', `"$0" "$@" > /dev/null`, cmd, ...argv], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 1 << 26,
  });
  const last = r.stderr.trim().split('\n').pop();
  const [wall, user, sys, kb] = last.split(' ').map(Number);
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed:\n${r.stderr}`);
  return { wall, cpu: user + sys, kb };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

makeTree();
const tsBin = (p) => join(root, 'bin', p);
const benches = [
  { name: 'add', run: (impl, r) => {
      const store = join(work, `${impl}-store-${r}`);
      const res = timed(impl === 'nix' ? 'nix-store' : tsBin('nix-store'), ['--store', store, '--add', tree]);
      rmSync(store, { recursive: true, force: true });
      return res;
    } },
  { name: 'dump', run: (impl) => timed(impl === 'nix' ? 'nix-store' : tsBin('nix-store'), ['--dump', tree]) },
  { name: 'hash', run: (impl) => timed(impl === 'nix' ? 'nix-hash' : tsBin('nix-hash'), ['--type', 'sha256', tree]) },
];

const rows = [];
for (const b of benches) {
  const res = { nix: [], tsnix: [] };
  // Alternate who goes first: on some file systems creating files right
  // after a store was deleted is much slower, which would favour the first.
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? ['nix', 'tsnix'] : ['tsnix', 'nix'];
    for (const impl of order) res[impl].push(b.run(impl, r));
  }
  const m = (impl, k) => median(res[impl].map((x) => x[k]));
  rows.push({ name: b.name, nixWall: m('nix', 'wall'), tsWall: m('tsnix', 'wall'), nixCpu: m('nix', 'cpu'), tsCpu: m('tsnix', 'cpu'), nixKb: Math.max(...res.nix.map((x) => x.kb)), tsKb: Math.max(...res.tsnix.map((x) => x.kb)) });
}
rmSync(work, { recursive: true, force: true });

const date = new Date().toISOString().slice(0, 10);
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB`;
if (markdown) {
  console.log(`Measured ${date} on ${machine}; a ${sizeMb} MiB tree; median of ${rounds} rounds.\n`);
  console.log('| operation | C++ Nix wall (CPU) | tsnix wall (CPU) | wall ratio | C++ Nix peak RSS | tsnix peak RSS |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
}
for (const r of rows) {
  const ratio = (r.tsWall / r.nixWall).toFixed(2);
  if (markdown)
    console.log(`| ${r.name} | ${r.nixWall.toFixed(2)} s (${r.nixCpu.toFixed(2)} s) | ${r.tsWall.toFixed(2)} s (${r.tsCpu.toFixed(2)} s) | ${ratio}x | ${(r.nixKb / 1024).toFixed(0)} MiB | ${(r.tsKb / 1024).toFixed(0)} MiB |`);
  else
    console.log(`${r.name.padEnd(6)} nix ${r.nixWall.toFixed(2)}s (cpu ${r.nixCpu.toFixed(2)}s, ${(r.nixKb / 1024).toFixed(0)} MiB)  tsnix ${r.tsWall.toFixed(2)}s (cpu ${r.tsCpu.toFixed(2)}s, ${(r.tsKb / 1024).toFixed(0)} MiB)  ratio ${ratio}x`);
}
