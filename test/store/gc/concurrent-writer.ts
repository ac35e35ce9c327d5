// A child process for the concurrency test: it plays a builder. Each round
// it "substitutes" an input (re-adds a dependency that may be garbage by
// now, which either finds it valid under a temporary root or writes it
// again), then "builds" an output referring to that input, registers a
// permanent root for the output, and reports it on stdout.
// argv: <store root> <rounds> <number of dependencies> <tag>

import fs from 'node:fs';
import path from 'node:path';
import { LocalStore } from '../../../src/store/local/local-store.js';
import { resolveStoreConfig } from '../../../src/store/local/store-config.js';

const [root, roundsArg, depsArg, tag] = process.argv.slice(2) as [string, string, string, string];
const cfg = resolveStoreConfig({ uri: root, env: {} });
if (cfg.kind !== 'local') throw new Error('expected a local store');
const store = LocalStore.open(cfg);
const rounds = Number(roundsArg);
const deps = Number(depsArg);
for (let r = 0; r < rounds; r++) {
  const i = Math.floor(Math.random() * deps);
  const dep = store.addTextToStore(`dep-${i}`, `dependency ${i}\n`, []);
  const out = store.addTextToStore(`out-${tag}-${r}`, `built from ${dep}\n`, [dep]);
  const link = path.join(cfg.stateDir, 'gcroots', `${tag}-${r}`);
  fs.symlinkSync(out, link);
  process.stdout.write(`${out} ${dep}\n`);
}
store.close();
