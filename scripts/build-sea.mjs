#!/usr/bin/env node
// Builds one self-contained executable, build-sea/tsnix, with Node's
// single-executable-application support: esbuild bundles the compiled CLI
// into one CommonJS file, `node --experimental-sea-config` turns it into a
// blob, postject injects the blob into a copy of the node binary. The native
// SQLite addon and corepkgs/ travel as SEA assets; src/sea-assets.ts
// unpacks them on first use. Links named nix-build, nix-instantiate, ... next
// to the binary make it dispatch by name, as bin/ does.
//
//   npm run build && node scripts/build-sea.mjs

import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'build-sea');
const require = createRequire(import.meta.url);

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

await esbuild.build({
  entryPoints: [join(root, 'dist', 'cli', 'sea-main.js')],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outfile: join(out, 'tsnix.cjs'),
  // oclif is only used for `tsnix --help`; the SEA prints its own command list.
  external: ['@oclif/core'],
  define: { 'import.meta.url': '__tsnixImportMetaUrl' },
  banner: { js: 'const __tsnixImportMetaUrl = require("url").pathToFileURL(__filename).href;' },
  logLevel: 'warning',
});

const assets = {};
const addon = require.resolve('better-sqlite3/build/Release/better_sqlite3.node');
assets['better_sqlite3.node'] = addon;
const corepkgs = join(root, 'corepkgs');
const corepkgFiles = existsSync(corepkgs) ? readdirSync(corepkgs) : [];
for (const f of corepkgFiles) assets[`corepkgs/${f}`] = join(corepkgs, f);
// node:sea cannot list assets, so the file names travel as an asset too.
writeFileSync(join(out, 'corepkgs.json'), JSON.stringify(corepkgFiles));
assets['corepkgs.json'] = join(out, 'corepkgs.json');

writeFileSync(
  join(out, 'sea-config.json'),
  JSON.stringify({ main: join(out, 'tsnix.cjs'), output: join(out, 'sea-prep.blob'), disableExperimentalSEAWarning: true, assets }, null, 2),
);
execFileSync(process.execPath, ['--experimental-sea-config', join(out, 'sea-config.json')], { stdio: 'inherit' });

const exe = join(out, 'tsnix');
copyFileSync(process.execPath, exe);
chmodSync(exe, 0o755);
execFileSync(
  join(root, 'node_modules', '.bin', 'postject'),
  [exe, 'NODE_SEA_BLOB', join(out, 'sea-prep.blob'), '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'],
  { stdio: 'inherit' },
);
for (const name of ['nix-build', 'nix-instantiate', 'nix-store', 'nix-env', 'nix-hash', 'nix-collect-garbage']) {
  symlinkSync('tsnix', join(out, name));
}
console.log(`built ${exe}`);
