// How a build looks on stderr. Elsewhere than on a terminal: Nix's plain
// lines ("building '…'...", the builder's output unless -Q, errors). On a
// terminal the same lines scroll above a status line that is redrawn in
// place, e.g. `[1/3 built] building hello`.

import type { Derivation } from '../store/derivation.js';
import type { BuildEvents } from './worker.js';
import { LogLines } from './log-lines.js';
import { encodeBytes, hasRawBytes } from '../byte-strings.js';
import { filterAnsiEscapes } from '../ansi-escapes.js';

export interface ProgressOptions {
  /** Show the builders' output (nix-build does unless -Q; -L forces it). */
  showLogs: boolean;
  /** Builds expected in total, for the status line. */
  expected?: number;
  /** Draw the status line (default: when the stream is a terminal). */
  statusLine?: boolean;
  /** The command's verbosity (3, Nix's info level, by default; --quiet lowers it). */
  verbosity?: number;
}

/** `error: ` with continuation lines indented under the message, as Nix prints errors. */
export function formatError(message: string): string {
  return `error: ${message.replace(/\n/g, '\n       ')}`;
}

export class BuildProgress implements BuildEvents {
  private readonly status: boolean;
  private done = 0;
  private readonly expected: number;
  private readonly running = new Map<string, string>();
  /** Each running build's output, cut into lines. */
  private readonly lines = new Map<string, LogLines>();
  private statusShown = false;

  constructor(private readonly out: NodeJS.WritableStream & { isTTY?: boolean }, private readonly options: ProgressOptions) {
    this.status = options.statusLine ?? out.isTTY === true;
    this.expected = options.expected ?? 0;
    // Without logs to show, the builder's log is not even watched.
    if (options.showLogs) this.buildLog = (drvPath, chunk) => this.showLog(drvPath, chunk);
  }

  buildLog?: (drvPath: string, chunk: Buffer) => void;

  private write(text: string): void {
    if (this.statusShown) {
      this.out.write('\r\x1b[K');
      this.statusShown = false;
    }
    // Bytes of a log line that are not UTF-8 go out as the bytes they are (a stream would write U+FFFD).
    this.out.write(hasRawBytes(text) ? encodeBytes(text) : text);
    this.redraw();
  }

  private redraw(): void {
    if (!this.status) return;
    const names = [...this.running.values()];
    if (names.length === 0 && this.done === 0) return;
    const counts = `[${this.done}/${Math.max(this.expected, this.done + names.length)} built]`;
    const line = names.length > 0 ? `${counts} building ${names.join(', ')}` : counts;
    // A terminal that does not report its size (e.g. under script(1)) says 0 columns.
    const width = (this.out as { columns?: number }).columns || 80;
    this.out.write(`\r\x1b[K${line.length > width - 1 ? line.slice(0, width - 2) + '…' : line}`);
    this.statusShown = true;
  }

  message(line: string, level = 3): void {
    if (level > (this.options.verbosity ?? 3)) return;
    this.write(line + '\n');
  }

  error(message: string): void {
    this.write(formatError(message) + '\n');
  }

  buildStarted(drvPath: string, drv: Derivation, text: string): void {
    this.message(text);
    this.running.set(drvPath, drv.name);
    this.redraw();
  }

  buildFinished(drvPath: string, ok: boolean): void {
    // Only a shown log was cut into lines: its unterminated last line.
    const rest = this.lines.get(drvPath)?.flush();
    if (rest !== undefined) this.writeLines(rest);
    this.lines.delete(drvPath);
    this.running.delete(drvPath);
    if (ok) this.done++;
    this.redraw();
  }

  private showLog(drvPath: string, chunk: Buffer): void {
    let split = this.lines.get(drvPath);
    if (split === undefined) this.lines.set(drvPath, (split = new LogLines()));
    this.writeLines(split.push(chunk));
  }

  /** Log lines as Nix prints them: escape sequences removed, colours kept on a terminal. */
  private writeLines(lines: string[]): void {
    if (lines.length === 0) return;
    const keepColours = this.out.isTTY === true;
    this.write(lines.map((l) => filterAnsiEscapes(l, keepColours) + '\n').join(''));
  }

  /** Removes the status line (before the command prints its results). */
  finish(): void {
    if (this.statusShown) {
      this.out.write('\r\x1b[K');
      this.statusShown = false;
    }
  }
}
