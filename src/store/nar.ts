// The Nix ARchive format: a canonical serialisation of a file tree (no
// timestamps, owners or permissions beyond the executable bit; directory
// entries sorted bytewise). Every string is a little-endian u64 length, the
// bytes, and zero padding to a multiple of 8.
//
// Dumping is one writer (nar-writer.ts) feeding a callback; large dumps of
// nix-hash and nix-store --dump run it on two threads (nar-parallel.ts).
// Parsing is a generator that yields how many bytes it needs next, so the
// same code serves synchronous sources and streams.

import {
  closeSync,
  constants as fsConstants,
  fchmodSync,
  fstatSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  symlinkSync,
  writeSync,
  chmodSync,
} from 'node:fs';
import * as fs from 'node:fs';
import { NixError } from '../eval/errors.js';
import { defineNarWriter, EntryKind, type NarOutput } from './nar-writer.js';
import { HashSink, type Hash, type HashAlgo } from './hash.js';
import { decodeBytes, encodeBytes } from '../byte-strings.js';

export const NAR_VERSION_MAGIC = 'nix-archive-1';

/** A malformed archive (Nix's SerialisationError / "bad archive: ..."). */
export class NarError extends NixError {}

export type NarEntryType = 'regular' | 'directory' | 'symlink' | 'unknown';

/** Decides whether an entry (absolute source path) goes into the archive. */
export type PathFilter = (path: string, type: NarEntryType) => boolean;

// ---------------------------------------------------------------------------
// Serialisation

const ZEROS = Buffer.alloc(8);

function u64(n: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

/** The framing of one NAR string: length, bytes, padding. */
function narString(s: string | Uint8Array): Buffer {
  const bytes = typeof s === 'string' ? encodeBytes(s) : s;
  const pad = (8 - (bytes.length % 8)) % 8;
  return Buffer.concat([u64(bytes.length), bytes, ZEROS.subarray(0, pad)]);
}

function tokens(...items: (string | Uint8Array)[]): Buffer {
  return Buffer.concat(items.map(narString));
}

const SLASH = Buffer.from('/');

function toBufferPath(path: string | Buffer): Buffer {
  return typeof path === 'string' ? encodeBytes(path) : path;
}

/** The NAR of a regular file with the given contents (Nix's dumpString). */
export function narOfString(contents: string | Uint8Array): Buffer {
  return Buffer.concat([narString(NAR_VERSION_MAGIC), tokens('(', 'type', 'regular', 'contents', contents, ')')]);
}

// ---------------------------------------------------------------------------
// Serialisation into a callback (the fast path for hashing and writing out)

/**
 * Receives NAR bytes. A chunk is lent for the duration of the call only: the
 * dumper reuses its buffers afterwards, so a sink that keeps data must copy.
 */
export type BorrowedSink = (chunk: Buffer) => void;

/** Size of the framing buffer and of reads of large files (few syscalls and sink calls). */
const DUMP_BUFFER_SIZE = 1024 * 1024;

/** The buffer of the last finished dump, free for the next one. */
let spareBuffer: Buffer | undefined;

const ENTRY_TYPES: Record<EntryKind, NarEntryType> = {
  [EntryKind.Other]: 'unknown',
  [EntryKind.Regular]: 'regular',
  [EntryKind.Directory]: 'directory',
  [EntryKind.Symlink]: 'symlink',
};

const NarWriter = defineNarWriter(fs, (message) => new NixError(message));

/**
 * Writes the NAR of `path` to a callback. The chunks are borrowed (see
 * BorrowedSink): hash them or write them out, but copy them to keep them.
 */
export function dumpPath(path: string | Buffer, sink: BorrowedSink, filter?: PathFilter): void {
  // Evaluations hash many small sources: reuse one buffer rather than
  // allocating 1 MiB per dump (a nested dump, from a filter, gets its own).
  const buf = spareBuffer ?? Buffer.allocUnsafe(DUMP_BUFFER_SIZE);
  spareBuffer = undefined;
  const out: NarOutput = {
    emit(b, len) {
      sink(b.subarray(0, len));
      return b;
    },
  };
  const entryFilter = filter && ((p: Buffer, kind: EntryKind) => filter(decodeBytes(p), ENTRY_TYPES[kind]));
  try {
    const writer = new NarWriter(buf, out, entryFilter);
    writer.begin(toBufferPath(path));
    writer.flush();
  } finally {
    spareBuffer = buf;
  }
}

function writeAllSync(fd: number, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) off += writeSync(fd, data, off, data.length - off);
}

/** The whole NAR in memory; for small trees and tests. */
export function narToBuffer(path: string | Buffer, filter?: PathFilter): Buffer {
  const chunks: Buffer[] = [];
  dumpPath(path, (chunk) => chunks.push(Buffer.from(chunk)), filter);
  return Buffer.concat(chunks);
}

/** Hash and size of the NAR of `path`, without holding the archive. */
export function hashPath(algo: HashAlgo, path: string | Buffer, filter?: PathFilter): { hash: Hash; size: number } {
  const sink = new HashSink(algo);
  dumpPath(path, (chunk) => sink.update(chunk), filter);
  return sink.finish();
}

// ---------------------------------------------------------------------------
// Parsing

/**
 * What a parsed archive produces. Paths are relative to the root: an empty
 * buffer for the root itself, `/a/b` below it. Names are validated before
 * any callback sees them.
 */
export interface NarVisitor {
  createDirectory(path: Buffer): void;
  createRegularFile(path: Buffer): void;
  isExecutable(): void;
  preallocateContents?(size: number): void;
  receiveContents(data: Buffer): void;
  /** Called once a regular file's contents have all been received. */
  closeRegularFile?(): void;
  createSymlink(path: Buffer, target: Buffer): void;
}

/** File contents are handed to the visitor in pieces of at most this size (few allocations and writes). */
const CONTENTS_CHUNK_SIZE = 1024 * 1024;

/** Tokens and symlink targets are small; refuse absurd lengths instead of allocating them. */
const MAX_TOKEN_LEN = 1 << 20;

type Need = number;
/**
 * The parser: yields how many bytes it needs, receives exactly that many
 * (a negative count for file contents, which may be lent; see readBorrowed).
 */
type NarParser = Generator<Need, void, Buffer>;

function badArchive(msg: string): NarError {
  return new NarError(`bad archive: ${msg}`);
}

function* readU64(): Generator<Need, number, Buffer> {
  const b = yield 8;
  const n = b.readBigUInt64LE(0);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new NarError(`serialised integer ${n} is too large for type 'm'`);
  return Number(n);
}

function* readPadding(len: number): Generator<Need, void, Buffer> {
  const pad = (8 - (len % 8)) % 8;
  if (pad === 0) return;
  const b = yield pad;
  for (let i = 0; i < pad; i++) if (b[i] !== 0) throw new NarError('non-zero padding');
}

function* readString(max = MAX_TOKEN_LEN): Generator<Need, Buffer, Buffer> {
  const len = yield* readU64();
  if (len > max) throw new NarError('string is too long');
  const b = len === 0 ? Buffer.alloc(0) : yield len;
  yield* readPadding(len);
  return b;
}

function* readToken(): Generator<Need, string, Buffer> {
  return (yield* readString()).toString('latin1');
}

function isBadName(name: Buffer): boolean {
  if (name.length === 0) return true;
  if (name.length === 1 && name[0] === 0x2e) return true;
  if (name.length === 2 && name[0] === 0x2e && name[1] === 0x2e) return true;
  return name.includes(0x2f) || name.includes(0);
}

function* parseNode(v: NarVisitor, path: Buffer): NarParser {
  if ((yield* readToken()) !== '(') throw badArchive('expected open tag');
  let type: 'unknown' | 'regular' | 'directory' | 'symlink' = 'unknown';
  let prevName: Buffer | undefined;
  for (;;) {
    const s = yield* readToken();
    if (s === ')') break;
    if (s === 'type') {
      if (type !== 'unknown') throw badArchive('multiple type fields');
      const t = yield* readToken();
      if (t === 'regular') {
        type = 'regular';
        v.createRegularFile(path);
      } else if (t === 'directory') {
        type = 'directory';
        v.createDirectory(path);
      } else if (t === 'symlink') {
        type = 'symlink';
      } else throw badArchive(`unknown file type ${t}`);
    } else if (s === 'contents' && type === 'regular') {
      const size = yield* readU64();
      v.preallocateContents?.(size);
      let left = size;
      while (left > 0) {
        const n = Math.min(left, CONTENTS_CHUNK_SIZE);
        // Negative: the visitor consumes contents at once, so the bytes may be borrowed.
        v.receiveContents(yield -n);
        left -= n;
      }
      yield* readPadding(size);
    } else if (s === 'executable' && type === 'regular') {
      if ((yield* readString()).length !== 0) throw badArchive('executable marker has non-empty value');
      v.isExecutable();
    } else if (s === 'entry' && type === 'directory') {
      if ((yield* readToken()) !== '(') throw badArchive('expected open tag');
      let name: Buffer | undefined;
      for (;;) {
        const f = yield* readToken();
        if (f === ')') break;
        if (f === 'name') {
          name = yield* readString();
          if (isBadName(name)) throw new NarError(`NAR contains invalid file name '${name.toString('utf8')}'`);
          if (prevName && Buffer.compare(name, prevName) <= 0) throw new NarError('NAR directory is not sorted');
          prevName = name;
        } else if (f === 'node') {
          if (!name) throw badArchive('entry name missing');
          yield* parseNode(v, Buffer.concat([path, SLASH, name]));
        } else throw badArchive(`unknown field ${f}`);
      }
    } else if (s === 'target' && type === 'symlink') {
      v.createSymlink(path, yield* readString());
    } else {
      throw badArchive(`unknown field ${s}`);
    }
  }
  if (type === 'regular') v.closeRegularFile?.();
}

function* parseArchive(v: NarVisitor): NarParser {
  let version: Buffer | undefined;
  const len = yield* readU64();
  if (len <= NAR_VERSION_MAGIC.length) {
    version = len === 0 ? Buffer.alloc(0) : yield len;
    yield* readPadding(len);
  }
  if (version?.toString('latin1') !== NAR_VERSION_MAGIC) throw badArchive("input doesn't look like a Nix archive");
  yield* parseNode(v, Buffer.alloc(0));
}

/** A synchronous byte source: returns exactly `n` bytes or throws at end of input. */
export interface SyncSource {
  read(n: number): Buffer;
  /** Like read, but the bytes may be a view that is only valid until the next read (file contents). */
  readBorrowed?(n: number): Buffer;
}

export class BufferSource implements SyncSource {
  private pos = 0;
  constructor(private readonly data: Uint8Array) {}
  read(n: number): Buffer {
    if (this.pos + n > this.data.length) throw new NarError('unexpected end-of-file');
    const b = Buffer.from(this.data.buffer, this.data.byteOffset + this.pos, n);
    this.pos += n;
    return b;
  }
  get remaining(): number {
    return this.data.length - this.pos;
  }
}

const SLEEPER = new Int32Array(new SharedArrayBuffer(4));

/** How much FdSource reads ahead: one read(2) serves the many small tokens of an archive. */
const FD_BUFFER_SIZE = 1024 * 1024;
/** Requests at least this large skip the read-ahead buffer (no copy). */
const DIRECT_READ_SIZE = 64 * 1024;

/**
 * Reads from a file descriptor (a file or a pipe) with readSync, buffered
 * like Nix's FdSource: it may read past what was asked for (never blocking
 * for more than it needs), so one FdSource must serve all reads of a stream.
 * Every returned buffer is the caller's own.
 */
export class FdSource implements SyncSource {
  private readonly buf = Buffer.allocUnsafe(FD_BUFFER_SIZE);
  private start = 0;
  private end = 0;

  constructor(private readonly fd: number) {}

  read(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      if (this.start === this.end) {
        // A large request (file contents) reads straight into its own buffer.
        if (n - got >= DIRECT_READ_SIZE) {
          got += this.readSome(out, got, n - got);
          continue;
        }
        this.start = 0;
        this.end = this.readSome(this.buf, 0, this.buf.length);
      }
      const take = Math.min(n - got, this.end - this.start);
      this.buf.copy(out, got, this.start, this.start + take);
      this.start += take;
      got += take;
    }
    return out;
  }

  readBorrowed(n: number): Buffer {
    if (this.end - this.start < n) {
      // Refill only when the buffered rest is too short; contents larger than the buffer are read on their own.
      if (n > this.buf.length || n >= DIRECT_READ_SIZE) return this.read(n);
      this.buf.copy(this.buf, 0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
      while (this.end < n) this.end += this.readSome(this.buf, this.end, this.buf.length - this.end);
    }
    const view = this.buf.subarray(this.start, this.start + n);
    this.start += n;
    return view;
  }

  /** At least one byte, or NarError at end of input. */
  private readSome(b: Buffer, offset: number, length: number): number {
    for (;;) {
      let r: number;
      try {
        r = readSync(this.fd, b, offset, length, null);
      } catch (e) {
        // A non-blocking pipe with nothing in it yet: wait a moment instead of spinning.
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
          Atomics.wait(SLEEPER, 0, 0, 1);
          continue;
        }
        throw e;
      }
      if (r === 0) throw new NarError('unexpected end-of-file');
      return r;
    }
  }
}

export interface ParseOptions {
  /** Sees every byte of the archive as it is consumed (for hashing / copying). */
  onBytes?: (chunk: Buffer) => void;
}

/** Parses one archive from a synchronous source, reading exactly its bytes. */
export function parseNar(source: SyncSource, visitor: NarVisitor, options: ParseOptions = {}): void {
  const gen = parseArchive(visitor);
  let step = gen.next(undefined as unknown as Buffer);
  while (!step.done) {
    const want = step.value;
    const chunk = want < 0 ? (source.readBorrowed ? source.readBorrowed(-want) : source.read(-want)) : source.read(want);
    options.onBytes?.(chunk);
    step = gen.next(chunk);
  }
}

/** Parses one archive from an async stream of chunks (stdin); bytes after the archive are ignored. */
export async function parseNarAsync(stream: AsyncIterable<Uint8Array>, visitor: NarVisitor, options: ParseOptions = {}): Promise<void> {
  const iter = stream[Symbol.asyncIterator]();
  let pending: Buffer[] = [];
  let pendingLen = 0;
  const take = async (n: number): Promise<Buffer> => {
    while (pendingLen < n) {
      const r = await iter.next();
      if (r.done) throw new NarError('unexpected end-of-file');
      const b = Buffer.from(r.value);
      pending.push(b);
      pendingLen += b.length;
    }
    const all = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
    const out = all.subarray(0, n);
    pending = all.length > n ? [all.subarray(n)] : [];
    pendingLen -= n;
    return Buffer.from(out);
  };
  const gen = parseArchive(visitor);
  let step = gen.next(undefined as unknown as Buffer);
  while (!step.done) {
    const chunk = await take(Math.abs(step.value));
    options.onBytes?.(chunk);
    step = gen.next(chunk);
  }
}

/** Checks that bytes form one well-formed archive and nothing else. */
export function validateNar(data: Uint8Array): void {
  const src = new BufferSource(data);
  parseNar(src, NULL_VISITOR);
  if (src.remaining !== 0) throw new NarError('bad archive: trailing data after the archive');
}

const NULL_VISITOR: NarVisitor = {
  createDirectory() {},
  createRegularFile() {},
  isExecutable() {},
  receiveContents() {},
  createSymlink() {},
};

// ---------------------------------------------------------------------------
// Restoring

export interface RestoreOptions extends ParseOptions {
  /** Give the tree Nix's canonical store metadata: mtime 1, modes 0444/0555. */
  canonicalise?: boolean;
}

/**
 * Writes the tree the archive describes at `target`, which must not exist.
 * Every directory on the way is one this restore created, names are
 * validated, and files are opened with O_EXCL|O_NOFOLLOW, so an archive can
 * neither escape `target` nor write through a symlink it planted.
 */
export class RestoreVisitor implements NarVisitor {
  private fd: number | undefined;
  private readonly target: Buffer;

  constructor(target: string | Buffer) {
    this.target = toBufferPath(target);
  }

  private full(path: Buffer): Buffer {
    return Buffer.concat([this.target, path]);
  }

  createDirectory(path: Buffer): void {
    mkdirSync(this.full(path), { mode: 0o777 });
  }

  createRegularFile(path: Buffer): void {
    this.closeRegularFile();
    const flags = fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY | fsConstants.O_NOFOLLOW;
    this.fd = openSync(this.full(path), flags, 0o666);
  }

  isExecutable(): void {
    if (this.fd === undefined) return;
    fchmodSync(this.fd, fstatSync(this.fd).mode | 0o111);
  }

  receiveContents(data: Buffer): void {
    if (this.fd !== undefined) writeAllSync(this.fd, data);
  }

  closeRegularFile(): void {
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
  }

  createSymlink(path: Buffer, target: Buffer): void {
    this.closeRegularFile();
    symlinkSync(target, this.full(path));
  }

  /** Closes any open file (after an error too). */
  close(): void {
    this.closeRegularFile();
  }
}

/** Restores an archive from a synchronous source at `target`. */
export function restorePath(target: string | Buffer, source: SyncSource, options: RestoreOptions = {}): void {
  const v = new RestoreVisitor(target);
  try {
    parseNar(source, v, options);
  } finally {
    v.close();
  }
  if (options.canonicalise) canonicaliseMetadata(target);
}

export function restoreFromBuffer(target: string | Buffer, nar: Uint8Array, options: RestoreOptions = {}): void {
  restorePath(target, new BufferSource(nar), options);
}

export async function restorePathAsync(target: string | Buffer, stream: AsyncIterable<Uint8Array>, options: RestoreOptions = {}): Promise<void> {
  const v = new RestoreVisitor(target);
  try {
    await parseNarAsync(stream, v, options);
  } finally {
    v.close();
  }
  if (options.canonicalise) canonicaliseMetadata(target);
}

/**
 * Nix's canonical metadata for store contents: mode 0444, or 0555 when the
 * owner could execute (directories always), and mtime 1 (atime is kept).
 * Symlinks keep their mode; only their mtime is set. Children first, so
 * read-only directories are set last.
 */
export function canonicaliseMetadata(path: string | Buffer): void {
  const p = toBufferPath(path);
  const st = lstatSync(p);
  if (st.isDirectory()) {
    for (const name of readdirSync(p, { encoding: 'buffer' })) canonicaliseMetadata(Buffer.concat([p, SLASH, name]));
  }
  if (!st.isSymbolicLink()) {
    const mode = 0o444 | (st.mode & 0o100 ? 0o111 : 0);
    if ((st.mode & 0o7777) !== mode) chmodSync(p, mode);
  }
  lutimesSync(p, st.atime, 1);
}
