// Starting builders (and taking output locks) from a small helper process.
//
// Why: starting a process from Node forks the whole process first, and the
// cost grows with its memory — about 3 ms for a fresh Node, 15 ms and more
// for a tsnix that has loaded the evaluator and the store. Builds start two
// processes each (the builder, and util-linux `flock` for the output lock,
// since Node has no flock(2)), so with trivial builders that dominated the
// time per build. The helper is a bare Node process started once per run;
// it forks builders and `flock` cheaply and reports back over the IPC
// channel.
//
// Locks are held by the helper's open file descriptions, which is what
// flock(2) ties them to; Nix processes see them as usual. If tsnix dies, the
// helper sees the channel close, kills the builders' process groups and
// exits, releasing the locks.
//
// Even from the small helper, one `flock` process per output lock cost a few
// milliseconds on the critical path of every build in a chain. So the helper
// keeps one long-lived Perl process (Perl has flock(2) built in, and is on
// practically every Unix) that opens, locks and closes lock files on request
// over a pipe and holds them as its own open files; when it is gone (it dies
// with the helper, and its locks with it) or cannot be started, the helper
// falls back to running `flock` per lock.
//
// Where no helper can be started (inside the single executable, which cannot
// run `node -e`), DirectSpawner does the same work in-process.

import fs from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { lockFd, openLockFile } from '../store/local/path-locks.js';
import { isSea } from '../single-executable.js';
import { withOriginalStackLimit } from '../stack-limit.js';
import { PERL_SERVER, PTY_IOCTLS } from './perl-server.js';
import { PtyKeeper } from './pty-keeper.js';
import { withoutRandomization } from './personality.js';

export interface SpawnRequest {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** Opened for appending and given to the builder as stdout and stderr. */
  logFile: string;
  /** false: stdout and stderr on the log file itself, not on a pseudo-terminal copying to it. */
  terminal?: boolean;
  argv0: string;
  /** Files opened for reading and given to the program as descriptors 3, 4, … (bwrap's --seccomp FD). */
  fdFiles?: string[];
  /** Run as this host user (root only). */
  uid?: number;
  gid?: number;
}

export interface ExitStatus {
  code: number | null;
  signal: string | null;
  /** errno code when the program could not be started (ENOENT, EACCES, ...). */
  error?: string;
}

export interface SpawnedBuilder {
  readonly exited: Promise<ExitStatus>;
  /** Kills the builder's whole process group. */
  kill(): void;
}

export interface Spawner {
  spawn(req: SpawnRequest): SpawnedBuilder;
  /** Write-locks `<path>.lock` for every path (sorted), or none of them: false if any is taken. */
  tryLock(paths: string[]): Promise<LockSet | undefined>;
  close(): void;
}

export interface LockSet {
  /** Releases; with deleteFiles, removes the lock files the way Nix does once the paths are valid. */
  release(deleteFiles: boolean): void;
}

// ---------------------------------------------------------------------------
// In-process

export class DirectSpawner implements Spawner {
  private readonly ptys = new PtyKeeper();

  spawn(req: SpawnRequest): SpawnedBuilder {
    let killed = false;
    let started: SpawnedBuilder | undefined;
    const exited = (async (): Promise<ExitStatus> => {
      // Output through a pseudo-terminal, as Nix gives builders; straight to the log where none can be had.
      const pty = req.terminal === false ? undefined : await this.ptys.open(req.logFile);
      let slave: number | undefined;
      if (pty) {
        try {
          slave = fs.openSync(pty.slave, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
        } catch {
          void this.ptys.exited(pty.id);
        }
      }
      if (killed) {
        if (slave !== undefined) {
          fs.closeSync(slave);
          await this.ptys.exited(pty!.id);
        }
        return { code: null, signal: 'SIGKILL' };
      }
      started = this.start(req, slave);
      if (slave === undefined) return started.exited;
      this.ptys.opened(pty!.id);
      const status = await started.exited;
      await this.ptys.exited(pty!.id);
      return status;
    })();
    return {
      exited,
      kill: () => {
        killed = true;
        started?.kill();
      },
    };
  }

  /** Starts the builder with stdout and stderr on `out` (a terminal's slave; closed here) or on the log. */
  private start(req: SpawnRequest, out: number | undefined): SpawnedBuilder {
    let fd: number;
    try {
      fd = out ?? fs.openSync(req.logFile, 'a');
    } catch (e) {
      return { exited: Promise.resolve({ code: null, signal: null, error: (e as NodeJS.ErrnoException).code ?? String(e) }), kill: () => {} };
    }
    // Standard input is /dev/null opened for reading and writing, as Nix gives it.
    const stdin = fs.openSync('/dev/null', 'r+');
    const extra = (req.fdFiles ?? []).map((f) => fs.openSync(f, 'r'));
    let child: ChildProcess;
    // Builders inherit tsnix's stack limit here. Only the single executable
    // (which does not raise its limit) and a tsnix whose helper failed to
    // start come this way.
    // Randomization off, as the spawn helper's builders inherit it (personality.ts).
    const run = withoutRandomization(req.command, req.args);
    try {
      child = spawn(run.command, run.args, {
        // setarch reads its argv[0] (as linux32, it sets 32 bits): its own name when it runs.
        env: req.env, cwd: req.cwd, stdio: [stdin, fd, fd, ...extra], detached: true, argv0: run.command === req.command ? req.argv0 : run.command,
        ...(req.uid !== undefined ? { uid: req.uid, gid: req.gid } : {}),
      });
    } finally {
      for (const f of [stdin, fd, ...extra]) fs.closeSync(f);
    }
    const exited = new Promise<ExitStatus>((resolve) => {
      child.on('error', (e) => resolve({ code: null, signal: null, error: (e as NodeJS.ErrnoException).code ?? e.message }));
      child.on('exit', (code, signal) => {
        killGroup(child.pid);
        resolve({ code, signal });
      });
    });
    return { exited, kill: () => killGroup(child.pid) };
  }

  async tryLock(paths: string[]): Promise<LockSet | undefined> {
    const held: { file: string; fd: number }[] = [];
    const release = (deleteFiles: boolean) => {
      for (const h of held.splice(0)) releaseLock(h.file, h.fd, deleteFiles);
    };
    for (const p of [...new Set(paths)].sort()) {
      const fd = lockOne(`${p}.lock`, (fd2) => lockFd(fd2, 'write', false));
      if (fd === undefined) {
        release(false);
        return undefined;
      }
      held.push({ file: `${p}.lock`, fd });
    }
    return { release };
  }

  close(): void {}
}

/** Opens and locks one lock file, starting again if the previous holder deleted it meanwhile (Nix's convention). */
function lockOne(file: string, lock: (fd: number) => boolean): number | undefined {
  for (;;) {
    const fd = openLockFile(file);
    if (!lock(fd)) {
      fs.closeSync(fd);
      return undefined;
    }
    const st = fs.fstatSync(fd);
    if (st.size !== 0 || st.nlink === 0) {
      fs.closeSync(fd);
      continue;
    }
    return fd;
  }
}

function releaseLock(file: string, fd: number, deleteFile: boolean): void {
  if (deleteFile) {
    try {
      fs.unlinkSync(file);
      fs.writeSync(fd, 'd');
    } catch {
      // Lock files only keep the store tidy.
    }
  }
  fs.closeSync(fd);
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

// ---------------------------------------------------------------------------
// The helper process

/** The helper's program, run with `node -e` (CommonJS; no dependencies). */
const HELPER_SOURCE = String.raw`
const fs = require('fs');
const { spawn, spawnSync } = require('child_process');
// Descriptors tsnix inherited without close-on-exec (from whoever started
// it) would reach every builder; Nix closes them before running one. They
// are the ones /proc/self/fdinfo shows without O_CLOEXEC (node's own have it).
for (const n of fs.readdirSync('/proc/self/fd')) {
  if (Number(n) <= 2 || n === process.env.NODE_CHANNEL_FD) continue;
  try {
    const m = /flags:\s*([0-7]+)/.exec(fs.readFileSync('/proc/self/fdinfo/' + n, 'utf8'));
    if (m && (parseInt(m[1], 8) & 0o2000000) === 0) fs.closeSync(Number(n));
  } catch {}
}
const children = new Set();
const locks = new Map();
const send = (m) => { try { process.send(m); } catch {} };
const killGroup = (pid) => { try { process.kill(-pid, 'SIGKILL'); } catch {} };
// The Perl lock holder: started with the helper; undefined once it is gone.
let locker;
let lockerOut = '';
const lockerWaiting = new Map();
const lockerHeld = new Set();
// Builders waiting for an answer about their pseudo-terminal, by spawn id.
const ptyWaiting = new Map();
function lockerGone() {
  if (!locker) return;
  locker = undefined;
  const onPty = [...ptyWaiting.values()];
  ptyWaiting.clear();
  for (const f of onPty) f('gone');
  // Requests it never answered are served the slow way.
  const waiting = [...lockerWaiting.values()];
  lockerWaiting.clear();
  for (const m of waiting) lockWithFlock(m);
}
try {
  locker = spawn('perl', ['-e', process.env.TSNIX_PERL_SERVER || ''], { stdio: ['pipe', 'pipe', 'inherit'] });
  locker.on('error', lockerGone);
  locker.on('exit', lockerGone);
  locker.stdin.on('error', () => {});
  locker.stdout.setEncoding('utf8');
  locker.stdout.on('data', (d) => {
    lockerOut += d;
    for (let i; (i = lockerOut.indexOf('\n')) >= 0; ) {
      const [idText, res, arg] = lockerOut.slice(0, i).split('\t');
      lockerOut = lockerOut.slice(i + 1);
      const id = Number(idText);
      const onPty = ptyWaiting.get(id);
      if (onPty) { ptyWaiting.delete(id); onPty(res, arg); continue; }
      if (!lockerWaiting.delete(id)) continue;
      if (res === 'ok') { lockerHeld.add(id); send({ t: 'locked', id, ok: true }); }
      else if (res === 'busy') send({ t: 'locked', id, ok: false });
      else send({ t: 'locked', id, ok: false, error: res });
    }
  });
} catch { locker = undefined; }
function lockOne(file) {
  for (;;) {
    const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
    const r = spawnSync('flock', ['-x', '-n', '3'], { stdio: ['ignore', 'ignore', 'pipe', fd] });
    if (r.error) { fs.closeSync(fd); throw r.error; }
    if (r.status !== 0) { fs.closeSync(fd); return undefined; }
    const st = fs.fstatSync(fd);
    if (st.size !== 0 || st.nlink === 0) { fs.closeSync(fd); continue; }
    return fd;
  }
}
process.on('message', (m) => {
  if (m.t === 'spawn') {
    // Output through a pseudo-terminal, as Nix gives builders; straight to the log where none can be had.
    if (!locker || !process.env.TSNIX_PTY_IOCTLS || m.terminal === false) return spawnBuilder(m);
    ptyWaiting.set(m.id, (res, slave) => {
      if (res !== 'pty') return spawnBuilder(m);
      let fd;
      try { fd = fs.openSync(slave, fs.constants.O_RDWR | fs.constants.O_NOCTTY); } catch { lockerSay('X', m.id); return spawnBuilder(m); }
      spawnBuilder(m, fd);
    });
    lockerSay('P', m.id, m.logFile);
  } else if (m.t === 'kill') {
    killGroup(m.pid);
  } else if (m.t === 'lock') {
    if (locker) {
      lockerWaiting.set(m.id, m);
      locker.stdin.write('L\t' + m.id + '\t' + m.files.join('\t') + '\n');
    } else {
      lockWithFlock(m);
    }
  } else if (m.t === 'unlock') {
    if (lockerHeld.delete(m.id)) {
      if (locker) locker.stdin.write('U\t' + m.id + '\t' + (m.delete ? 1 : 0) + '\n');
      return;
    }
    for (const h of locks.get(m.id) || []) {
      if (m.delete) { try { fs.unlinkSync(h.file); fs.writeSync(h.fd, 'd'); } catch {} }
      fs.closeSync(h.fd);
    }
    locks.delete(m.id);
  }
});
function lockerSay(...fields) {
  if (locker) locker.stdin.write(fields.join('\t') + '\n');
}
// Starts the builder with stdout and stderr on out (the pseudo-terminal's
// slave, whose output the Perl process copies to the log) or on the log.
function spawnBuilder(m, out) {
  const pty = out !== undefined;
  // Reported once (an exec failure can bring both 'error' and 'exit'), when the log has all the output.
  let reported = false;
  const report = (msg) => {
    if (reported) return;
    reported = true;
    if (!pty || !locker) return send(msg);
    ptyWaiting.set(m.id, () => send(msg));
    lockerSay('X', m.id);
  };
  let fd = out;
  if (!pty) {
    try { fd = fs.openSync(m.logFile, 'a'); } catch (e) { send({ t: 'exit', id: m.id, code: null, signal: null, error: e.code || e.message }); return; }
  }
  let child;
  const extra = [fs.openSync('/dev/null', 'r+')];
  try {
    for (const f of m.fdFiles || []) extra.push(fs.openSync(f, 'r'));
    const ids = m.uid !== undefined ? { uid: m.uid, gid: m.gid } : {};
    child = spawn(m.command, m.args, { env: m.env, cwd: m.cwd, stdio: [extra[0], fd, fd, ...extra.slice(1)], detached: true, argv0: m.argv0, ...ids });
  } catch (e) {
    for (const f of [fd, ...extra]) fs.closeSync(f);
    report({ t: 'exit', id: m.id, code: null, signal: null, error: e.code || e.message });
    return;
  }
  for (const f of [fd, ...extra]) fs.closeSync(f);
  if (pty) lockerSay('O', m.id);
  if (child.pid !== undefined) { children.add(child.pid); send({ t: 'spawned', id: m.id, pid: child.pid }); }
  child.on('error', (e) => report({ t: 'exit', id: m.id, code: null, signal: null, error: e.code || e.message }));
  child.on('exit', (code, signal) => {
    children.delete(child.pid);
    killGroup(child.pid);
    report({ t: 'exit', id: m.id, code, signal });
  });
}
function lockWithFlock(m) {
    const held = [];
    try {
      for (const file of m.files) {
        const fd = lockOne(file);
        if (fd === undefined) { for (const h of held) fs.closeSync(h.fd); send({ t: 'locked', id: m.id, ok: false }); return; }
        held.push({ file, fd });
      }
      locks.set(m.id, held);
      send({ t: 'locked', id: m.id, ok: true });
    } catch (e) {
      for (const h of held) fs.closeSync(h.fd);
      send({ t: 'locked', id: m.id, ok: false, error: String(e && e.message || e) });
    }
}
process.on('disconnect', () => { for (const pid of children) killGroup(pid); process.exit(0); });
`;

type HelperMessage =
  | { t: 'spawned'; id: number; pid: number }
  | { t: 'exit'; id: number; code: number | null; signal: string | null; error?: string }
  | { t: 'locked'; id: number; ok: boolean; error?: string };

export class HelperSpawner implements Spawner {
  private nextId = 1;
  private readonly pending = new Map<number, (m: HelperMessage) => void>();
  private readonly pids = new Map<number, number>();
  private closed = false;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (m: HelperMessage) => this.pending.get(m.id)?.(m));
    child.on('exit', () => {
      this.closed = true;
      // Anything still waiting can never be answered now.
      for (const [id, handler] of this.pending) handler({ t: 'exit', id, code: null, signal: null, error: 'the spawn helper exited' });
    });
    child.unref();
    (child.channel as { unref?: () => void } | undefined)?.unref?.();
  }

  static start(): HelperSpawner | undefined {
    // In the single executable, process.execPath is tsnix, not node.
    if (isSea()) return undefined;
    try {
      // Started with the stack limit tsnix was given, which its builders inherit.
      // Under setarch -R: builders inherit randomization off (personality.ts).
      const helper = withoutRandomization(process.execPath, ['-e', HELPER_SOURCE]);
      const { command, args } = withOriginalStackLimit(helper.command, helper.args);
      const child = spawn(command, args, {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TSNIX_PERL_SERVER: PERL_SERVER, ...(PTY_IOCTLS ? { TSNIX_PTY_IOCTLS: PTY_IOCTLS } : {}) },
      });
      return new HelperSpawner(child);
    } catch {
      return undefined;
    }
  }

  /** Keeps the event loop alive only while requests are outstanding. */
  private track(id: number, handler: (m: HelperMessage) => void): void {
    if (this.pending.size === 0) (this.child.channel as { ref?: () => void } | undefined)?.ref?.();
    this.pending.set(id, handler);
  }

  private untrack(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) (this.child.channel as { unref?: () => void } | undefined)?.unref?.();
  }

  spawn(req: SpawnRequest): SpawnedBuilder {
    const id = this.nextId++;
    const exited = new Promise<ExitStatus>((resolve) => {
      this.track(id, (m) => {
        if (m.t === 'spawned') this.pids.set(id, m.pid);
        else if (m.t === 'exit') {
          this.pids.delete(id);
          this.untrack(id);
          resolve({ code: m.code, signal: m.signal, ...(m.error ? { error: m.error } : {}) });
        }
      });
    });
    if (this.closed) {
      this.pending.get(id)?.({ t: 'exit', id, code: null, signal: null, error: 'the spawn helper exited' });
    } else {
      this.child.send({ t: 'spawn', id, ...req });
    }
    return {
      exited,
      kill: () => {
        const pid = this.pids.get(id);
        if (pid !== undefined && !this.closed) this.child.send({ t: 'kill', pid });
      },
    };
  }

  tryLock(paths: string[]): Promise<LockSet | undefined> {
    const id = this.nextId++;
    const files = [...new Set(paths)].sort().map((p) => `${p}.lock`);
    return new Promise((resolve, reject) => {
      this.track(id, (m) => {
        this.untrack(id);
        if (m.t !== 'locked') return reject(new Error('the spawn helper exited'));
        if (m.error) return reject(new Error(`acquiring/releasing lock: ${m.error}`));
        if (!m.ok) return resolve(undefined);
        resolve({
          release: (deleteFiles: boolean) => {
            if (!this.closed) this.child.send({ t: 'unlock', id, delete: deleteFiles });
          },
        });
      });
      this.child.send({ t: 'lock', id, files });
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.child.disconnect();
  }
}

/** The helper if it can be started, else in-process spawning. */
export function createSpawner(): Spawner {
  return HelperSpawner.start() ?? new DirectSpawner();
}
