// Dumping a large tree on two threads (nix-hash, nix-store --dump). A
// worker walks the tree and writes the NAR into a ring of buffers shared
// with the main thread (SharedArrayBuffer, Atomics), which hands them to the
// sink (hashing, or writing out). The two share the work by need: while the
// main thread has little queued, the worker leaves regular files to it (it
// lists their paths with the slot their nodes belong in, and the main thread
// writes those nodes itself); while the main thread is busy, the worker
// writes them. So hashing, which keeps the main thread busy, is overlapped
// with the walk, and --dump, whose writes cost little, splits the file
// system calls between the two threads.
//
// Every dump starts synchronously on the main thread, as dumpPath does. Only
// once it has written SPAWN_AFTER_BYTES or SPAWN_AFTER_ENTRIES is a worker
// started (~30 ms, on the other core); the main thread carries on until the
// worker is up and then hands it the rest of the walk (the open directories
// with their remaining entries, and a file it is in the middle of; see
// NarWriterState). Small trees so never pay for a worker; the evaluator
// does not use this at all.
//
// The worker runs the source text of defineNarWriter, ringViews and
// workerMain (eval: true), so this works the same from dist/, the bundle and
// the single executable. Its errors come back through the ring and are
// thrown on the main thread as the synchronous dump would throw them. A
// worker that dies without reporting (killed for memory, ...) is noticed by
// the main thread while it waits for it (see threadAlive).

import * as fs from 'node:fs';
import { Worker, type MessagePort } from 'node:worker_threads';
import { NixError } from '../eval/errors.js';
import { encodeBytes } from '../byte-strings.js';
import { HashSink, type Hash, type HashAlgo } from './hash.js';
import type { BorrowedSink } from './nar.js';
import { defineNarWriter, type NarOutput, type NarWriter, type NarWriterClass, type NarWriterState } from './nar-writer.js';

/**
 * A worker is started once a dump has written this much (~50-80 ms of work).
 * Starting one costs ~30 ms of the other core, and a process that ends while
 * its worker is still starting waits for it: a dump that finishes soon after
 * the start is slower than without (measured: a 20 MiB tree took 0.12 s
 * instead of 0.09 s with a 16 MiB threshold), a long one gains.
 */
const SPAWN_AFTER_BYTES = 64 * 1024 * 1024;
const SPAWN_AFTER_ENTRIES = 8000;

/**
 * The ring: SLOTS (a power of two) buffers of SLOT_SIZE bytes. 8 MiB rides
 * out a thread's short stalls; measured faster than 1-4 MiB and than 1 MiB slots.
 */
const SLOTS = 32;
const SLOT_SIZE = 256 * 1024;
/** Files the worker may leave to the main thread per slot, and room for their paths. */
const FILES_PER_SLOT = 16;
const PATHS_PER_SLOT = 16 * 1024;
/** The worker leaves files to the main thread while it has at most this many slots queued. */
const LEAVE_FILES_BELOW = 4;
/** A slot with less room than this left is passed on rather than continued after a file. */
const MIN_SLOT_ROOM = 4096;
/** How long the main thread waits for the worker's next slot before it checks that the worker still runs. */
const LIVENESS_CHECK_MS = 250;

/**
 * The protocol's constants, passed to the worker with its data (its source
 * cannot see this module). The control words (Int32Array indices) at the
 * start of the shared buffer, and the kinds of slots.
 */
const K = {
  PRODUCED: 0, // slots published by the worker (wraps at 2^31; only differences matter)
  CONSUMED: 1, // slots the main thread is done with
  READY: 2, // 1 once the worker waits for the hand-over
  GO: 3, // 1 once the hand-over state was posted
  ABORT: 4, // 1 when the main thread gives up (the worker stops)
  TID: 5, // the worker's kernel thread id (0: unknown), set before READY
  DATA: 1, // NAR bytes, with the nodes of the slot's files (if any) to be written in between
  END: 2, // the archive is complete
  ERROR: 3, // the worker failed: JSON of the error in the slot
};
const { PRODUCED, CONSUMED, READY, GO, ABORT, TID, DATA, END } = K;

/**
 * Where everything is in the shared buffer; computed on the main thread and
 * passed to the worker. Per slot: its kind, length, number of files and
 * bytes of paths (meta); per file: where in the slot's bytes its node goes
 * and its path's length (files), its path (paths). Files are in the order
 * of their nodes.
 */
function ringLayout() {
  const align = (n: number): number => Math.ceil(n / 8) * 8;
  const meta = 64;
  const files = align(meta + SLOTS * 4 * 4);
  const paths = align(files + SLOTS * FILES_PER_SLOT * 2 * 4);
  const data = align(paths + SLOTS * PATHS_PER_SLOT);
  return {
    slots: SLOTS,
    slotSize: SLOT_SIZE,
    filesPerSlot: FILES_PER_SLOT,
    pathsPerSlot: PATHS_PER_SLOT,
    meta,
    files,
    paths,
    data,
    total: data + SLOTS * SLOT_SIZE,
  };
}
type RingLayout = ReturnType<typeof ringLayout>;

/** Typed views of the shared buffer. Self-contained: the worker runs its source too. */
function ringViews(sab: SharedArrayBuffer, l: RingLayout) {
  const slotBuffers: Buffer[] = [];
  for (let i = 0; i < l.slots; i++) slotBuffers.push(Buffer.from(sab, l.data + i * l.slotSize, l.slotSize));
  return {
    ctl: new Int32Array(sab, 0, 16),
    meta: new Int32Array(sab, l.meta, l.slots * 4),
    files: new Int32Array(sab, l.files, l.slots * l.filesPerSlot * 2),
    paths: Buffer.from(sab, l.paths, l.slots * l.pathsPerSlot),
    slotBuffers,
  };
}

interface WorkerData {
  sab: SharedArrayBuffer;
  layout: RingLayout;
  k: typeof K;
  minSlotRoom: number;
  leaveFilesBelow: number;
  /** Tests only: the worker exits abruptly (process.exit) when about to publish this slot (0: the first). */
  exitAtSlot?: number;
}

/**
 * The kernel's id of the calling thread, from /proc (Linux); 0 where there
 * is none. Self-contained: the worker runs its source too.
 */
function kernelThreadId(fsModule: typeof fs): number {
  try {
    return Number(fsModule.readlinkSync('/proc/thread-self').split('/').pop()) || 0;
  } catch {
    return 0;
  }
}

/**
 * Whether a thread of this process is still running. The main thread blocks
 * in Atomics.wait while the worker writes, so it never sees the Worker's
 * 'exit' or 'error' events; the thread's entry under /proc/self/task is what
 * tells it that the worker is gone. Where the id is unknown, it is assumed alive.
 */
function threadAlive(tid: number): boolean {
  return tid === 0 || fs.existsSync(`/proc/self/task/${tid}`);
}

/**
 * A NarWriterState as posted to the worker: each directory's remaining names
 * in one buffer (cloning Buffers one by one would copy the pool each sits in).
 */
interface PackedState {
  stack: { path: Uint8Array; names: Uint8Array; lengths: number[]; kinds: number[] }[];
  file?: { path: Uint8Array; size: number; offset: number; fd: number };
}

function packState(state: NarWriterState): PackedState {
  const copy = (b: Buffer): Uint8Array => Uint8Array.prototype.slice.call(b);
  const packed: PackedState = {
    stack: state.stack.map((f) => {
      const rest = f.names.slice(f.next);
      return { path: copy(f.path), names: Buffer.concat(rest), lengths: rest.map((n) => n.length), kinds: f.kinds.slice(f.next) };
    }),
  };
  if (state.file) packed.file = { ...state.file, path: copy(state.file.path) };
  return packed;
}

/** The worker's side; self-contained like defineNarWriter (its source text is run in the worker). */
function workerMain(
  Writer: NarWriterClass,
  views: typeof ringViews,
  data: WorkerData,
  port: MessagePort,
  receive: (port: MessagePort) => { message: unknown } | undefined,
  tid: number,
  closeFd: (fd: number) => void,
): void {
  const { sab, layout, k, minSlotRoom, leaveFilesBelow, exitAtSlot } = data;
  const { PRODUCED, CONSUMED, READY, GO, ABORT, TID, DATA, END, ERROR } = k;
  const { slots, filesPerSlot, pathsPerSlot } = layout;
  const { ctl, meta, files, paths, slotBuffers } = views(sab, layout);
  const aborted = new Error('aborted');
  let produced = 0;
  // The slot being filled: its index, files and bytes of paths so far.
  let cur = 0;
  let nfiles = 0;
  let pathBytes = 0;

  /** Waits until the slot `produced` is free; it becomes the current one. */
  const acquire = (): Buffer => {
    for (;;) {
      if (Atomics.load(ctl, ABORT) !== 0) throw aborted;
      const consumed = Atomics.load(ctl, CONSUMED);
      if (((produced - consumed) | 0) < slots) break;
      Atomics.wait(ctl, CONSUMED, consumed, 100);
    }
    cur = produced & (slots - 1);
    nfiles = 0;
    pathBytes = 0;
    return slotBuffers[cur]!;
  };
  const publish = (kind: number, len: number): void => {
    if (produced === exitAtSlot) process.exit(1);
    meta[cur * 4] = kind;
    meta[cur * 4 + 1] = len;
    meta[cur * 4 + 2] = nfiles;
    meta[cur * 4 + 3] = pathBytes;
    produced = (produced + 1) | 0;
    Atomics.store(ctl, PRODUCED, produced);
    Atomics.notify(ctl, PRODUCED);
  };
  /** Bytes of the current slot up to `len` in `buf` (the writer may be filling a tail view of it). */
  const filled = (buf: Buffer, len: number): number => buf.byteOffset - slotBuffers[cur]!.byteOffset + len;

  Atomics.store(ctl, TID, tid);
  Atomics.store(ctl, READY, 1);
  Atomics.notify(ctl, READY);
  try {
    while (Atomics.load(ctl, GO) === 0) {
      if (Atomics.load(ctl, ABORT) !== 0) return;
      Atomics.wait(ctl, GO, 0, 100);
    }
    const packed = receive(port)!.message as PackedState;
    const asBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    const state: NarWriterState = { stack: [] };
    for (const f of packed.stack) {
      const all = asBuffer(f.names);
      const names: Buffer[] = [];
      let off = 0;
      for (const n of f.lengths) {
        names.push(all.subarray(off, off + n));
        off += n;
      }
      state.stack.push({ path: asBuffer(f.path), names, kinds: f.kinds, next: 0 });
    }
    if (packed.file) state.file = { ...packed.file, path: asBuffer(packed.file.path) };
    // The file handed over open is this thread's to close: resume does, once it has it.
    let first: Buffer;
    try {
      first = acquire();
    } catch (e) {
      if (state.file) closeFd(state.file.fd);
      throw e;
    }

    const out: NarOutput = {
      emit(buf, len) {
        publish(DATA, filled(buf, len));
        return acquire();
      },
    };
    // Regular files go to the main thread while it has little else queued.
    out.takeRegular = (buf, len, path) => {
      if (((produced - Atomics.load(ctl, CONSUMED)) | 0) >= leaveFilesBelow || path.length > pathsPerSlot) return undefined;
      let at = filled(buf, len);
      let slot = slotBuffers[cur]!;
      if (nfiles === filesPerSlot || pathBytes + path.length > pathsPerSlot || slot.length - at < minSlotRoom) {
        publish(DATA, at);
        slot = acquire();
        at = 0;
      }
      const f = cur * filesPerSlot + nfiles;
      files[f * 2] = at;
      files[f * 2 + 1] = path.length;
      path.copy(paths, cur * pathsPerSlot + pathBytes);
      pathBytes += path.length;
      nfiles++;
      return slot.subarray(at);
    };
    const writer = new Writer(first, out);
    writer.resume(state);
    writer.flush();
    acquire();
    publish(END, 0);
  } catch (e) {
    if (e === aborted) return;
    const err = e as NodeJS.ErrnoException & { nixError?: boolean; dest?: unknown };
    const text = Buffer.from(
      JSON.stringify({
        message: String(err?.message ?? e),
        nixError: err?.nixError === true,
        code: err?.code,
        errno: err?.errno,
        syscall: err?.syscall,
        path: err?.path === undefined ? undefined : String(err.path),
        dest: err?.dest === undefined ? undefined : String(err.dest),
      }),
    );
    try {
      const slot = acquire();
      const n = Math.min(text.length, slot.length);
      text.copy(slot, 0, 0, n);
      publish(ERROR, n);
    } catch {
      // Aborted: nobody is waiting for the error.
    }
  }
}

let workerSource: string | undefined;

function getWorkerSource(): string {
  workerSource ??= [
    '"use strict";',
    "const fs = require('node:fs');",
    "const { workerData, parentPort, receiveMessageOnPort } = require('node:worker_threads');",
    `const Writer = (${defineNarWriter.toString()})(fs, (m) => Object.assign(new Error(m), { nixError: true }));`,
    `const tid = (${kernelThreadId.toString()})(fs);`,
    `(${workerMain.toString()})(Writer, ${ringViews.toString()}, workerData, parentPort, receiveMessageOnPort, tid, fs.closeSync);`,
  ].join('\n');
  return workerSource;
}

const MainWriter = defineNarWriter(fs, (message) => new NixError(message));

/** The error a worker reported, as the synchronous dump would have thrown it. */
function workerError(json: string): Error {
  const e = JSON.parse(json) as { message: string; nixError: boolean; code?: string; errno?: number; syscall?: string; path?: string; dest?: string };
  if (e.nixError) return new NixError(e.message);
  const err = new Error(e.message) as NodeJS.ErrnoException & { dest?: string };
  if (e.code !== undefined) err.code = e.code;
  if (e.errno !== undefined) err.errno = e.errno;
  if (e.syscall !== undefined) err.syscall = e.syscall;
  if (e.path !== undefined) err.path = e.path;
  if (e.dest !== undefined) err.dest = e.dest;
  return err;
}

export interface ParallelDumpOptions {
  /** Tests: start a worker after this many bytes / entries instead of the defaults ... */
  spawnAfterBytes?: number;
  spawnAfterEntries?: number;
  /** ... and wait for it, so that the hand-over happens right there. */
  waitForWorker?: boolean;
  /** Tests: how many queued slots stop the worker leaving files to the main thread (0: never, Infinity: always). */
  leaveFilesBelow?: number;
  /** Tests: the worker dies abruptly (process.exit) when about to publish this slot (0: the first). */
  workerExitAtSlot?: number;
}

/**
 * Like dumpPath without a filter, but a large tree is serialised by a worker
 * thread and the main thread together, while the sink runs on the main
 * thread. Same bytes, same errors.
 */
export function dumpPathParallel(path: string | Buffer, sink: BorrowedSink, options: ParallelDumpOptions = {}): void {
  // Tests of the commands: hand over at the first entry, whatever the size.
  if (process.env.TSNIX_TEST_NAR_HAND_OVER === '1') options = { spawnAfterEntries: 0, waitForWorker: true, ...options };
  // Tests of the commands: the worker dies without reporting, at this slot.
  const exitAt = process.env.TSNIX_TEST_NAR_WORKER_EXIT;
  if (exitAt !== undefined && exitAt !== '') options = { workerExitAtSlot: Number(exitAt), ...options };
  const spawnAfterBytes = options.spawnAfterBytes ?? SPAWN_AFTER_BYTES;
  const spawnAfterEntries = options.spawnAfterEntries ?? SPAWN_AFTER_ENTRIES;
  let ring: { worker: Worker; sab: SharedArrayBuffer; layout: RingLayout; ctl: Int32Array } | undefined;
  let emitted = 0;
  let steps = 0;
  let noWorker = false;

  const buf = Buffer.allocUnsafe(SLOT_SIZE);
  const out: NarOutput = {
    emit(b, len) {
      emitted += len;
      sink(b.subarray(0, len));
      return b;
    },
    shouldPause(fileLeft) {
      if (ring) {
        if (options.waitForWorker) Atomics.wait(ring.ctl, READY, 0, 10_000);
        return Atomics.load(ring.ctl, READY) !== 0;
      }
      if (noWorker || (++steps < spawnAfterEntries && emitted < spawnAfterBytes)) return false;
      // Inside a file, only if much of it is left (it may be the last one).
      if (fileLeft > 0 && fileLeft < spawnAfterBytes) return false;
      const layout = ringLayout();
      const sab = new SharedArrayBuffer(layout.total);
      const data: WorkerData = {
        sab,
        layout,
        k: K,
        minSlotRoom: MIN_SLOT_ROOM,
        leaveFilesBelow: options.leaveFilesBelow ?? LEAVE_FILES_BELOW,
        exitAtSlot: options.workerExitAtSlot,
      };
      // stdout/stderr: true keeps Node from piping the worker's output to
      // process.stdout, which would make fd 1 non-blocking: a dump to a slow
      // reader would then spin on EAGAIN (measured: 4x slower into sha256sum).
      // The worker never prints; everything comes back through the ring.
      // execArgv: [] because the parent's flags are not for it (--stack-size
      // sized for the main thread's raised limit, --input-type=module).
      let worker: Worker;
      try {
        worker = new Worker(getWorkerSource(), { eval: true, workerData: data, stdout: true, stderr: true, execArgv: [] });
      } catch {
        // No worker (resource limits, ...): the main thread does it all.
        noWorker = true;
        return false;
      }
      // Its failures come through the ring; a worker that fails to start is never handed anything.
      worker.on('error', () => {});
      // Never keep the process alive for it; it ends by itself once the dump is done or aborted.
      worker.unref();
      ring = { worker, sab, layout, ctl: new Int32Array(sab, 0, 16) };
      return options.waitForWorker ? this.shouldPause!(fileLeft) : false;
    },
  };

  const writer = new MainWriter(buf, out);
  try {
    // A path that is not UTF-8 keeps its bytes (src/byte-fs.ts).
    const done = writer.begin(typeof path === 'string' ? encodeBytes(path) : path);
    writer.flush();
    if (done) return;
    // Hand over: the worker carries on where the main thread stopped.
    const state = writer.state();
    try {
      ring!.worker.postMessage(packState(state));
    } catch (e) {
      // Not handed over: the paused file is still ours to close.
      if (state.file) fs.closeSync(state.file.fd);
      throw e;
    }
    Atomics.store(ring!.ctl, GO, 1);
    Atomics.notify(ring!.ctl, GO);
    consume(ring!.sab, ring!.layout, new MainWriter(buf, { emit: out.emit }), sink, path);
  } finally {
    // Done, failed, or never needed: tell the worker to stop (it ends at once when done).
    if (ring) {
      Atomics.store(ring.ctl, ABORT, 1);
      Atomics.notify(ring.ctl, GO);
      Atomics.notify(ring.ctl, CONSUMED);
    }
  }
}

/**
 * The main thread's side of the ring: hands the slots' bytes to the sink in
 * order until END, writing the nodes of the files the worker left to it
 * (with `writer`, whose output is the sink) where they belong.
 */
function consume(sab: SharedArrayBuffer, layout: RingLayout, writer: NarWriter, sink: BorrowedSink, root: string | Buffer): void {
  const { ctl, meta, files, paths, slotBuffers } = ringViews(sab, layout);
  const { filesPerSlot, pathsPerSlot } = layout;
  const tid = Atomics.load(ctl, TID);
  let consumed = 0;
  for (;;) {
    while (Atomics.load(ctl, PRODUCED) === consumed) {
      if (Atomics.wait(ctl, PRODUCED, consumed, LIVENESS_CHECK_MS) !== 'timed-out') continue;
      // Gone without a last slot (END or ERROR): nothing more will come.
      if (!threadAlive(tid) && Atomics.load(ctl, PRODUCED) === consumed) {
        throw new NixError(`the worker thread writing the NAR of '${String(root)}' ended unexpectedly`);
      }
    }
    const i = consumed & (SLOTS - 1);
    const kind = meta[i * 4]!;
    const slot = slotBuffers[i]!.subarray(0, meta[i * 4 + 1]!);
    if (kind === END) return;
    if (kind !== DATA) throw workerError(slot.toString('utf8'));
    let pos = 0;
    let pathPos = i * pathsPerSlot;
    for (let f = i * filesPerSlot, end = f + meta[i * 4 + 2]!; f < end; f++) {
      const at = files[f * 2]!;
      const pathLen = files[f * 2 + 1]!;
      if (at > pos) sink(slot.subarray(pos, at));
      pos = at;
      // A copy: error messages may keep the path.
      writer.regularNode(Buffer.from(paths.subarray(pathPos, pathPos + pathLen)));
      writer.flush();
      pathPos += pathLen;
    }
    if (slot.length > pos) sink(slot.subarray(pos));
    consumed = (consumed + 1) | 0;
    Atomics.store(ctl, CONSUMED, consumed);
    Atomics.notify(ctl, CONSUMED);
  }
}

/** hashPath without a filter, on two threads for a large tree. */
export function hashPathParallel(algo: HashAlgo, path: string | Buffer): { hash: Hash; size: number } {
  const h = new HashSink(algo);
  dumpPathParallel(path, (chunk) => h.update(chunk));
  return h.finish();
}
