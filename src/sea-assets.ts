// Files the single executable carries as SEA assets (scripts/build-sea.mjs):
// the SQLite addon, which Node can only load from a real file, and corepkgs/.
// Outside a SEA these come from node_modules and the source tree as usual.

import { createHash } from './store/hash.js';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

import { seaModule } from './single-executable.js';

/** The text of an embedded asset, or undefined outside a SEA or when absent. */
export function seaAssetText(key: string): string | undefined {
  const sea = seaModule();
  if (!sea) return undefined;
  try {
    return Buffer.from(sea.getAsset(key)).toString('utf8');
  } catch {
    return undefined;
  }
}

/**
 * The `nativeBinding` option for better-sqlite3: inside a SEA, the addon is
 * written once to a cache file named by its hash, then loaded from there
 * (better-sqlite3 accepts the loaded module where its types say string).
 */
export function sqliteNativeBinding(): { nativeBinding?: string } {
  const sea = seaModule();
  if (!sea) return {};
  const bytes = Buffer.from(sea.getAsset('better_sqlite3.node'));
  const digest = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  const dir = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tsnix');
  const file = join(dir, `better_sqlite3-${digest}.node`);
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, bytes, { mode: 0o755 });
    renameSync(tmp, file);
  }
  // A SEA's require() loads only built-in modules, so load the addon
  // ourselves and hand better-sqlite3 the loaded module.
  const mod = { exports: {} as object };
  process.dlopen(mod, file);
  return { nativeBinding: mod.exports as unknown as string };
}

/**
 * Inside a SEA, corepkgs/ unpacked once to a cache directory named by the
 * contents' hash (the evaluator reads <nix/...> files from disk); undefined
 * outside a SEA.
 */
export function seaCorepkgsDir(): string | undefined {
  const sea = seaModule();
  if (!sea) return undefined;
  const names = JSON.parse(seaAssetText('corepkgs.json') ?? '[]') as string[];
  const files = names.map((n) => [n, Buffer.from(sea.getAsset(`corepkgs/${n}`))] as const);
  const h = createHash('sha256');
  for (const [n, b] of files) h.update(n).update(b);
  const dir = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tsnix', `corepkgs-${h.digest('hex').slice(0, 16)}`);
  if (!existsSync(dir)) {
    const tmp = `${dir}.${process.pid}.tmp`;
    mkdirSync(tmp, { recursive: true });
    for (const [n, b] of files) writeFileSync(join(tmp, n), b);
    try {
      renameSync(tmp, dir);
    } catch {
      // Another process unpacked it first.
    }
  }
  return dir;
}
