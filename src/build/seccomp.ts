// The system-call filter builders run under (the `filter-syscalls` setting),
// as Nix's: chmod and friends fail with EPERM when they would set the setuid
// or setgid bit, and extended attributes (ACLs among them, which a NAR
// cannot represent) fail with ENOTSUP. bubblewrap loads it (`--seccomp FD`)
// as a classic BPF program, which is assembled here: libseccomp is a C
// library, and the program is a few dozen instructions.
//
// A program is for the host's architecture and the older ones it can run
// (i386 and x32 on x86_64, 32-bit ARM on aarch64); system calls of any other
// architecture pass, as with libseccomp's default action.

// The kernel's seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6].
const NR = 0;
const ARCH = 4;
/** The low 32 bits of argument i (little-endian), which hold a mode_t. */
const argLow = (i: number): number => 16 + 8 * i;

const AUDIT_ARCH_X86_64 = 0xc000003e;
const AUDIT_ARCH_I386 = 0x40000003;
const AUDIT_ARCH_AARCH64 = 0xc00000b7;
const AUDIT_ARCH_ARM = 0x40000028;
/** x32 system calls are x86_64's numbers with this bit set (and the x86_64 audit arch). */
const X32_SYSCALL_BIT = 0x40000000;

const RET_ALLOW = 0x7fff0000;
const RET_ERRNO = 0x00050000;
const EPERM = 1;
const ENOTSUP = 95;
const S_ISUID_ISGID = 0o6000;

/** System call numbers of one architecture. */
interface SyscallTable {
  /** chmod-like calls: number → index of the mode argument. */
  modes: [number, number][];
  xattrs: number[];
}

// fchmodat2 (452) has the same number everywhere.
const X86_64: SyscallTable = {
  modes: [[90, 1], [91, 1], [268, 2], [452, 2]], // chmod, fchmod, fchmodat, fchmodat2
  xattrs: [188, 189, 190, 191, 192, 193, 194, 195, 196], // setxattr … flistxattr
};
const I386_OR_ARM = (fchmodat: number): SyscallTable => ({
  modes: [[15, 1], [94, 1], [fchmodat, 2], [452, 2]],
  xattrs: [226, 227, 228, 229, 230, 231, 232, 233, 234],
});
const AARCH64: SyscallTable = {
  modes: [[52, 1], [53, 2], [452, 2]], // fchmod, fchmodat, fchmodat2 (no chmod)
  xattrs: [5, 6, 7, 8, 9, 10, 11, 12, 13],
};

/** The architectures the filter covers on a host (node's process.arch): audit arch → table. */
function tablesFor(arch: string): [number, SyscallTable][] | undefined {
  if (arch === 'x64') return [[AUDIT_ARCH_X86_64, X86_64], [AUDIT_ARCH_I386, I386_OR_ARM(306)]];
  if (arch === 'arm64') return [[AUDIT_ARCH_AARCH64, AARCH64], [AUDIT_ARCH_ARM, I386_OR_ARM(333)]];
  return undefined;
}

// ---------------------------------------------------------------------------
// A small assembler: classic BPF, forward jumps to labels.

const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JSET_K = 0x45;
const AND_K = 0x54;
const RET_K = 0x06;

type Target = string | number; // a label, or 0 for the next instruction
interface Insn {
  code: number;
  k: number;
  jt?: Target;
  jf?: Target;
  label?: string;
}

function assemble(program: Insn[]): Buffer {
  const at = new Map<string, number>();
  program.forEach((insn, i) => insn.label && at.set(insn.label, i));
  const out = Buffer.alloc(program.length * 8);
  program.forEach((insn, i) => {
    const offset = (t: Target | undefined): number => {
      if (t === undefined || typeof t === 'number') return t ?? 0;
      const d = at.get(t)! - i - 1;
      if (!(d >= 0 && d <= 255)) throw new Error(`seccomp: jump to ${t} out of range`);
      return d;
    };
    out.writeUInt16LE(insn.code, i * 8);
    out.writeUInt8(offset(insn.jt), i * 8 + 2);
    out.writeUInt8(offset(insn.jf), i * 8 + 3);
    out.writeUInt32LE(insn.k >>> 0, i * 8 + 4);
  });
  return out;
}

/** The filter for this host (undefined on architectures tsnix has no table for). */
export function seccompProgram(arch: string = process.arch): Buffer | undefined {
  const tables = tablesFor(arch);
  if (!tables) return undefined;
  const p: Insn[] = [{ code: LD_W_ABS, k: ARCH }];
  tables.forEach(([audit], i) => p.push({ code: JEQ_K, k: audit, jt: `arch${i}` }));
  p.push({ code: RET_K, k: RET_ALLOW });
  tables.forEach(([audit, table], i) => {
    p.push({ code: LD_W_ABS, k: NR, label: `arch${i}` });
    if (audit === AUDIT_ARCH_X86_64) p.push({ code: AND_K, k: ~X32_SYSCALL_BIT });
    for (const nr of table.xattrs) p.push({ code: JEQ_K, k: nr, jt: 'enotsup' });
    for (const [nr, arg] of table.modes) p.push({ code: JEQ_K, k: nr, jt: `mode${arg}` });
    p.push({ code: RET_K, k: RET_ALLOW });
  });
  for (const arg of [1, 2]) {
    p.push({ code: LD_W_ABS, k: argLow(arg), label: `mode${arg}` });
    p.push({ code: JSET_K, k: S_ISUID_ISGID, jt: 'eperm', jf: 'allow' });
  }
  p.push({ code: RET_K, k: RET_ALLOW, label: 'allow' });
  p.push({ code: RET_K, k: RET_ERRNO | EPERM, label: 'eperm' });
  p.push({ code: RET_K, k: RET_ERRNO | ENOTSUP, label: 'enotsup' });
  return assemble(p);
}
