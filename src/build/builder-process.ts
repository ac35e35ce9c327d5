// Running a builder program: stdout and stderr both on the log file, no
// stdin, its own process group; the log watched for live display and
// --max-silent-time, the whole group killed on timeout or abort.

import fs from 'node:fs';
import os from 'node:os';
import type { Spawner } from './spawn-helper.js';
import { execWithBytes } from '../exec-bytes.js';

export interface ProcessStatus {
  code: number;
  signal?: number;
  timedOut?: 'silence' | 'total';
  /** Killed for writing more than maxLogSize bytes of output. */
  logLimit?: boolean;
}

export interface RunOptions {
  uid?: number;
  gid?: number;
  env: Record<string, string>;
  cwd: string;
  logFile: string;
  onLog?: (chunk: Buffer) => void;
  signal?: AbortSignal;
  maxSilentTime: number;
  timeout: number;
  /** Bytes of output allowed (max-build-log-size); 0 = no limit. */
  maxLogSize?: number;
  /** See SpawnRequest.terminal. */
  terminal?: boolean;
  /** Before "executing '…': …" in the log when the program cannot be started. */
  execFailurePrefix?: string;
  argv0: string;
  /** See SpawnRequest.fdFiles. */
  fdFiles?: string[];
}

const SIGNAL_NUMBERS: Record<string, number> = os.constants.signals as unknown as Record<string, number>;

/**
 * Runs the builder with stdout and stderr both on the log file (one
 * descriptor keeps their order exact) and no stdin, in its own process
 * group so that everything it started can be killed together; watches the
 * log for live display and --max-silent-time.
 */
export async function runProcess(spawner: Spawner, command: string, args: string[], o: RunOptions): Promise<ProcessStatus> {
  // Through Perl when an argument or variable holds bytes that are not UTF-8 (exec-bytes.ts).
  let exec;
  try {
    exec = execWithBytes({ command, args, env: o.env, argv0: o.argv0, uid: o.uid, gid: o.gid });
  } catch (e) {
    // No Perl: the builder fails with the reason in its log, as a failed exec does.
    fs.appendFileSync(o.logFile, `${(e as Error).message}\n`);
    return { code: 1 };
  }
  const child = spawner.spawn({
    command: exec.command, args: exec.args, env: exec.env ?? o.env, cwd: o.cwd, logFile: o.logFile, argv0: o.argv0,
    ...(o.terminal === false ? { terminal: false } : {}),
    ...(o.fdFiles ? { fdFiles: o.fdFiles } : {}),
    ...(o.uid !== undefined ? { uid: o.uid, gid: o.gid } : {}),
  });
  const started = Date.now();
  let lastOutput = started;
  let readPos = 0;
  let timedOut: ProcessStatus['timedOut'];
  let readFd: number | undefined;
  const maxLogSize = o.maxLogSize ?? 0;
  let overLimit = false;
  const watchLog = o.onLog !== undefined || o.maxSilentTime > 0 || maxLogSize > 0;

  const drain = () => {
    if (!watchLog || overLimit) return;
    try {
      readFd ??= fs.openSync(o.logFile, 'r');
      const buf = Buffer.alloc(64 * 1024);
      for (;;) {
        let n = fs.readSync(readFd, buf, 0, buf.length, readPos);
        if (n <= 0) break;
        if (maxLogSize > 0 && readPos + n > maxLogSize) {
          // Nix drops the output that crosses the limit and kills the
          // builder. What it keeps ends where a read from the terminal
          // ended, usually a line: keep the whole lines within the limit.
          overLimit = true;
          n = buf.subarray(0, maxLogSize - readPos).lastIndexOf(10) + 1;
        }
        readPos += n;
        lastOutput = Date.now();
        if (n > 0) o.onLog?.(Buffer.from(buf.subarray(0, n)));
        if (overLimit) {
          child.kill();
          break;
        }
      }
    } catch {
      // The log is only shown; the build goes on.
    }
  };
  const needTimer = watchLog || o.timeout > 0;
  const timer = needTimer
    ? setInterval(() => {
        drain();
        const now = Date.now();
        if (o.maxSilentTime > 0 && now - lastOutput >= o.maxSilentTime * 1000) {
          timedOut = 'silence';
          child.kill();
        } else if (o.timeout > 0 && now - started >= o.timeout * 1000) {
          timedOut = 'total';
          child.kill();
        }
      }, 50)
    : undefined;
  const onAbort = () => child.kill();
  o.signal?.addEventListener('abort', onAbort);
  try {
    const status = await child.exited;
    // All the output is in the log now: what crossed the limit at the end counts too.
    drain();
    if (overLimit) {
      // The log keeps what was shown.
      fs.truncateSync(o.logFile, readPos);
      return { code: status.code ?? 1, logLimit: true };
    }
    if (status.error) {
      const reason = status.error === 'ENOENT' ? 'No such file or directory' : status.error === 'EACCES' ? 'Permission denied' : status.error;
      fs.appendFileSync(o.logFile, `${o.execFailurePrefix ?? ''}executing '${command}': ${reason}\n`);
      return { code: 1 };
    }
    if (timedOut) return { code: status.code ?? 1, timedOut };
    if (status.signal) return { code: 1, signal: SIGNAL_NUMBERS[status.signal] ?? 9 };
    return { code: status.code ?? 1 };
  } finally {
    exec.cleanup();
    if (timer) clearInterval(timer);
    o.signal?.removeEventListener('abort', onAbort);
    drain();
    if (readFd !== undefined) fs.closeSync(readFd);
  }
}
