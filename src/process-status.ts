// How Nix words the end of a child process (its statusToString): "failed
// with exit code 2", or "failed due to signal 9 (Killed)" with the signal's
// number and the C library's description of it (strsignal). Node reports a
// signal by its name, so the number comes from os.constants and the text
// from glibc's table below.

import { constants } from 'node:os';

/** glibc's strsignal texts for the Linux signals. */
const DESCRIPTIONS: Record<string, string> = {
  SIGHUP: 'Hangup',
  SIGINT: 'Interrupt',
  SIGQUIT: 'Quit',
  SIGILL: 'Illegal instruction',
  SIGTRAP: 'Trace/breakpoint trap',
  SIGABRT: 'Aborted',
  SIGBUS: 'Bus error',
  SIGFPE: 'Floating point exception',
  SIGKILL: 'Killed',
  SIGUSR1: 'User defined signal 1',
  SIGSEGV: 'Segmentation fault',
  SIGUSR2: 'User defined signal 2',
  SIGPIPE: 'Broken pipe',
  SIGALRM: 'Alarm clock',
  SIGTERM: 'Terminated',
  SIGSTKFLT: 'Stack fault',
  SIGCHLD: 'Child exited',
  SIGCONT: 'Continued',
  SIGSTOP: 'Stopped (signal)',
  SIGTSTP: 'Stopped',
  SIGTTIN: 'Stopped (tty input)',
  SIGTTOU: 'Stopped (tty output)',
  SIGURG: 'Urgent I/O condition',
  SIGXCPU: 'CPU time limit exceeded',
  SIGXFSZ: 'File size limit exceeded',
  SIGVTALRM: 'Virtual timer expired',
  SIGPROF: 'Profiling timer expired',
  SIGWINCH: 'Window changed',
  SIGIO: 'I/O possible',
  SIGPWR: 'Power failure',
  SIGSYS: 'Bad system call',
};

/** Nix's statusToString, for an exit code or a signal (node's name for it, or its number). */
export function statusToString(code: number | null, signal?: string | number | null): string {
  if (signal !== undefined && signal !== null) {
    const signals = constants.signals as Record<string, number | undefined>;
    const name = typeof signal === 'string' ? signal : Object.keys(signals).find((n) => signals[n] === signal);
    const number = typeof signal === 'number' ? signal : signals[signal];
    if (number === undefined) return 'died abnormally';
    const description = name === undefined ? undefined : DESCRIPTIONS[name];
    return description === undefined ? `failed due to signal ${number}` : `failed due to signal ${number} (${description})`;
  }
  if (code === null) return 'died abnormally';
  return code === 0 ? 'succeeded' : `failed with exit code ${code}`;
}
