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

export interface SpawnRequest {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** Opened for appending and given to the builder as stdout and stderr. */
  logFile: string;
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
  spawn(req: SpawnRequest): SpawnedBuilder {
    const fd = fs.openSync(req.logFile, 'a');
    // Standard input is /dev/null opened for reading and writing, as Nix gives it.
    const stdin = fs.openSync('/dev/null', 'r+');
    const extra = (req.fdFiles ?? []).map((f) => fs.openSync(f, 'r'));
    let child: ChildProcess;
    // Builders inherit tsnix's stack limit here. Only the single executable
    // (which does not raise its limit) and a tsnix whose helper failed to
    // start come this way.
    try {
      child = spawn(req.command, req.args, {
        env: req.env, cwd: req.cwd, stdio: [stdin, fd, fd, ...extra], detached: true, argv0: req.argv0,
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

/**
 * The lock holder and pseudo-terminal keeper run by the helper with
 * `perl -e`. Requests are lines on stdin, fields separated by tabs (store
 * paths contain neither):
 *   L <id> <file>...   lock all files (write, non-blocking) or none; answers
 *                      "<id>\tok", "<id>\tbusy" or "<id>\t<error message>"
 *   U <id> <0|1>       release the set <id>; with 1, first delete the files and
 *                      mark them stale with a byte (no answer)
 *   P <id> <log>       open a pseudo-terminal in raw mode whose output goes to
 *                      the end of the file <log>; answers "<id>\tpty\t<slave
 *                      path>" or "<id>\t<error message>"
 *   O <id>             the builder holds the slave now: drop our copy
 *   X <id>             the builder has exited: answers "<id>\tdone" once all
 *                      its output is in the log (the slave closed), or after
 *                      a second or two if something it left behind holds it
 * A lock file that a previous holder deleted (or wrote into) after we opened
 * it is opened again, Nix's convention.
 *
 * Why Perl: Nix runs builders with a pseudo-terminal as stdout and stderr,
 * and opening one takes ioctl(2)s that Node lacks (the two numbers, given
 * as TSNIX_PTY_IOCTLS, are the generic Linux TIOCSPTLCK and TIOCGPTN).
 * The output is read where the terminal was opened, so this process also
 * copies it to the log, between requests (one select(2) loop).
 */
const PERL_SERVER = String.raw`
use strict; use warnings; use Fcntl qw(:flock O_RDWR O_CREAT O_NOCTTY O_WRONLY O_APPEND); use Errno; use POSIX ();
$| = 1;
my %held; my %pty; my $in = '';
my ($unlockReq, $numberReq) = map { hex } split / /, ($ENV{TSNIX_PTY_IOCTLS} || '');
sub lockFiles {
  my ($id, @files) = @_;
  my @fhs; my $res = 'ok';
  FILE: for my $file (@files) {
    for (;;) {
      my $fh;
      if (!sysopen($fh, $file, O_RDWR | O_CREAT, 0600)) { $res = "opening lock file '$file': $!"; last FILE; }
      if (!flock($fh, LOCK_EX | LOCK_NB)) {
        my $err = $!; my $busy = $!{EWOULDBLOCK} || $!{EAGAIN};
        close $fh;
        $res = $busy ? 'busy' : "locking '$file': $err";
        last FILE;
      }
      my @st = stat($fh);
      if ($st[7] != 0 || $st[3] == 0) { close $fh; next; }
      push @fhs, [$file, $fh];
      last;
    }
  }
  if ($res eq 'ok') { $held{$id} = \@fhs; } else { close $_->[1] for @fhs; }
  print "$id\t$res\n";
}
# What cfmakeraw(3) does, as Nix does to the terminal: no \n -> \r\n, no echo, no signals.
sub rawMode {
  my ($fd) = @_;
  my $t = POSIX::Termios->new;
  $t->getattr($fd) or return 0;
  $t->setiflag($t->getiflag & ~(POSIX::IGNBRK() | POSIX::BRKINT() | POSIX::PARMRK() | POSIX::ISTRIP() | POSIX::INLCR() | POSIX::IGNCR() | POSIX::ICRNL() | POSIX::IXON()));
  $t->setoflag($t->getoflag & ~POSIX::OPOST());
  $t->setlflag($t->getlflag & ~(POSIX::ECHO() | POSIX::ECHONL() | POSIX::ICANON() | POSIX::ISIG() | POSIX::IEXTEN()));
  $t->setcflag(($t->getcflag & ~(POSIX::CSIZE() | POSIX::PARENB())) | POSIX::CS8());
  $t->setcc(POSIX::VMIN(), 1); $t->setcc(POSIX::VTIME(), 0);
  return $t->setattr($fd, POSIX::TCSANOW());
}
sub openPty {
  my ($id, $log) = @_;
  return print "$id\tno pseudo-terminals here\n" unless $numberReq;
  my ($m, $s, $l);
  return print "$id\topening pseudoterminal master: $!\n" unless sysopen($m, '/dev/ptmx', O_RDWR | O_NOCTTY);
  my $zero = pack('i', 0); my $n = pack('I', 0);
  return print "$id\tunlocking pseudoterminal: $!\n" unless ioctl($m, $unlockReq, $zero) && ioctl($m, $numberReq, $n);
  my $slave = '/dev/pts/' . unpack('I', $n);
  return print "$id\topening pseudoterminal slave: $!\n" unless sysopen($s, $slave, O_RDWR | O_NOCTTY);
  return print "$id\tputting pseudoterminal into raw mode: $!\n" unless rawMode(fileno $s);
  return print "$id\topening '$log': $!\n" unless sysopen($l, $log, O_WRONLY | O_APPEND);
  $pty{$id} = { m => $m, s => $s, log => $l, eof => 0, deadline => undef };
  print "$id\tpty\t$slave\n";
}
# Copies what the terminal has to the log; false once the slave side is closed (EIO).
sub pump {
  my ($p) = @_;
  my $r = sysread($p->{m}, my $buf, 65536);
  if (!defined $r) { return 1 if $!{EINTR} || $!{EAGAIN}; return 0; }
  return 0 if $r == 0;
  for (my $off = 0; $off < $r; ) { my $w = syswrite($p->{log}, $buf, $r - $off, $off); last unless defined $w; $off += $w; }
  return 1;
}
sub finish {
  my ($id) = @_;
  my $p = delete $pty{$id};
  close $p->{m}; close $p->{log}; close $p->{s} if $p->{s};
  print "$id\tdone\n";
}
sub request {
  my ($op, $id, @rest) = split /\t/, $_[0];
  if ($op eq 'L') { lockFiles($id, @rest); }
  elsif ($op eq 'U') {
    for my $h (@{ delete $held{$id} || [] }) {
      if ($rest[0] && unlink($h->[0])) { syswrite($h->[1], 'd'); }
      close $h->[1];
    }
  }
  elsif ($op eq 'P') { openPty($id, $rest[0]); }
  elsif ($op eq 'O' || $op eq 'X') {
    my $p = $pty{$id} or return;
    close $p->{s} if $p->{s}; $p->{s} = undef;
    return unless $op eq 'X';
    if ($p->{eof}) { finish($id); } else { $p->{deadline} = time + 2; }
  }
}
for (;;) {
  my $rin = ''; vec($rin, fileno(STDIN), 1) = 1;
  my $timeout;
  for my $p (values %pty) {
    next if $p->{eof};
    vec($rin, fileno($p->{m}), 1) = 1;
    if (defined $p->{deadline}) { my $t = $p->{deadline} - time; $timeout = $t if !defined $timeout || $t < $timeout; }
  }
  my $n = select(my $rout = $rin, undef, undef, defined $timeout ? ($timeout > 0 ? $timeout : 0) : undef);
  if ($n < 0) { next if $!{EINTR}; die "select: $!"; }
  for my $id (keys %pty) {
    my $p = $pty{$id};
    if (vec($rout, fileno($p->{m}), 1) && !pump($p)) { $p->{eof} = 1; }
    if (defined $p->{deadline} && ($p->{eof} || time >= $p->{deadline})) { finish($id); }
  }
  if (vec($rout, fileno(STDIN), 1)) {
    my $r = sysread(STDIN, my $buf, 65536);
    if (!defined $r) { next if $!{EINTR}; last; }
    last if $r == 0;
    $in .= $buf;
    while ($in =~ s/^([^\n]*)\n//) { request($1); }
  }
}
`;

/**
 * TIOCSPTLCK and TIOCGPTN (hexadecimal), where they have the generic Linux
 * values; elsewhere (other systems, and the Linux ports with their own ioctl
 * encoding) builders write to the log directly, without a terminal.
 */
const PTY_IOCTLS = process.platform === 'linux' && ['x64', 'ia32', 'arm64', 'arm', 'riscv64', 's390x', 'loong64'].includes(process.arch)
  ? '40045431 80045430'
  : undefined;

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
    if (!locker || !process.env.TSNIX_PTY_IOCTLS) return spawnBuilder(m);
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
      const { command, args } = withOriginalStackLimit(process.execPath, ['-e', HELPER_SOURCE]);
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
