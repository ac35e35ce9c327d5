#!/usr/bin/env node
// Compares builds of tsnix on one evaluation by paired rounds: each round
// runs every build once, in alternating order, and the comparison is the
// geometric mean of each build's time over the first build's in the same
// round, with a 95% interval. On this project's shared two-core machines a
// run's time drifts by 10% from one minute to the next; pairing cancels the
// drift that a comparison of medians keeps.
//
//   node scripts/bench/paired.mjs ROUNDS FILE.nix LOADER [LOADER ...]
//
// A LOADER is a build's bin/load-bundle.cjs (copy a build's bin/load-bundle.cjs,
// dist/ and corepkgs/ elsewhere first, with node_modules and package.json
// linked). Each runs `nix-instantiate --eval --strict --readonly-mode FILE`
// with the V8 flags bin/tsnix gives node, read from its last line; a build
// whose code cache was recorded under other flags loses it (V8 checks a
// hash of its flags), so record each copy's cache through bin/tsnix.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { launcherNodeFlags } from './launcher-flags.mjs';

const [rounds, file, ...loaders] = process.argv.slice(2);
if (!file || loaders.length < 2 || !(Number(rounds) > 0)) {
  console.error('usage: node scripts/bench/paired.mjs ROUNDS FILE.nix LOADER LOADER [LOADER ...]');
  process.exit(1);
}

const flags = launcherNodeFlags();

const env = { ...process.env, TSNIX_ARGV0: 'nix-instantiate' };
delete env.NODE_EXTRA_CA_CERTS;
const times = loaders.map(() => []);
for (let i = 0; i < Number(rounds); i++) {
  const order = loaders.map((_, k) => k);
  if (i % 2 === 1) order.reverse();
  for (const k of order) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync('sh', ['-c', `ulimit -s 1048576 2>/dev/null; exec node ${flags} "$0" --eval --strict --readonly-mode "$1"`, resolve(loaders[k]), resolve(file)], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    times[k].push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (r.status !== 0) {
      console.error(`${loaders[k]} failed:\n${r.stderr}`);
      process.exit(1);
    }
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};
loaders.forEach((loader, k) => {
  const logs = times[k].map((t, i) => Math.log(t / times[0][i]));
  const mean = logs.reduce((a, b) => a + b, 0) / logs.length;
  const sd = Math.sqrt(logs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, logs.length - 1));
  const half = (2 * sd) / Math.sqrt(logs.length);
  const ratio = k === 0 ? 'baseline' : `${Math.exp(mean).toFixed(3)} (95% ${Math.exp(mean - half).toFixed(3)}–${Math.exp(mean + half).toFixed(3)})`;
  console.log(`median ${median(times[k]).toFixed(0)} ms, min ${Math.min(...times[k]).toFixed(0)} ms, paired ratio ${ratio}  ${loader}`);
});
