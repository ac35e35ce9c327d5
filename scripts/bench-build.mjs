#!/usr/bin/env node
// Build throughput: tsnix's nix-build against the reference Nix in the same
// run, on 100 trivial derivations that depend on each other in a chain and
// on 100 independent ones, all at -j2. Each case gets a fresh store; the
// derivations are instantiated beforehand (by the reference nix-instantiate,
// not timed), so what is measured is the build: scheduling, sandbox set-up,
// the builder, output registration.
//
//   node scripts/bench-build.mjs [--runs N] [--count N]
//
// Without the sandbox both tools need a store whose logical and physical
// directories coincide: `local?store=<dir>/store&state=...&log=...`.
// Requires `npm run build` (bin/nix-build runs dist/).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const RUNS = opt('--runs', 3);
const COUNT = opt('--count', 100);
const HOST = '[ "/bin" "/usr" "/lib" "/lib64" ]';

function expr(shape, tag) {
  // `tag` keeps the derivations of different runs apart (nothing is ever already built).
  const mk = `mk = name: dep: derivation { inherit name dep; system = builtins.currentSystem; builder = "/bin/sh"; args = [ "-c" "echo ${tag} $dep > $out" ]; __impureHostDeps = ${HOST}; };`;
  if (shape === 'chain')
    return `let ${mk} step = n: if n == 0 then "" else mk "c\${toString n}" (step (n - 1)); in [ (step ${COUNT}) ]`;
  return `let ${mk} in builtins.genList (n: mk "i\${toString n}" "") ${COUNT}`;
}

function storeUri(dir, kind) {
  return kind === 'chroot' ? dir : `local?store=${dir}/store&state=${dir}/state&log=${dir}/log`;
}

function run(cmd, argv, env = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, { encoding: 'utf8', env: { ...process.env, NIX_REMOTE: '', ...env }, maxBuffer: 1 << 26 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${argv.slice(0, 6).join(' ')} ... failed (${r.status}):\n${r.stderr.slice(-2000)}`);
  return { ms, stdout: r.stdout };
}

function instantiate(uri, shape, tag) {
  const out = run('nix-instantiate', ['--store', uri, '-E', expr(shape, tag)]).stdout;
  return out.trim().split('\n');
}

const TOOLS = {
  'nix (no sandbox)': { cmd: 'nix-build', kind: 'plain', flags: ['--option', 'sandbox', 'false'] },
  'tsnix (no sandbox)': { cmd: path.join(repo, 'bin', 'nix-build'), kind: 'plain', flags: ['--option', 'sandbox', 'false'] },
  'tsnix (sandbox)': { cmd: path.join(repo, 'bin', 'nix-build'), kind: 'chroot', flags: [] },
  'nix (sandbox)': { cmd: 'nix-build', kind: 'chroot', flags: ['--option', 'allowed-impure-host-deps', '/bin /usr /lib /lib64'] },
};

const results = {};
let tag = 0;
for (const shape of ['chain', 'independent']) {
  for (const [name, tool] of Object.entries(TOOLS)) {
    const times = [];
    for (let i = 0; i < RUNS; i++) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-build-'));
      // Traversable like /nix/store, so that root's sandboxed builds can run as an unprivileged user.
      fs.chmodSync(dir, 0o755);
      try {
        const uri = storeUri(dir, tool.kind);
        const drvs = instantiate(uri, shape, `run${tag++}`);
        const { ms } = run(tool.cmd, ['--store', uri, '-j2', '--no-out-link', '-Q', ...tool.flags, ...drvs]);
        times.push(ms);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
    times.sort((a, b) => a - b);
    results[`${shape}/${name}`] = times[Math.floor(times.length / 2)];
  }
}

const fmt = (ms) => `${(ms / COUNT).toFixed(1)} ms`;
console.log(`${COUNT} derivations per case, -j2, median of ${RUNS} runs; time per build (whole nix-build run / ${COUNT})\n`);
console.log('| case | nix (no sandbox) | tsnix (no sandbox) | ratio | tsnix (sandbox) | ratio | nix (sandbox) |');
console.log('|------|-----|-----|-----|-----|-----|-----|');
for (const shape of ['chain', 'independent']) {
  const base = results[`${shape}/nix (no sandbox)`];
  const ours = results[`${shape}/tsnix (no sandbox)`];
  const oursSb = results[`${shape}/tsnix (sandbox)`];
  const nixSb = results[`${shape}/nix (sandbox)`];
  console.log(`| ${shape === 'chain' ? 'dependent (chain)' : 'independent'} | ${fmt(base)} | ${fmt(ours)} | ${(ours / base).toFixed(2)}x | ${fmt(oursSb)} | ${(oursSb / base).toFixed(2)}x | ${fmt(nixSb)} |`);
}
