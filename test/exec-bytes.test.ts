// Starting programs with arguments and variables that hold bytes that are
// not UTF-8: they must arrive as those bytes (Node's spawn would send
// U+FFFD), through the Perl wrapper of src/exec-bytes.ts.
import fs from 'node:fs';
import os from 'node:os';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { execWithBytes, needsByteExec } from '../src/exec-bytes.js';
import { decodeBytes } from '../src/byte-strings.js';

const raw = decodeBytes(Buffer.from([0x61, 0xff, 0x62])); // "a", the byte 0xFF, "b"

function run(spec: Parameters<typeof execWithBytes>[0]) {
  const w = execWithBytes(spec);
  try {
    return { w, r: spawnSync(w.command, w.args, { env: w.env, argv0: spec.argv0 }) };
  } finally {
    w.cleanup();
  }
}

const leftovers = () => fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('tsnix-exec-'));

describe('execWithBytes', () => {
  it('leaves text alone', () => {
    const spec = { command: '/bin/sh', args: ['-c', 'echo é'], env: { A: 'é' } };
    expect(needsByteExec(spec)).toBe(false);
    const w = execWithBytes(spec);
    expect([w.command, w.args, w.env]).toEqual(['/bin/sh', ['-c', 'echo é'], { A: 'é' }]);
  });

  it('passes the bytes of arguments and variables as they are, and only the given environment', () => {
    const before = leftovers();
    const { w, r } = run({ command: '/bin/sh', args: ['-c', 'printf "%s|%s|%s" "$V" "$1" "${HOME-unset}"', 'sh', raw], env: { V: raw } });
    expect(w.command).toMatch(/\/perl$/);
    expect(r.status).toBe(0);
    expect([...r.stdout]).toEqual([0x61, 0xff, 0x62, 0x7c, 0x61, 0xff, 0x62, 0x7c, ...Buffer.from('unset')]);
    expect(leftovers()).toEqual(before);
  });

  it('keeps argv[0] and, without an environment, the inherited one', () => {
    const { r } = run({ command: '/bin/cat', args: ['/proc/self/cmdline'], argv0: `name${raw}` });
    expect([...r.stdout]).toEqual([...Buffer.from('name'), 0x61, 0xff, 0x62, 0, ...Buffer.from('/proc/self/cmdline'), 0]);
    const env = run({ command: '/bin/sh', args: ['-c', 'printf %s "$TSNIX_TEST_VAR"', raw] });
    process.env.TSNIX_TEST_VAR = 'inherited';
    const env2 = run({ command: '/bin/sh', args: ['-c', 'printf %s "$TSNIX_TEST_VAR"', raw] });
    delete process.env.TSNIX_TEST_VAR;
    expect([env.r.stdout.toString(), env2.r.stdout.toString()]).toEqual(['', 'inherited']);
  });

  it('says why the program could not be started, as Nix does, and exits with 1', () => {
    const { r } = run({ command: `/nonexistent/${raw}`, args: [], env: {}, failurePrefix: 'error: ' });
    expect(r.status).toBe(1);
    expect(r.stderr.toString('latin1')).toBe("error: executing '/nonexistent/a\xffb': No such file or directory\n");
  });
});
