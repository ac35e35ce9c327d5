// builtins.exec and builtins.importNative: present only with
// allow-unsafe-native-code-during-evaluation, as in Nix. exec runs a
// program (found along PATH) with string arguments and evaluates what it
// prints as a Nix expression. importNative loads a C++ plugin into Nix's own
// evaluator, which a JavaScript evaluator cannot do: it says so.

import type * as ChildProcess from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { registerBuiltins } from './registry.js';
import { EvalError, InvalidPathError, NixError } from '../errors.js';
import { forceList, type Value } from '../values.js';
import type { EvalState } from '../eval-state.js';
import { decodeBytes } from '../../byte-strings.js';
import { statusToString } from '../../process-status.js';
import { execWithBytes, needsByteExec } from '../../exec-bytes.js';
import { withOriginalStackLimit } from '../../stack-limit.js';

/**
 * Why execvp would fail to start `program` (its errno code), checked before
 * starting it through sh (below), which would word that failure its own way.
 */
function startProblem(program: string): 'ENOENT' | 'EACCES' | undefined {
  const candidates = program.includes('/')
    ? [program]
    : (process.env.PATH ?? '/bin:/usr/bin').split(':').map((d) => path.join(d === '' ? '.' : d, program));
  let problem: 'ENOENT' | 'EACCES' = 'ENOENT';
  for (const c of candidates) {
    try {
      if (!fs.statSync(c).isFile()) {
        problem = 'EACCES';
        continue;
      }
      fs.accessSync(c, fs.constants.X_OK);
      return undefined;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EACCES') problem = 'EACCES';
    }
  }
  return problem;
}

function runProgram(state: EvalState, program: string, args: string[]): string {
  // Loaded on use: node:child_process brings Node's streams, which start-up avoids.
  const { spawnSync } = process.getBuiltinModule('node:child_process') as typeof ChildProcess;
  // Arguments holding bytes that are not UTF-8 go through Perl (exec-bytes.ts).
  const spec = { command: program, args, failurePrefix: 'error: ' };
  const cannotStart = (code: string | undefined, message: string): EvalError => {
    const reason = code === 'ENOENT' ? 'No such file or directory' : code === 'EACCES' ? 'Permission denied' : message;
    // What Nix's child prints when exec fails, before it exits with 1.
    state.warn(`executing '${program}': ${reason}`, 'error');
    return new EvalError(`program '${program}' ${statusToString(1)}`);
  };
  // (Perl, which starts programs given bytes that are not UTF-8, says why itself.)
  const problem = needsByteExec(spec) ? undefined : startProblem(program);
  if (problem) throw cannotStart(problem, '');
  let exec;
  try {
    exec = execWithBytes(spec);
  } catch (e) {
    throw new EvalError((e as Error).message);
  }
  // With the stack limit tsnix was given, not the launcher's raised one, as
  // Nix restores its own before starting a program (stack-limit.ts).
  const { command, args: shArgs } = withOriginalStackLimit(exec.command, exec.args);
  let r;
  try {
    r = spawnSync(command, shArgs, { stdio: ['inherit', 'pipe', 'inherit'], maxBuffer: Number.MAX_SAFE_INTEGER, env: exec.env });
  } finally {
    exec.cleanup();
  }
  if (r.error) throw cannotStart((r.error as NodeJS.ErrnoException).code, r.error.message);
  if (r.status !== 0) throw new EvalError(`program '${program}' ${statusToString(r.status, r.signal)}`);
  return decodeBytes(r.stdout);
}

registerBuiltins([
  {
    name: '__exec',
    arity: 1,
    nativeCodeOnly: true,
    fn: (args, _pos, state: EvalState): Value => {
      const elems = forceList(args[0]!, undefined, 'while evaluating the first argument passed to builtins.exec');
      if (elems.length === 0) throw new EvalError("at least one argument to 'exec' required");
      const context = new Set<string>();
      const program = state.coerceToString(elems[0]!, undefined, 'while evaluating the first element of the argument passed to builtins.exec', context, false, false);
      const commandArgs: string[] = [];
      for (let i = 1; i < elems.length; i++) {
        commandArgs.push(state.coerceToString(elems[i]!, undefined, 'while evaluating an element of the argument passed to builtins.exec', context, false, false));
      }
      try {
        state.realiseContext(context);
      } catch (e) {
        if (e instanceof InvalidPathError) throw new EvalError(`cannot execute '${program}', since store path '${e.path}' is not valid`);
        throw e;
      }
      const output = runProgram(state, program, commandArgs);
      let parsed;
      try {
        parsed = state.parseString(output, { kind: 'string', source: output }, '/');
      } catch (e) {
        if (e instanceof NixError) e.addTrace(undefined, `while parsing the output from '${program}'`);
        throw e;
      }
      try {
        return state.evalExpr(parsed);
      } catch (e) {
        if (e instanceof NixError) e.addTrace(undefined, `while evaluating the output from '${program}'`);
        throw e;
      }
    },
  },
  {
    name: '__importNative',
    arity: 2,
    nativeCodeOnly: true,
    fn: (): Value => {
      throw new EvalError('builtins.importNative is not supported by tsnix: it loads a C++ plugin into the evaluator');
    },
  },
]);
