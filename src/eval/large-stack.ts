// Evaluation recurses as deeply as the Nix program does: Nix allows 10000
// nested calls (max-call-depth) and each costs several JS frames, far more
// than the main thread's stack holds (its size is fixed by `ulimit -s`, so
// `node --stack-size` cannot safely go beyond it). A worker thread gets a
// stack of the size we ask for, so the CLI runs the whole command in one.
//
// Measured (Node 20, --show-trace, `f = n: … f (n - 1)`): the main thread
// overflows at ~1000 nested calls; a worker with a 64 MB stack completes
// 9990 nested calls and reports Nix's "max-call-depth exceeded" beyond that.
// We ask for 256 MB (virtual; pages are only touched as the stack grows).
//
// Usage in an entry point:
//
//   if (!isInLargeStack()) {
//     process.exitCode = await runInLargeStack(fileURLToPath(import.meta.url), process.argv.slice(2));
//   } else {
//     ...the actual command...
//   }

import { isMainThread, Worker, workerData } from 'node:worker_threads';
import { StackOverflowError } from './errors.js';

export const LARGE_STACK_MB = 256;

/** True inside the worker started by runInLargeStack. */
export function isInLargeStack(): boolean {
  return !isMainThread && (workerData as { tsnixLargeStack?: boolean } | undefined)?.tsnixLargeStack === true;
}

/**
 * Runs the script `file` again in a worker thread with a large stack, with
 * `argv` as its process.argv[2…]; resolves to its exit code. stdout/stderr
 * and the environment are shared with this process.
 */
export function runInLargeStack(file: string, argv: string[], stackSizeMb = LARGE_STACK_MB): Promise<number> {
  return new Promise((resolve) => {
    const w = new Worker(file, {
      argv,
      workerData: { tsnixLargeStack: true },
      env: process.env,
      resourceLimits: { stackSizeMb },
      stdout: false,
      stderr: false,
    });
    let code = 0;
    w.on('error', (e) => {
      process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
      code = 1;
    });
    w.on('exit', (c) => resolve(code || c));
  });
}

/**
 * Turns a JS stack overflow that escaped the max-call-depth accounting into
 * Nix's error, so it is reported rather than crashing the process.
 */
export function asNixStackOverflow(e: unknown): unknown {
  if (e instanceof RangeError && /call stack/.test(e.message)) {
    return new StackOverflowError('stack overflow; max-call-depth exceeded');
  }
  return e;
}
