// builtin:fetchurl, the builder of <nix/fetchurl.nix>: downloads `url` (with
// undici; file:// URLs are read directly) into the output, as a plain file,
// made executable with `executable = "1"`, or unpacked from a NAR with
// `unpack = "1"` (xz-compressed when the URL ends in .xz). TLS certificates
// are not verified, as in Nix: the fixed-output hash is checked afterwards.
// Hashed mirrors (the `hashed-mirrors` setting) are not consulted yet.

import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { restoreFromBuffer } from '../../store/nar.js';
import type { BuiltinContext } from './index.js';
import { loadPackage } from '../../load-package.js';

function attr(ctx: BuiltinContext, name: string): string {
  const v = ctx.drv.env.get(name);
  if (v === undefined) throw new Error(`attribute '${name}' missing`);
  return v;
}

async function download(url: string, signal?: AbortSignal): Promise<Buffer> {
  if (url.startsWith('file://')) return fs.readFileSync(fileURLToPath(url));
  const { Agent, request } = loadPackage<typeof import('undici')>('undici');
  const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
  try {
    let current = url;
    for (let redirects = 0; redirects < 10; redirects++) {
      const res = await request(current, { dispatcher, signal, method: 'GET' });
      if (res.statusCode >= 300 && res.statusCode < 400 && res.headers.location) {
        await res.body.dump();
        current = new URL(String(res.headers.location), current).toString();
        continue;
      }
      if (res.statusCode !== 200) {
        await res.body.dump();
        throw new Error(`unable to download '${url}': HTTP error ${res.statusCode}`);
      }
      return Buffer.from(await res.body.arrayBuffer());
    }
    throw new Error(`unable to download '${url}': too many redirects`);
  } catch (e) {
    if (e instanceof Error && e.message.startsWith('unable to download')) throw e;
    throw new Error(`unable to download '${url}': ${(e as Error).message}`);
  } finally {
    await dispatcher.close();
  }
}

export async function builtinFetchurl(ctx: BuiltinContext): Promise<void> {
  const out = ctx.outputs.get('out');
  if (!out) throw new Error("attribute 'out' missing");
  const url = attr(ctx, 'url');
  const unpack = ctx.drv.env.get('unpack') === '1';
  let data = await download(url, ctx.signal);
  if (unpack) {
    if (url.endsWith('.xz')) {
      const r = spawnSync('xz', ['-dc'], { input: data, maxBuffer: 1 << 30 });
      if (r.error || r.status !== 0) throw new Error(`decompressing '${url}': ${r.error?.message ?? r.stderr.toString().trim()}`);
      data = r.stdout;
    }
    restoreFromBuffer(out, data);
  } else {
    fs.writeFileSync(out, data, { mode: 0o644 });
  }
  if (ctx.drv.env.get('executable') === '1') fs.chmodSync(out, 0o755);
}
