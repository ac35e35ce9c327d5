#!/usr/bin/env node
// Evaluation benchmarks: each scripts/bench/eval/*.nix evaluated with
// `nix-instantiate --eval --strict --readonly-mode` by the reference Nix and by
// tsnix in the same run, alternating, several rounds; the median wall time and
// the largest peak RSS (GNU time's %M) of each are reported with their ratios.
// Both must print the same result, or the benchmark counts as failed.
//
//   node scripts/bench/run.mjs [--rounds N] [--filter RE] [--markdown]

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const args = process.argv.slice(2);
let rounds = 3;
let filter;
let markdown = false;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--rounds') rounds = Number(args[++i]);
  else if (args[i] === '--filter') filter = new RegExp(args[++i]);
  else if (args[i] === '--markdown') markdown = true;
}

const timeBin = '/usr/bin/time';
if (!existsSync(timeBin)) {
  console.error('error: GNU time (/usr/bin/time) is needed to measure peak memory: apt-get install time');
  process.exit(1);
}
const reference = spawnSync('sh', ['-c', 'command -v nix-instantiate'], { encoding: 'utf8' }).stdout.trim();
if (!reference || reference.startsWith(join(root, 'bin'))) {
  console.error('error: the reference nix-instantiate must be on PATH (apt-get install nix-bin)');
  process.exit(1);
}
const tsnix = join(root, 'bin', 'nix-instantiate');

function measure(program, file) {
  const r = spawnSync(timeBin, ['-f', '%e %M', program, '--readonly-mode', '--eval', '--strict', file], {
    encoding: 'utf8',
    env: { ...process.env, NIX_REMOTE: 'dummy://', NIX_PATH: '' },
    maxBuffer: 1 << 28,
  });
  const lines = r.stderr.trim().split('\n');
  const [secs, kb] = lines[lines.length - 1].split(' ').map(Number);
  return { ok: r.status === 0, out: r.stdout, secs, kb, err: r.stderr };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const dir = join(here, 'eval');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.nix'))
  .filter((f) => !filter || filter.test(f))
  .sort();

const rows = [];
for (const f of files) {
  const file = join(dir, f);
  const nix = [];
  const ts = [];
  let agree = true;
  for (let r = 0; r < rounds; r++) {
    const a = measure(reference, file);
    const b = measure(tsnix, file);
    if (!a.ok || !b.ok || a.out !== b.out) {
      agree = false;
      if (!b.ok) process.stderr.write(`${f}: tsnix failed:\n${b.err}\n`);
      else if (!a.ok) process.stderr.write(`${f}: reference failed:\n${a.err}\n`);
      else process.stderr.write(`${f}: results differ:\n  nix:   ${a.out.slice(0, 200)}\n  tsnix: ${b.out.slice(0, 200)}\n`);
      break;
    }
    nix.push(a);
    ts.push(b);
  }
  if (!agree) {
    rows.push({ name: f, failed: true });
    continue;
  }
  const nixSecs = median(nix.map((m) => m.secs));
  const tsSecs = median(ts.map((m) => m.secs));
  const nixKb = Math.max(...nix.map((m) => m.kb));
  const tsKb = Math.max(...ts.map((m) => m.kb));
  rows.push({ name: f, nixSecs, tsSecs, nixKb, tsKb });
}

const date = new Date().toISOString().slice(0, 10);
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}`;
const refVersion = spawnSync(reference, ['--version'], { encoding: 'utf8' }).stdout.trim();
const fmtMb = (kb) => `${(kb / 1024).toFixed(0)} MiB`;
if (markdown) {
  console.log(`Measured ${date} on ${machine}; reference: ${refVersion}; median of ${rounds} rounds.\n`);
  console.log('| benchmark | C++ Nix time | tsnix time | time ratio | C++ Nix peak RSS | tsnix peak RSS | memory ratio |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
}
for (const r of rows) {
  if (r.failed) {
    console.log(markdown ? `| ${r.name} | failed | | | | | |` : `${r.name}: FAILED`);
    continue;
  }
  const tRatio = (r.tsSecs / r.nixSecs).toFixed(2);
  const mRatio = (r.tsKb / r.nixKb).toFixed(2);
  if (markdown)
    console.log(`| ${r.name} | ${r.nixSecs.toFixed(2)} s | ${r.tsSecs.toFixed(2)} s | ${tRatio}x | ${fmtMb(r.nixKb)} | ${fmtMb(r.tsKb)} | ${mRatio}x |`);
  else
    console.log(`${r.name.padEnd(18)} nix ${r.nixSecs.toFixed(2)}s ${fmtMb(r.nixKb)}  tsnix ${r.tsSecs.toFixed(2)}s ${fmtMb(r.tsKb)}  time ${tRatio}x  memory ${mRatio}x`);
}
process.exitCode = rows.some((r) => r.failed) ? 1 : 0;
