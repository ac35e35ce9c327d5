// The one place where a classic command's errors become Nix's output and exit
// code: `error: ...` (with position, code frame and trace for evaluation
// errors), a "Try '<prog> --help'" line after usage errors, exit code 1, and
// never a JavaScript stack trace (set TSNIX_DEBUG=1 to see one).

import { BuildError, NixError, UsageError } from '../eval/errors.js';
import { renderError } from '../eval/error-format.js';
import { loadSettings, SettingError, type Settings } from './settings.js';
import { FdOutput, writeAllFd, type Output } from './fd-output.js';
import { encodeBytes } from '../byte-strings.js';
import { forStderr } from '../ansi-escapes.js';
import { jsonLoggerFor, type JsonLogger } from '../build/json-log.js';

export interface CommandContext {
  programName: string;
  settings: Settings;
  /** The command's output (fd 1, written synchronously). */
  stdout: Output;
  stderr: NodeJS.WritableStream;
}

export type CommandMain = (argv: string[], ctx: CommandContext) => Promise<number> | number;

/** A command's messages on stderr: plain lines, or Nix's JSON messages with `--log-format internal-json`. */
export interface Messages {
  /** The JSON logger, when that is the format. */
  json: JsonLogger | undefined;
  /** At Nix's info level: shown from the default verbosity (3) up. */
  info(message: string): void;
  warn(message: string): void;
  /** Nix's printError: the message alone, without an "error: " prefix. */
  printError(message: string): void;
}

export function messagesFor(ctx: CommandContext, verbosity: number): Messages {
  // stderr is reached only when written to (it loads Node's stream modules).
  const json = jsonLoggerFor(ctx.settings.getString('log-format'), { write: (d) => ctx.stderr.write(d) });
  return {
    json,
    info: (m) => {
      if (verbosity < 3) return;
      if (json) json.msg(3, m);
      else ctx.stderr.write(`${m}\n`);
    },
    warn: (m) => (json ? json.warn(m) : ctx.stderr.write(`warning: ${m}\n`)),
    printError: (m) => (json ? json.msg(0, m) : ctx.stderr.write(`${m}\n`)),
  };
}

/** Exit code 1 for all failures, as Nix uses; `status` overrides (e.g. build failures use 100+). */
export class ExitError extends Error {
  constructor(readonly status: number, message = '') {
    super(message);
  }
}

export async function runNixCommand(programName: string, argv: string[], main: CommandMain): Promise<number> {
  let settings: Settings | undefined;
  try {
    settings = loadSettings();
    for (const w of settings.warnings) process.stderr.write(`warning: ${w}\n`);
    settings.warnings.length = 0;
    const ctx: CommandContext = {
      programName,
      settings,
      stdout: new FdOutput(1),
      // Lazily: only commands that print progress or warnings pay for Node's streams.
      get stderr() {
        return process.stderr;
      },
    };
    return await main(argv, ctx);
  } catch (e) {
    // The settings as the command line left them (`--show-trace`, `--no-show-trace`);
    // if parsing never got that far, whether the flag is present at all.
    const showTrace = settings ? settings.getBool('show-trace') || (argv.includes('--show-trace') && !argv.includes('--no-show-trace')) : argv.includes('--show-trace');
    return reportError(programName, e, showTrace, settings ? errorLogger(settings) : undefined);
  }
}

/**
 * With `--log-format internal-json`, final errors go out as Nix's JSON
 * messages, unless they go back to an evaluation that raises them itself
 * (TSNIX_ERRORS_FD, see writeError).
 */
export function errorLogger(settings: Settings): JsonLogger | undefined {
  return process.env.TSNIX_ERRORS_FD ? undefined : jsonLoggerFor(settings.getString('log-format'), { write: writeError });
}

/**
 * Where a command's final errors go: stderr, or the descriptor named by
 * TSNIX_ERRORS_FD when the evaluator started this tsnix to build for an
 * import from derivation (src/cli/build-during-eval.ts) and raises them
 * itself, with its evaluation trace. Everything else (build logs, progress,
 * warnings) stays on stderr.
 */
export function writeError(text: string | Uint8Array): void {
  const fd = Number(process.env.TSNIX_ERRORS_FD ?? 2);
  if (fd === 2) process.stderr.write(text);
  else writeAllFd(fd, typeof text === 'string' ? Buffer.from(text) : text);
}

export function reportError(programName: string, e: unknown, showTrace: boolean, json?: JsonLogger): number {
  if (process.env.TSNIX_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  if (e instanceof ExitError) {
    if (e.message) writeError(`error: ${e.message}\n`);
    return e.status;
  }
  if (e instanceof UsageError) {
    process.stderr.write(`${renderError(e, { showTrace })}\nTry '${programName} --help' for more information.\n`);
    return 1;
  }
  if (e instanceof NixError) {
    if (json) json.error(e.message, renderError(e, { showTrace }));
    // As bytes: a message can quote a string holding raw bytes (byte-strings.ts);
    // escape sequences in it are filtered as Nix filters every message.
    else writeError(encodeBytes(forStderr(renderError(e, { showTrace })) + '\n'));
    return e instanceof BuildError ? e.exitStatus : 1;
  }
  if (e instanceof SettingError) {
    writeError(`error: ${e.message}\n`);
    return 1;
  }
  if (e instanceof RangeError && /call stack/.test(e.message)) {
    writeError('error: stack overflow (possible infinite recursion)\n');
    return 1;
  }
  const message = e instanceof Error ? e.message : String(e);
  writeError(`error: ${message}\n`);
  return 1;
}
