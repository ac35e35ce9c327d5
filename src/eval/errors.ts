// Errors in Nix's shape: a message, an optional position, and a stack of
// trace frames ("… while evaluating the attribute 'x'") that callers push as
// the error unwinds. Rendering them as Nix does lives in error-format.ts.

import type { Pos } from './position.js';

export interface TraceFrame {
  pos?: Pos;
  hint: string;
  /** Nix prints some frames even when the trace is truncated. */
  always?: boolean;
}

export class NixError extends Error {
  /** Innermost frame first, as they were pushed while unwinding. */
  traces: TraceFrame[] = [];
  pos?: Pos;
  /** Errors that Nix prints without the trace indentation (e.g. parse errors). */
  suggestions?: string[];

  constructor(message: string, pos?: Pos) {
    super(message);
    this.pos = pos;
  }

  addTrace(pos: Pos | undefined, hint: string, always = false): this {
    this.traces.push({ pos, hint, always });
    return this;
  }

  override get name(): string {
    return this.constructor.name;
  }
}

/** A syntax error or another error found while parsing. */
export class ParseError extends NixError {}

/** Any error raised while evaluating. */
export class EvalError extends NixError {}
export class TypeError extends EvalError {}
export class AssertionError extends EvalError {}
// As in Nix, a `throw` is an assertion failure: tryEval catches both.
export class ThrownError extends AssertionError {}
export class Abort extends EvalError {}
export class UndefinedVarError extends EvalError {}
export class MissingArgumentError extends EvalError {}
export class InfiniteRecursionError extends EvalError {}
export class StackOverflowError extends EvalError {}
export class RestrictedPathError extends EvalError {}
/** A store path the evaluation needs is not valid (Nix's InvalidPathError). */
export class InvalidPathError extends EvalError {
  constructor(readonly path: string) {
    super(`path '${path}' is not valid`);
  }
}
/** A build the evaluation needed (import from derivation) failed; the command exits with `exitStatus` (100 and up, as Nix's builds). */
export class BuildError extends EvalError {
  constructor(
    message: string,
    readonly exitStatus: number,
  ) {
    super(message);
  }
}

/** An error with no source position from outside the evaluator (store, CLI, usage). */
export class UsageError extends NixError {}
