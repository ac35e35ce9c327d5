'use strict';
// Runs the single-file CommonJS bundle, dist/tsnix.cjs, with V8's code cache
// (dist/tsnix.cjs.cache, written by scripts/build-bundle.mjs after a
// representative run). With the cache V8 neither parses the bundle nor
// compiles the functions that run on every call, which saves about a fifth
// of tsnix's start-up. bin/tsnix starts this file; it is CommonJS because
// only scripts (not ES modules) can take a code cache on Node 20.
//
// The cache is used only when it is at least as new as the bundle: V8 checks
// the source's length, not its contents. A rejected or missing cache just
// means V8 compiles as usual.

const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');

const bundle = path.join(__dirname, '..', 'dist', 'tsnix.cjs');
const cacheFile = `${bundle}.cache`;
// scripts/build-bundle.mjs writes the bundle pure ASCII, which latin1
// decodes by copying bytes (UTF-8 decoding checks each one); any other
// bytes still decode as UTF-8.
const bytes = fs.readFileSync(bundle);
const source = require('node:buffer').isAscii(bytes) ? bytes.latin1Slice() : bytes.utf8Slice();
let cachedData;
try {
  if (fs.statSync(cacheFile).mtimeMs >= fs.statSync(bundle).mtimeMs) cachedData = fs.readFileSync(cacheFile);
} catch {
  cachedData = undefined;
}

const script = new vm.Script(Module.wrap(source), {
  filename: bundle,
  cachedData,
  // No importModuleDynamically: the bundle has no import() (npm packages
  // are require()d, see src/load-package.ts; scripts/build-bundle.mjs checks),
  // and registering one makes Node set up dynamic import for the script
  // (its internal/vm/module) at every start-up.
});

// scripts/build-bundle.mjs sets this to record the cache after a run, so it
// also holds the functions that run compiled.
const writeTo = process.env.TSNIX_WRITE_CODE_CACHE;
if (writeTo) {
  delete process.env.TSNIX_WRITE_CODE_CACHE;
  process.on('exit', () => fs.writeFileSync(writeTo, script.createCachedData()));
}

// For the launcher test: whether V8 took the cache (it refuses one recorded
// under other V8 flags, which only costs start-up time, so nothing else shows it).
if (process.env.TSNIX_REPORT_CODE_CACHE) process.stderr.write(`code cache: ${cachedData === undefined ? 'none' : script.cachedDataRejected ? 'rejected' : 'accepted'}\n`);

const mod = new Module(bundle, null);
mod.filename = bundle;
mod.paths = Module._nodeModulePaths(path.dirname(bundle));
script.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(bundle), mod, bundle, path.dirname(bundle));
