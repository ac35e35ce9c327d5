// The system-call filter: its decisions, by running the assembled BPF
// program on system calls as the kernel would, then its effect on a real
// sandboxed builder.

import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { seccompProgram } from '../../src/build/seccomp.js';
import { drvTarget, mkDrvExpr, openChrootStore, realise, refInstantiate, tempDir } from './helpers.js';

/** Classic BPF as the kernel runs a seccomp filter (the instructions the program may use). */
function runFilter(program: Buffer, arch: number, nr: number, args: number[] = []): number {
  const data = Buffer.alloc(64);
  data.writeInt32LE(nr, 0);
  data.writeUInt32LE(arch, 4);
  args.forEach((a, i) => data.writeUInt32LE(a, 16 + 8 * i));
  let a = 0;
  for (let pc = 0; pc * 8 < program.length; pc++) {
    const code = program.readUInt16LE(pc * 8);
    const jt = program.readUInt8(pc * 8 + 2);
    const jf = program.readUInt8(pc * 8 + 3);
    const k = program.readUInt32LE(pc * 8 + 4);
    if (code === 0x20) a = data.readUInt32LE(k);
    else if (code === 0x54) a = (a & k) >>> 0;
    else if (code === 0x15) pc += a === k ? jt : jf;
    else if (code === 0x45) pc += (a & k) !== 0 ? jt : jf;
    else if (code === 0x06) return k;
    else throw new Error(`unexpected instruction ${code.toString(16)}`);
  }
  throw new Error('fell off the end');
}

const ALLOW = 0x7fff0000;
const EPERM = 0x00050001;
const ENOTSUP = 0x0005005f;
const X86_64 = 0xc000003e;
const I386 = 0x40000003;
const X32 = 0x40000000;

describe('the system-call filter program', () => {
  const p = seccompProgram('x64')!;

  it('refuses setuid and setgid bits to chmod, fchmod, fchmodat and fchmodat2, and allows other modes', () => {
    for (const [nr, arg] of [[90, 1], [91, 1], [268, 2], [452, 2]] as const) {
      const mode = (m: number) => Object.assign([0, 0, 0], { [arg]: m });
      expect(runFilter(p, X86_64, nr, mode(0o4755))).toBe(EPERM);
      expect(runFilter(p, X86_64, nr, mode(0o2755))).toBe(EPERM);
      expect(runFilter(p, X86_64, nr, mode(0o1777))).toBe(ALLOW);
      expect(runFilter(p, X86_64, nr, mode(0o755))).toBe(ALLOW);
      // The same call through the x32 ABI.
      expect(runFilter(p, X86_64, nr | X32, mode(0o4755))).toBe(EPERM);
    }
  });

  it('refuses extended attributes with ENOTSUP, in 64- and 32-bit code', () => {
    for (let nr = 188; nr <= 196; nr++) expect(runFilter(p, X86_64, nr)).toBe(ENOTSUP);
    for (let nr = 226; nr <= 234; nr++) expect(runFilter(p, I386, nr)).toBe(ENOTSUP);
    expect(runFilter(p, I386, 15, [0, 0o6755])).toBe(EPERM); // i386 chmod
    expect(runFilter(p, I386, 306, [0, 0, 0o4000])).toBe(EPERM); // i386 fchmodat
  });

  it('allows everything else, and the calls of an architecture it does not cover', () => {
    for (const nr of [0, 1, 2, 59, 87, 187, 197, 267, 269]) expect(runFilter(p, X86_64, nr, [0o4755, 0o4755, 0o4755])).toBe(ALLOW);
    expect(runFilter(p, 0xc00000b7, 90, [0, 0o4755])).toBe(ALLOW); // aarch64 code on an x86_64 filter
    const arm = seccompProgram('arm64')!;
    expect(runFilter(arm, 0xc00000b7, 53, [0, 0, 0o4755])).toBe(EPERM);
    expect(runFilter(arm, 0xc00000b7, 5)).toBe(ENOTSUP);
    expect(seccompProgram('riscv64')).toBeUndefined();
  });
});

describe.runIf(process.arch === 'x64')('a sandboxed builder under the filter', () => {
  it('cannot make setuid or setgid files or set extended attributes, unless filter-syscalls is off', async () => {
    const root = tempDir();
    const store = openChrootStore(root);
    const script = [
      'touch $out',
      'chmod 4755 $out 2>/dev/null && echo setuid >> $out || echo setuid-refused >> $out',
      'chmod 2755 $out 2>/dev/null && echo setgid >> $out || echo setgid-refused >> $out',
      'chmod 755 $out && echo plain >> $out',
      `python3 -c 'import os, sys
try: os.setxattr(sys.argv[1], "user.x", b"1"); print("xattr")
except OSError as e: print("xattr-errno", e.errno)' $out >> $out`,
    ].join('; ');
    const build = async (name: string, values: Record<string, string>) => {
      const [drv] = refInstantiate(root, mkDrvExpr(`mk "${name}" ''${script}'' { }`));
      const r = await realise(store, [drvTarget(drv!)], values);
      expect(r.status).toBe(0);
      return fs.readFileSync(store.toRealPath(store.queryDerivationOutputs(drv!).get('out')!), 'utf8');
    };
    expect(await build('filtered', {})).toBe('setuid-refused\nsetgid-refused\nplain\nxattr-errno 95\n');
    // Without the filter the bits can be set (registration clears them again).
    expect(await build('unfiltered', { 'filter-syscalls': 'false' })).toMatch(/^setuid\nsetgid\nplain\n/);
    store.close();
  });
});
