// `--log-format internal-json`: what Nix's JSON logger writes on stderr for
// programs that follow a build (nix-output-monitor and the like), one
// `@nix <object>` line per event. Activities (a realisation, the builds, a
// build) start and stop by id, and carry results: a builder's log lines,
// progress counts. Messages are `msg` actions with Nix's verbosity levels.
//
// The build path speaks it (nix-build, nix-store -r, their errors), and
// so do the evaluator's traces and warnings (as messages at Nix's levels)
// and the commands' messages (messagesFor in src/cli/run-command.ts).

import type { Derivation } from '../store/derivation.js';
import type { BuildEvents } from './worker.js';
import { LogLines } from './log-lines.js';
import { encodeBytes } from '../byte-strings.js';

/** Nix's ActivityType and ResultType numbers. */
export const ACT_COPY_PATH = 100;
export const ACT_FILE_TRANSFER = 101;
export const ACT_REALISE = 102;
export const ACT_COPY_PATHS = 103;
export const ACT_BUILDS = 104;
export const ACT_BUILD = 105;
export const RES_BUILD_LOG_LINE = 101;
export const RES_PROGRESS = 105;
export const RES_SET_EXPECTED = 106;

/** The logger for `--log-format internal-json`, or undefined for Nix's plain lines. */
export function jsonLoggerFor(logFormat: string, out: { write(data: string | Uint8Array): unknown }): JsonLogger | undefined {
  return logFormat === 'internal-json' ? new JsonLogger(out) : undefined;
}

/** Activity ids, shared by the loggers of a process (a command can make several). */
let nextId = 0n;

/** Writes `@nix` lines. Ids are Nix's: the process id in the high 32 bits, a counter below. */
export class JsonLogger {
  private readonly base = BigInt(process.pid) << 32n;

  constructor(private readonly out: { write(data: string | Uint8Array): unknown }) {}

  private emit(fields: string): void {
    this.out.write(encodeBytes(`@nix {${fields}}\n`));
  }

  msg(level: number, text: string): void {
    this.emit(`"action":"msg","level":${level},"msg":${JSON.stringify(text)}`);
  }

  /** A warning as Nix's logger sends one: a message at level 1, its prefix coloured. */
  warn(message: string): void {
    this.msg(1, `\x1b[35;1mwarning:\x1b[0m ${message}`);
  }

  /**
   * An error as Nix's logger sends one: no position here; the message as
   * shown (`rendered`, by default `error: ` and the message), its prefix
   * coloured as Nix colours it, and the bare message.
   */
  error(message: string, rendered = `error: ${message}`): void {
    const shown = rendered.replace(/^error:/, '\x1b[31;1merror:\x1b[0m');
    this.emit(`"action":"msg","column":null,"file":null,"level":0,"line":null,"msg":${JSON.stringify(shown)},"raw_msg":${JSON.stringify(message)}`);
  }

  start(type: number, level: number, text: string, fields?: (string | number)[]): bigint {
    const id = this.base + nextId++;
    const f = fields === undefined ? '' : `"fields":${JSON.stringify(fields)},`;
    this.emit(`"action":"start",${f}"id":${id},"level":${level},"text":${JSON.stringify(text)},"type":${type}`);
    return id;
  }

  stop(id: bigint): void {
    this.emit(`"action":"stop","id":${id}`);
  }

  result(id: bigint, type: number, fields: (string | number)[]): void {
    this.emit(`"action":"result","fields":${JSON.stringify(fields)},"id":${id},"type":${type}`);
  }
}

/** A build's events as Nix's worker reports them to the JSON logger. */
export class JsonBuildProgress implements BuildEvents {
  private readonly realise: bigint;
  private readonly builds: bigint;
  private readonly copyPaths: bigint;
  private done = 0;
  private failed = 0;
  private expected: number;
  private readonly running = new Map<string, { id: bigint; lines: LogLines }>();

  constructor(
    private readonly log: JsonLogger,
    private readonly options: { expected?: number; verbosity?: number; showLogs: boolean },
  ) {
    this.expected = options.expected ?? 0;
    // The worker watches builders' output only for an event that shows it.
    if (options.showLogs) this.buildLog = (drvPath, chunk) => this.showLog(drvPath, chunk);
    this.realise = log.start(ACT_REALISE, 0, '');
    this.builds = log.start(ACT_BUILDS, 0, '');
    this.copyPaths = log.start(ACT_COPY_PATHS, 0, '');
    this.progress();
  }

  /** The counts Nix's worker sends on each change: builds, substitutions, and what the realisation expects. */
  private progress(): void {
    this.log.result(this.builds, RES_PROGRESS, [this.done, this.expected, this.running.size, this.failed]);
    this.log.result(this.copyPaths, RES_PROGRESS, [0, 0, 0, 0]);
    this.log.result(this.realise, RES_SET_EXPECTED, [ACT_FILE_TRANSFER, 0]);
    this.log.result(this.realise, RES_SET_EXPECTED, [ACT_COPY_PATH, 0]);
  }

  message(line: string, level = 3): void {
    if (level > (this.options.verbosity ?? 3)) return;
    this.log.msg(level, line);
  }

  error(message: string): void {
    this.log.error(message);
  }

  buildStarted(drvPath: string, _drv: Derivation, text: string): void {
    // Nix's text has no trailing dots; the fields are the derivation, the machine, and the round.
    const id = this.log.start(ACT_BUILD, 3, text.replace(/\.\.\.$/, ''), [drvPath, '', 1, 1]);
    this.running.set(drvPath, { id, lines: new LogLines() });
    this.progress();
  }

  buildLog?: (drvPath: string, chunk: Buffer) => void;

  private showLog(drvPath: string, chunk: Buffer): void {
    const b = this.running.get(drvPath);
    if (b === undefined) return;
    for (const line of b.lines.push(chunk)) this.log.result(b.id, RES_BUILD_LOG_LINE, [line]);
  }

  buildFinished(drvPath: string, ok: boolean): void {
    const b = this.running.get(drvPath);
    if (b === undefined) return;
    if (this.options.showLogs) for (const line of b.lines.flush()) this.log.result(b.id, RES_BUILD_LOG_LINE, [line]);
    this.running.delete(drvPath);
    if (ok) this.done++;
    else {
      // Nix stops expecting a build that failed (the success keeps counting as expected and done).
      this.failed++;
      this.expected = Math.max(0, this.expected - 1);
    }
    this.progress();
    this.log.stop(b.id);
  }

  finish(): void {
    this.log.stop(this.copyPaths);
    this.log.stop(this.builds);
    this.log.stop(this.realise);
  }
}
