// builtins.exec with allow-unsafe-native-code-during-evaluation: runs a
// program and evaluates its output, with Nix's errors and traces.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NixError } from '../../src/eval/errors.js';
import { evalError, evalNix, newState } from './eval-helpers.js';

const native = (log?: (l: string) => void) => newState({ enableNativeCode: true, log });

/** The error's traces, innermost last, as --show-trace lists them. */
function traces(src: string): string[] {
  const state = native();
  try {
    state.forceValueDeep(state.evalString(src));
  } catch (e) {
    if (e instanceof NixError) return e.traces.map((t) => t.hint);
    throw e;
  }
  throw new Error(`no error from ${src}`);
}

describe('builtins.exec', () => {
  it('exists only with allow-unsafe-native-code-during-evaluation, as importNative', () => {
    expect(evalNix('[ (builtins ? exec) (builtins ? importNative) ]')).toBe('[ false false ]');
    expect(evalNix('[ (builtins ? exec) (builtins ? importNative) ]', native())).toBe('[ true true ]');
  });

  it('evaluates what the program prints, found along PATH, with paths relative to /', () => {
    expect(evalNix('builtins.exec [ "sh" "-c" "echo \\"{ a = 1 + $0; }\\"" "2" ]', native())).toBe('{ a = 3; }');
    expect(evalNix('builtins.exec [ "echo" "./foo" ]', native())).toBe('/foo');
  });

  it('passes arguments that are not UTF-8 as their bytes', () => {
    // Half of "é" (the byte 0xC3); the program prints the bytes it got in hexadecimal.
    const src = String.raw`builtins.exec [ "sh" "-c" "printf %s \"$0\" | od -An -tx1 | tr -d ' \\n' | sed 's/.*/\"&\"/'" (builtins.substring 0 1 "é") ]`;
    expect(evalNix(src, native())).toBe('"c3"');
  });

  it("fails in Nix's words", () => {
    expect(evalError('builtins.exec [ ]', native())).toBe("at least one argument to 'exec' required");
    expect(evalError('builtins.exec [ "false" ]', native())).toBe("program 'false' failed with exit code 1");
    expect(evalError('builtins.exec [ "sh" "-c" "kill -9 $$" ]', native())).toBe("program 'sh' failed due to signal 9 (Killed)");
    const log: string[] = [];
    expect(evalError('builtins.exec [ "/nonexistent/program" ]', native((l) => log.push(l)))).toBe(
      "program '/nonexistent/program' failed with exit code 1",
    );
    expect(log).toEqual(["error: executing '/nonexistent/program': No such file or directory"]);
    expect(evalError('builtins.exec [ "echo" 1 ]', native())).toBe('cannot coerce an integer to a string: 1');
  });

  it('runs the program with the stack limit tsnix was started with, not the one its launcher raised', () => {
    const cli = path.resolve(__dirname, '../../bin/nix-instantiate');
    const expr = 'builtins.exec [ "sh" "-c" "echo \\"$(ulimit -s)\\"" ]';
    const r = spawnSync('/bin/sh', ['-c', 'ulimit -S -s 4096 && exec "$@"', 'sh', cli, '--option', 'allow-unsafe-native-code-during-evaluation', 'true', '--eval', '-E', expr], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('4096\n');
  });

  it('says why a program that is not executable cannot start', () => {
    const log: string[] = [];
    expect(evalError('builtins.exec [ "/" ]', native((l) => log.push(l)))).toBe("program '/' failed with exit code 1");
    expect(evalError('builtins.exec [ "no-such-program-anywhere" ]', native((l) => log.push(l)))).toBe("program 'no-such-program-anywhere' failed with exit code 1");
    expect(log).toEqual(["error: executing '/': Permission denied", "error: executing 'no-such-program-anywhere': No such file or directory"]);
  });

  it('says whether the output failed to parse or to evaluate', () => {
    expect(traces('builtins.exec [ "echo" "{ a =" ]')).toContain("while parsing the output from 'echo'");
    expect(traces('builtins.exec [ "echo" "throw \\"x\\"" ]')).toContain("while evaluating the output from 'echo'");
  });
});
