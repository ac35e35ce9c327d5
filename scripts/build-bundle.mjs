#!/usr/bin/env node
// Bundles the compiled CLI (dist/cli/bin.js and everything it imports from
// dist/) into one CommonJS file, dist/tsnix.cjs, which bin/tsnix runs
// (through bin/load-bundle.cjs) when it is newer than dist/cli/bin.js.
// Loading one file instead of ~100 modules saves about 40 ms of start-up on
// every nix-* call; V8's code cache for it (dist/tsnix.cjs.cache, recorded
// here from one representative evaluation) saves about 25 ms more. npm
// packages stay external (native addons, oclif's file-based command loading).
//
//   npx tsc -p tsconfig.json && node scripts/build-bundle.mjs

import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(root, 'dist', 'tsnix.cjs');

// The ES-module bundle of earlier versions: bin/tsnix no longer runs it.
rmSync(join(root, 'dist', 'tsnix.mjs'), { force: true });
rmSync(`${bundle}.cache`, { force: true });

await esbuild.build({
  entryPoints: [join(root, 'dist', 'cli', 'bin.js')],
  bundle: true,
  platform: 'node',
  target: 'node20',
  // CommonJS, because only scripts can use a code cache on Node 20.
  format: 'cjs',
  outfile: bundle,
  packages: 'external',
  define: { 'import.meta.url': '__tsnixImportMetaUrl' },
  banner: { js: 'const __tsnixImportMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
  logLevel: 'warning',
});

// esbuild gives every module that does `import * as fs from 'node:fs'` its
// own namespace object for the built-in, built by copying a getter for each
// of its properties: some seventy copies of fs, path and os, ≈3 ms of every
// start-up. The namespaces are read-only views of the same module, so one
// per module serves all importers.
const toESM = 'var __toESM = (mod, isNodeMode, target) =>';
const text = readFileSync(bundle, 'utf8');
if (!text.includes(toESM)) throw new Error(`build-bundle: esbuild's __toESM helper not found in ${bundle}`);
// load-bundle.cjs runs the bundle as a vm.Script without a dynamic import
// callback; an import() left in it would fail only when reached.
const dynamicImport = /(?<![\w$.])import\(/.exec(text.replace(/\/\/.*$/gm, ''));
if (dynamicImport) throw new Error(`build-bundle: ${bundle} contains an import(); load npm packages with loadPackage (src/load-package.ts)`);
// esbuild escapes non-ASCII characters in strings but keeps them in the
// comments it preserves. One such character makes V8 hold the whole source
// as a two-byte string: decoding it takes longer at every start-up, and so
// does scanning each function V8 compiles lazily. A \u escape means the same
// character in a string, template, regular expression or identifier, and
// nothing in a comment, so the bundle is written pure ASCII (which also lets
// load-bundle.cjs read it as latin1, a plain copy).
const ascii = (s) => s.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
writeFileSync(
  bundle,
  ascii(text).replace(
    toESM,
    'var __toESMShared = new WeakMap();\n' +
      'var __toESM = (mod, isNodeMode) => {\n' +
      '  if (isNodeMode !== 1 || mod == null) return __toESMOne(mod, isNodeMode);\n' +
      '  let ns = __toESMShared.get(mod);\n' +
      '  if (ns === undefined) __toESMShared.set(mod, (ns = __toESMOne(mod, isNodeMode)));\n' +
      '  return ns;\n' +
      '};\n' +
      'var __toESMOne = (mod, isNodeMode, target) =>',
  ),
);

// One evaluation through the real launcher (same V8 flags as users get, or
// V8 rejects the cache) that touches the parser, the common builtins and
// derivations; the cache is written when it exits. Nothing is written to a
// store: dummy:// computes paths only.
const warmUp = `
  let
    lib = rec { fix = f: let x = f x; in x; inc = x: x + 1; };
    xs = builtins.genList (i: { name = "p\${toString i}"; value = lib.inc i; }) 20;
    set = builtins.listToAttrs xs // { inherit (lib) inc; };
    drv = derivation { name = "warm-up"; system = "x86_64-linux"; builder = "/bin/sh"; args = [ "-c" "echo \${builtins.toJSON (builtins.attrNames set)} > $out" ]; };
  in [
    (builtins.length (builtins.filter (x: x.value > 3) xs))
    (builtins.foldl' (a: b: a + b) 0 (map (x: x.value) xs))
    (builtins.concatStringsSep "," (builtins.sort builtins.lessThan (builtins.attrNames set)))
    (builtins.match "([a-z]+)-([0-9]+)" "abc-123")
    (builtins.replaceStrings [ "a" ] [ "b" ] "banana")
    drv.drvPath
    (builtins.mapAttrs (n: v: n) { a = 1; b = 2; })
  ]`;
try {
  execFileSync(join(root, 'bin', 'nix-instantiate'), ['--eval', '--strict', '--store', 'dummy://', '-E', warmUp], {
    env: { ...process.env, TSNIX_WRITE_CODE_CACHE: `${bundle}.cache`, NIX_CONF_DIR: join(root, 'dist'), NIX_PATH: '' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
} catch (e) {
  // The cache only saves start-up time: build without it rather than fail.
  rmSync(`${bundle}.cache`, { force: true });
  console.warn(`warning: no code cache for the start-up bundle (${e.message.split('\n')[0]})`);
}
