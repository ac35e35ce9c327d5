// `nix-store --serve`: the legacy SSH store protocol (serve protocol 2.7),
// which `nix copy --to/--from ssh://`, nix-copy-closure and remote builders
// speak to the nix-store at the other end of an ssh connection. Numbers are
// 64-bit little-endian, strings length-prefixed and padded to 8 bytes, path
// sets a count and the paths in set order.
//
// Supported: querying validity, path infos and closures, dumping, exporting
// and importing paths, adding a NAR with its metadata, and building store
// paths (through the build callback). cmdBuildDerivation (Hydra's) is not.

import { NixError } from '../../eval/errors.js';
import { parseHashAny, printHash } from '../hash.js';
import { dumpPath, type SyncSource } from '../nar.js';
import { parseStorePath } from '../store-path.js';
import { writeExport } from '../export-format.js';
import { computeFSClosure, topoSortPaths } from '../query/closure.js';
import type { LocalStore } from './local-store.js';

export const SERVE_MAGIC_1 = 0x390c9deb;
export const SERVE_MAGIC_2 = 0x5452eecb;
export const SERVE_PROTOCOL_VERSION = (2 << 8) | 7;

const enum Command {
  QueryValidPaths = 1,
  QueryPathInfos = 2,
  DumpStorePath = 3,
  ImportPaths = 4,
  ExportPaths = 5,
  BuildPaths = 6,
  QueryClosure = 7,
  BuildDerivation = 8,
  AddToStoreNar = 9,
}

export interface ServeIO {
  input: SyncSource;
  /** Takes ownership of the buffer; flush() pushes everything out. */
  write(data: Buffer): void;
  flush(): void;
}

export interface BuildOutcome {
  status: number;
  message: string;
}

export interface ServeOptions {
  writeAllowed: boolean;
  /** Builds store paths (`path` or `drv!outputs`); status 0 on success. */
  buildPaths?: (paths: string[]) => Promise<BuildOutcome>;
}

/** Buffered little-endian serialisation of the protocol's values. */
class Out {
  private parts: Buffer[] = [];
  private size = 0;
  constructor(private readonly io: ServeIO) {}
  int(n: number | bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(n));
    this.parts.push(b);
    return this;
  }
  str(s: string): this {
    const bytes = Buffer.from(s, 'utf8');
    this.int(bytes.length);
    this.parts.push(bytes);
    const pad = (8 - (bytes.length % 8)) % 8;
    if (pad) this.parts.push(Buffer.alloc(pad));
    return this;
  }
  strings(items: Iterable<string>): this {
    const list = [...items];
    this.int(list.length);
    for (const s of list) this.str(s);
    return this;
  }
  /** Bulk data (NARs); pushed out every MiB so a large path is never held whole. */
  raw(b: Buffer): this {
    this.parts.push(b);
    this.size += b.length;
    if (this.size >= 1 << 20) this.flush();
    return this;
  }
  flush(): void {
    for (const p of this.parts) this.io.write(p);
    this.parts = [];
    this.size = 0;
    this.io.flush();
  }
}

class In {
  constructor(private readonly source: SyncSource) {}
  int(): number {
    const n = this.source.read(8).readBigUInt64LE(0);
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new NixError(`serialised integer ${n} is too large`);
    return Number(n);
  }
  str(): string {
    const len = this.int();
    if (len > 1 << 26) throw new NixError('string is too long');
    const s = len === 0 ? '' : this.source.read(len).toString('utf8');
    const pad = (8 - (len % 8)) % 8;
    if (pad) this.source.read(pad);
    return s;
  }
  strings(): string[] {
    const n = this.int();
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(this.str());
    return out;
  }
}

/** Reads at most `size` bytes of the underlying source, so what an import leaves unread can be drained. */
class SizedSource implements SyncSource {
  constructor(private readonly source: SyncSource, private remaining: number) {}
  read(n: number): Buffer {
    if (n > this.remaining) throw new NixError('unexpected end-of-file');
    this.remaining -= n;
    return this.source.read(n);
  }
  drain(): void {
    while (this.remaining > 0) this.read(Math.min(this.remaining, 65536));
  }
}

function sortedSet(paths: Iterable<string>): string[] {
  return [...new Set(paths)].sort();
}

/** Runs the protocol until the client closes the connection. */
export async function serve(store: LocalStore, io: ServeIO, options: ServeOptions): Promise<void> {
  const input = new In(io.input);
  const out = new Out(io);
  if (input.int() !== SERVE_MAGIC_1) throw new NixError('protocol mismatch');
  out.int(SERVE_MAGIC_2).int(SERVE_PROTOCOL_VERSION).flush();
  const clientVersion = input.int();
  const minor = clientVersion & 0xff;
  const readPaths = () => input.strings().map((p) => parseStorePath(p, store.storeDir).path);

  for (;;) {
    let cmd: number;
    try {
      cmd = input.int();
    } catch {
      // The client hung up.
      break;
    }
    switch (cmd) {
      case Command.QueryValidPaths: {
        const lock = input.int() !== 0;
        input.int(); // substitute: tsnix's local store has no substituters here
        const paths = readPaths();
        if (lock && options.writeAllowed) for (const p of paths) store.addTempRoot(p);
        out.strings(sortedSet(paths.filter((p) => store.isValidPath(p))));
        break;
      }
      case Command.QueryPathInfos: {
        for (const p of sortedSet(readPaths())) {
          const info = store.queryPathInfo(p);
          if (!info) continue;
          out.str(info.path).str(info.deriver ?? '').strings(info.references).int(info.narSize).int(info.narSize);
          if (minor >= 4) out.str(info.narHash).str(info.ca ?? '').strings([...new Set(info.sigs ?? [])].sort());
        }
        out.str('');
        break;
      }
      case Command.DumpStorePath: {
        const p = parseStorePath(input.str(), store.storeDir).path;
        if (!store.isValidPath(p)) throw new NixError(`path '${p}' is not valid`);
        dumpPath(store.toRealPath(p), (chunk) => out.raw(Buffer.from(chunk)));
        break;
      }
      case Command.ImportPaths: {
        if (!options.writeAllowed) throw new NixError('importing paths is not allowed');
        store.importPaths(io.input);
        out.int(1);
        break;
      }
      case Command.ExportPaths: {
        input.int(); // obsolete
        const paths = readPaths();
        writeExport(store, topoSortPaths(store, paths).reverse(), (chunk) => out.raw(Buffer.from(chunk)));
        break;
      }
      case Command.BuildPaths: {
        if (!options.writeAllowed) throw new NixError('building paths is not allowed');
        const paths = input.strings();
        // Build settings the client sends; tsnix's builder takes its own.
        input.int(); // max-silent-time
        input.int(); // timeout
        if (minor >= 2) input.int(); // max-log-size
        if (minor >= 3) {
          input.int(); // build-repeat
          input.int(); // enforce-determinism
        }
        if (minor >= 7) input.int(); // keep-failed
        const outcome = options.buildPaths
          ? await options.buildPaths(paths)
          : { status: 1, message: 'building is not supported by this nix-store --serve' };
        out.int(outcome.status);
        if (outcome.status !== 0) out.str(outcome.message);
        break;
      }
      case Command.QueryClosure: {
        const includeOutputs = input.int() !== 0;
        out.strings(sortedSet(computeFSClosure(store, readPaths(), { includeOutputs })));
        break;
      }
      case Command.AddToStoreNar: {
        if (!options.writeAllowed) throw new NixError('importing paths is not allowed');
        const path = parseStorePath(input.str(), store.storeDir).path;
        const deriver = input.str();
        const narHash = printHash(parseHashAny(input.str(), 'sha256'), 'base32', true);
        const references = readPaths();
        const registrationTime = input.int();
        const narSize = input.int();
        const ultimate = input.int() !== 0;
        const sigs = input.strings();
        const ca = input.str();
        if (narSize === 0) throw new NixError('narInfo is too old and missing the narSize field');
        const sized = new SizedSource(io.input, narSize);
        store.addToStoreFromNar({
          path, narHash, narSize, references, registrationTime, ultimate, sigs,
          ...(deriver !== '' ? { deriver } : {}),
          ...(ca !== '' ? { ca } : {}),
        }, sized);
        sized.drain();
        out.int(1);
        break;
      }
      case Command.BuildDerivation:
        throw new NixError('cmdBuildDerivation is not supported by tsnix yet');
      default:
        throw new NixError(`unknown serve command ${cmd}`);
    }
    out.flush();
  }
}
