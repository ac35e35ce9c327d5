// The roots socket, <state>/gc-socket/socket: Nix's way for a process to
// add a temporary root while a collection runs. The collector reads the
// temproots files once, after taking the GC lock; a process that adds a
// root later and finds the GC lock taken sends the path over this socket
// (one line per path) and waits for the byte '1'. The collector answers
// only between its deletion batches, so once the answer arrives the path is
// either safe from this collection or already gone (and its name free to be
// created again). Nix 2.8 clients talk to tsnix's collector and tsnix
// clients to Nix's, with the same protocol.
//
// tsnix's store API is synchronous, so the client side runs the socket
// conversation on a worker thread and blocks on an Atomics wait; this only
// happens while a collection is running.

import fs from 'node:fs';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createHash } from '../hash.js';
import { NixError } from '../../eval/errors.js';
import type { Worker } from 'node:worker_threads';
import { parseStorePath } from '../store-path.js';
import { isCollectorRunning } from './gc-lock.js';

/** node:net, loaded on first use: it costs start-up time, and only a collection or a temporary root announced to one needs it. */
function lazyNet(): typeof net {
  return process.getBuiltinModule('node:net');
}

export function rootsSocketPath(stateDir: string): string {
  return path.join(stateDir, 'gc-socket', 'socket');
}

/** sun_path holds 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH = 100;

/**
 * A path to bind or connect to for the socket: the socket path itself, or,
 * when that is too long for a Unix socket address, the same file reached
 * through a short symlink to its directory (the same for server and
 * clients, derived from the directory's name).
 */
export function addressableSocketPath(socketPath: string): string {
  if (Buffer.byteLength(socketPath) <= MAX_SOCKET_PATH) return socketPath;
  const dir = path.dirname(socketPath);
  const alias = path.join(os.tmpdir(), `tsnix-gc-${createHash('sha1').update(dir).digest('hex').slice(0, 16)}`);
  try {
    if (fs.readlinkSync(alias) !== dir) fs.unlinkSync(alias);
  } catch {
    // Absent (or not a link we made): (re)create below.
  }
  try {
    fs.symlinkSync(dir, alias);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  return path.join(alias, path.basename(socketPath));
}

export class RootsServer {
  private readonly connections = new Set<net.Socket>();

  private constructor(private readonly server: net.Server, readonly socketPath: string) {}

  /**
   * Listens on the socket; each valid store path received has its hash part
   * passed to onRoot before the client is answered.
   */
  static async start(stateDir: string, storeDir: string, onRoot: (hashPart: string, storePath: string) => void,
    log: (message: string) => void): Promise<RootsServer> {
    const socketPath = rootsSocketPath(stateDir);
    fs.mkdirSync(path.dirname(socketPath), { recursive: true });
    try {
      fs.unlinkSync(socketPath);
    } catch {
      // Usually absent.
    }
    let self: RootsServer | undefined;
    const server = lazyNet().createServer((conn) => {
      self?.connections.add(conn);
      let buffered = '';
      conn.on('data', (data) => {
        buffered += data.toString('latin1');
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          try {
            const parsed = parseStorePath(line, storeDir);
            onRoot(parsed.hashPart, parsed.path);
          } catch {
            log('received garbage instead of a root from client');
          }
          conn.write('1');
        }
      });
      conn.on('error', () => conn.destroy());
      conn.on('close', () => self?.connections.delete(conn));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(addressableSocketPath(socketPath), () => {
        server.off('error', reject);
        resolve();
      });
    });
    fs.chmodSync(socketPath, 0o666);
    self = new RootsServer(server, socketPath);
    return self;
  }

  async stop(): Promise<void> {
    for (const conn of this.connections) conn.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    try {
      fs.unlinkSync(this.socketPath);
    } catch {
      // The next collector replaces it anyway.
    }
    const address = addressableSocketPath(this.socketPath);
    if (address !== this.socketPath) {
      try {
        fs.unlinkSync(path.dirname(address));
      } catch {
        // Already gone.
      }
    }
  }
}

// The client thread keeps one connection to the collector for all roots of
// this process (as Nix does); each request is one line, answered by '1'.
const CLIENT_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const net = require('node:net');
const flag = new Int32Array(workerData.shared);
let conn = null;
let connPath = null;
let pending = false;
const reply = (v) => { if (!pending) return; pending = false; Atomics.store(flag, 0, v); Atomics.notify(flag, 0); };
const drop = () => { if (conn) conn.destroy(); conn = null; connPath = null; };
parentPort.on('message', ({ socketPath, line }) => {
  pending = true;
  if (!conn || connPath !== socketPath) {
    drop();
    const c = net.connect(socketPath);
    conn = c;
    connPath = socketPath;
    c.on('data', (d) => { if (conn === c && d.includes(49)) reply(1); });
    c.on('error', (e) => { if (conn !== c) return; drop(); reply(e.code === 'ECONNREFUSED' || e.code === 'ENOENT' ? 2 : 3); });
    c.on('close', () => { if (conn !== c) return; drop(); reply(3); });
  }
  conn.write(line);
});
`;

const ACKED = 1;
const WAITING = 0;
const TIMED_OUT = 4;

let client: { worker: Worker; flag: Int32Array } | undefined;

function sendOnce(socketPath: string, storePath: string): number {
  if (!client) {
    const shared = new SharedArrayBuffer(4);
    const { Worker } = process.getBuiltinModule('node:worker_threads');
    const worker = new Worker(CLIENT_SOURCE, { eval: true, workerData: { shared } });
    worker.unref();
    client = { worker, flag: new Int32Array(shared) };
  }
  const { worker, flag } = client;
  Atomics.store(flag, 0, WAITING);
  worker.postMessage({ socketPath, line: `${storePath}\n` });
  // The collector answers between deletion batches; a minute without an
  // answer means the client thread or the collector is stuck: start afresh.
  if (Atomics.wait(flag, 0, WAITING, 60_000) === 'timed-out') {
    void worker.terminate();
    client = undefined;
    return TIMED_OUT;
  }
  return flag[0]!;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Makes sure a running collector knows about a temporary root that was just
 * written to this process's temproots file. Cheap when no collection runs:
 * the collector creates the socket before it reads the temproots files, so
 * if the socket does not exist the file was written before any collection
 * that could miss it began.
 */
export function announceTempRoot(stateDir: string, storePath: string): void {
  const socketPath = rootsSocketPath(stateDir);
  // A collector that holds the lock but never answers (a hung process) is an
  // error after a minute, not a silent hang of every build.
  for (let attempt = 0; attempt < 600; attempt++) {
    if (!fs.existsSync(socketPath)) return;
    if (!isCollectorRunning(stateDir)) return;
    if (sendOnce(addressableSocketPath(socketPath), storePath) === ACKED) return;
    // The collector is starting (socket not listening yet) or has just finished.
    sleepSync(100);
  }
  throw new NixError(`cannot register the temporary root '${storePath}' with the running garbage collector (socket '${socketPath}')`);
}
