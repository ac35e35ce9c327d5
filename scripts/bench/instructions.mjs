#!/usr/bin/env node
// Counts the machine instructions one evaluation executes, under valgrind's
// callgrind, for comparing two builds where wall time is too noisy: on this
// project's shared two-core machines a run's time moves by 10% from one
// minute to the next, while this count repeats within about 0.7%.
//
//   node scripts/bench/instructions.mjs FILE.nix [LOADER ...]
//
// LOADER is a bin/load-bundle.cjs (default: this checkout's); give several to
// compare builds (copy a build's bin/, dist/ and corepkgs/ elsewhere first).
// Needs valgrind (Debian's package). V8 runs with --single-threaded so that
// TurboFan's compilations and the collector's helpers run on the one thread
// and are counted the same way each time; this also makes V8 refuse the code
// cache, so start-up parsing is counted too. The count is work, not time:
// under valgrind sha256 takes its AVX2 path rather than the SHA extensions,
// and cache misses cost nothing, so confirm a change in wall time as well.
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launcherNodeFlags } from './launcher-flags.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const [file, ...loaders] = process.argv.slice(2);
if (!file) {
  console.error('usage: node scripts/bench/instructions.mjs FILE.nix [LOADER ...]');
  process.exit(1);
}
if (loaders.length === 0) loaders.push(join(root, 'bin', 'load-bundle.cjs'));

const env = { ...process.env, TSNIX_ARGV0: 'nix-instantiate' };
// Node reads every certificate this names at start-up (see bin/tsnix).
delete env.NODE_EXTRA_CA_CERTS;
for (const loader of loaders) {
  // The flags bin/tsnix gives node (stack, heap sizes, inlining), and one thread.
  const script =
    'ulimit -s 1048576 2>/dev/null; exec valgrind --tool=callgrind --callgrind-out-file=/dev/null --cache-sim=no --branch-sim=no ' +
    `node ${launcherNodeFlags()} --single-threaded "$0" --eval --strict --readonly-mode "$1"`;
  const r = spawnSync('sh', ['-c', script, resolve(loader), resolve(file)], { env, encoding: 'utf8', maxBuffer: 1 << 28 });
  const m = /Collected : (\d+)/.exec(r.stderr ?? '');
  if (r.error || !m) {
    console.error(r.error?.message ?? r.stderr);
    process.exit(1);
  }
  console.log(`${m[1].padStart(14)}  ${loader}`);
}
