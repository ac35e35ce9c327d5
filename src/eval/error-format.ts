// Renders a NixError exactly as Nix's showErrorInfo does (without colours):
//
//   error:
//          … while calling the 'abort' builtin
//            at /f.nix:1:14:
//               1| if true then abort "x" else 1
//                |              ^
//               2|
//
//          error: evaluation aborted with the following error message: 'x'
//
// Frames are printed outermost first; without --show-trace at most a few are
// shown, the rest replaced by a "stack trace truncated" line.

import { readText } from '../byte-fs.js';
import type { NixError, TraceFrame } from './errors.js';
import { showPos, type Pos } from './position.js';

export interface RenderOptions {
  showTrace: boolean;
  /** 'error' or 'warning' or 'evaluation warning'. */
  level?: string;
  /** Print the message as is after the prefix, without indenting its lines (builtins.warn with a leading newline). */
  noIndent?: boolean;
}

function sourceOf(pos: Pos): string | undefined {
  const o = pos.origin;
  switch (o.kind) {
    case 'stdin':
    case 'string':
      return o.source;
    case 'file':
      if (o.source !== undefined) return o.source;
      try {
        return readText(o.path);
      } catch {
        return undefined;
      }
    default:
      return undefined;
  }
}

// Nix splits on \r\n, \r and \n alike so line numbers agree with the lexer.
function splitLines(source: string): string[] {
  return source.split(/\r\n|\r|\n/);
}

function codeFrame(pos: Pos): string {
  if (pos.line === 0) return '';
  const source = sourceOf(pos);
  if (source === undefined) return '';
  const lines = splitLines(source);
  const num = (n: number) => String(n).padStart(5, ' ');
  let out = '';
  const idx = pos.line - 1;
  if (idx >= 1 && idx - 1 < lines.length) out += `\n ${num(pos.line - 1)}| ${lines[idx - 1]}`;
  if (idx < lines.length) {
    out += `\n ${num(pos.line)}| ${lines[idx]}`;
    if (pos.column > 0) out += `\n      |${' '.repeat(pos.column)}^`;
  }
  if (idx + 1 < lines.length) out += `\n ${num(pos.line + 1)}| ${lines[idx + 1]}`;
  return out;
}

function positionBlock(indent: string, pos: Pos | undefined): string {
  if (!pos || pos.origin.kind === 'none') return '';
  let out = `${indent}at ${showPos(pos)}:`;
  const frame = codeFrame(pos);
  if (frame) out += frame + '\n';
  return out;
}

function frameKey(t: TraceFrame): string {
  return `${t.pos ? showPos(t.pos) : ''}\u0000${t.hint}`;
}

function chompEnd(s: string): string {
  return s.replace(/[ \n\r\t]+$/, '');
}

/** Indent every line after the first by `rest`, trimming trailing blanks per line. */
function indentLines(first: string, rest: string, s: string): string {
  return s
    .split('\n')
    .map((line, i) => chompEnd((i === 0 ? first : rest) + line))
    .join('\n');
}

// A Unicode noncharacter: it cannot stand for itself in source text (NUL can, see eval-fail-string-nul).
const KEEP_LINE = '\uFDD0';

export function renderError(err: NixError, opts: RenderOptions): string {
  const level = opts.level ?? 'error';
  const prefix = `${level}: `;
  let body = '';
  const ellipsisIndent = '  ';

  // Frames are stored innermost first; Nix prints them outermost first.
  const traces = [...err.traces].reverse();
  if (traces.length > 0) {
    const seen = new Set<string>();
    let skipped: TraceFrame[] = [];
    let count = 0;
    let truncate = false;
    const printTrace = (t: TraceFrame) => {
      body += `\n… ${t.hint}\n`;
      const block = positionBlock(ellipsisIndent, t.pos);
      body += block;
      if (block) count++;
    };
    const flushSkipped = () => {
      if (skipped.length === 0) return;
      if (skipped.length <= 5) {
        for (const t of skipped) printTrace(t);
      } else {
        // Nix means to forget the seen frames here but clears only a copy of
        // the set, so frames seen before a gap still count as duplicates.
        body += `\n(${skipped.length} duplicate frames omitted)\n`;
      }
      skipped = [];
    };
    for (const t of traces) {
      if (t.hint === '') continue;
      if (!opts.showTrace && count > 3) truncate = true;
      if (!truncate || t.always) {
        const key = frameKey(t);
        if (seen.has(key)) {
          skipped.push(t);
          continue;
        }
        seen.add(key);
        flushSkipped();
        count++;
        printTrace(t);
      }
    }
    flushSkipped();
    if (truncate) body += `\n(stack trace truncated; use '--show-trace' to show the full, detailed trace)\n`;
    body += `\n${prefix}`;
  }
  // Nix colours the text it interpolates into messages, so a message whose
  // quoted part ends in a newline (toml11's errors) keeps a last line made of
  // the indentation and a colour reset, which trimming does not remove. A
  // placeholder stands for that reset until the trimming is done.
  body += (err.message.endsWith('\n') ? err.message + KEEP_LINE : err.message) + '\n';
  body += positionBlock('', err.pos);
  if (err.suggestions && err.suggestions.length > 0) body += `Did you mean ${formatSuggestions(err.suggestions)}?\n`;
  if (opts.noIndent) return (prefix.trimEnd() + chompEnd(body)).replaceAll(KEEP_LINE, '');
  return indentLines(prefix, ' '.repeat(prefix.length), chompEnd(body)).replaceAll(KEEP_LINE, '');
}

function formatSuggestions(s: string[]): string {
  if (s.length === 1) return s[0]!;
  return `one of ${s.slice(0, -1).join(', ')} or ${s[s.length - 1]}`;
}
