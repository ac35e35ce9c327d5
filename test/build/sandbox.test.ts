// What a sandboxed builder can and cannot reach. Each builder records what it
// observed in its output (or its log), so the assertions are about facts,
// not about failures that could have other causes.

import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashString, printHash } from '../../src/store/hash.js';
import { devShmBytes } from '../../src/build/sandbox.js';
import { drvTarget, mkDrvExpr, openChrootStore, realise, refInstantiate, tempDir } from './helpers.js';
import type { LocalStore } from '../../src/store/local/local-store.js';

describe('the build sandbox', () => {
  let root: string;
  let store: LocalStore;

  beforeAll(() => {
    root = tempDir();
    store = openChrootStore(root);
  });
  afterAll(() => store.close());

  async function buildOne(expr: string): Promise<{ out: string; text: string; status: number; errors: string[]; log: string }> {
    const [drv] = refInstantiate(root, mkDrvExpr(expr));
    const r = await realise(store, [drvTarget(drv!)]);
    const out = store.queryDerivationOutputs(drv!).get('out')!;
    const real = store.toRealPath(out);
    const text = fs.existsSync(real) ? fs.readFileSync(real, 'utf8') : '';
    return { out, text, status: r.status, errors: r.errors, log: r.logs.get(drv!) ?? '' };
  }

  it('hides store paths outside the input closure, /root and /etc/shadow', async () => {
    const secret = store.addTextToStore('secret', 'do not read me', []);
    const input = store.addTextToStore('visible', 'an input', []);
    const script = [
      `for p in ${secret} /root /etc/shadow /etc/nix; do if ls $p >/dev/null 2>&1; then echo "$p: visible"; else echo "$p: hidden"; fi; done`,
      'cat $input',
      'echo',
      'ls /nix/store',
    ].join('; ');
    // The input is a real dependency (with string context); the secret is only mentioned by name.
    const r = await buildOne(`mk "probe" ''(${script}) > $out'' { input = builtins.storePath "${input}"; }`);
    expect(r.status).toBe(0);
    const lines = r.text.split('\n');
    expect(lines.slice(0, 5)).toEqual([`${secret}: hidden`, '/root: hidden', '/etc/shadow: hidden', '/etc/nix: hidden', 'an input']);
    // The store shows the input and the output being written, nothing else.
    expect(lines.slice(5).filter((l) => l !== '').sort()).toEqual([path.basename(input), path.basename(r.out)].sort());
  });

  it('shows the Nix build identity and layout: uid 1000 nixbld, hostname localhost, /build', async () => {
    const r = await buildOne(`mk "whoami" "(id; hostname; pwd; cat /etc/passwd /etc/group /etc/hosts; echo $HOME $PATH $NIX_BUILD_TOP $TMPDIR $NIX_STORE $TERM $NIX_LOG_FD) > $out" {}`);
    expect(r.text).toBe([
      'uid=1000(nixbld) gid=100(nixbld) groups=100(nixbld)',
      'localhost',
      '/build',
      'root:x:0:0:Nix build user:/build:/noshell',
      'nixbld:x:1000:100:Nix build user:/build:/noshell',
      'nobody:x:65534:65534:Nobody:/:/noshell',
      'root:x:0:',
      'nixbld:!:100:',
      'nogroup:x:65534:',
      '127.0.0.1 localhost',
      '::1 localhost',
      '/homeless-shelter /bin /build /build /nix/store xterm-256color 2',
      '',
    ].join('\n'));
  });

  it('runs the builder as PID 1 of its namespace, as Nix does: signals it sends itself are ignored', async () => {
    const r = await buildOne(`mk "pid1" "echo $$ > $out; kill -TERM $$; kill -9 $$; echo survived >> $out" {}`);
    expect(r.status).toBe(0);
    expect(r.text).toBe('1\nsurvived\n');
  });

  it('gives the builder /dev/null read-write as standard input, and /dev/kvm when it requires the kvm feature (if the host has it)', async () => {
    const r = await buildOne(`mk "stdin" "echo hi >&0 && echo stdin-writable > $out; [ -e /dev/kvm ] && echo kvm >> $out; true" {}`);
    expect(r.text).toBe('stdin-writable\n');
    if (fs.existsSync('/dev/kvm')) {
      const k = await buildOne(`mk "kvm" "[ -c /dev/kvm ] && echo kvm > $out" { requiredSystemFeatures = [ "kvm" ]; }`);
      expect(k.text).toBe('kvm\n');
    }
  });

  it('runs a builder named without a slash from the build directory, as Nix does, not from PATH', async () => {
    const r = await buildOne(`mk "bare" "echo built > $out" { builder = "sh"; }`);
    expect(r.status).not.toBe(0);
    expect(r.log).toContain('/build/sh: No such file or directory');
  });

  it('lets a builder write only its outputs', async () => {
    const input = store.addTextToStore('readonly-input', 'original', []);
    const script = [
      'for f in /x /etc/x /usr/x /build/../x $input; do if (echo evil > $f) 2>/dev/null; then echo "$f: written"; else echo "$f: refused"; fi; done',
      'echo stray > /nix/store/stray-file',
      'echo ok > /tmp/t && echo "tmp: ok"',
    ].join('; ');
    const r = await buildOne(`mk "writer" ''(${script}) > $out'' { input = builtins.storePath "${input}"; }`);
    expect(r.text).toBe(`/x: refused\n/etc/x: refused\n/usr/x: refused\n/build/../x: refused\n${input}: refused\ntmp: ok\n`);
    expect(fs.readFileSync(store.toRealPath(input), 'utf8')).toBe('original');
    // Whatever else the builder left in its store directory is not carried over.
    expect(fs.existsSync(path.join(store.realStoreDir, 'stray-file'))).toBe(false);
    expect(fs.readdirSync(store.realStoreDir).filter((n) => n.endsWith('.chroot'))).toEqual([]);
  });

  it('cuts the network off except for fixed-output derivations', async () => {
    const received: string[] = [];
    const server = net.createServer((sock) => sock.on('data', (d) => received.push(d.toString().trim())));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const connect = (tag: string) => `/usr/bin/bash -c 'echo ${tag} > /dev/tcp/127.0.0.1/${port}' 2>/dev/null && echo connected || echo unreachable`;
      const pure = await buildOne(`mk "net-pure" "(${connect('pure')}) > $out" {}`);
      expect(pure.text).toBe('unreachable\n');

      const content = 'fetched\n';
      const sha = printHash(hashString('sha256', content), 'base32');
      const fixed = await buildOne(
        `mk "net-fixed" "${connect('fixed')}; echo fetched > $out" { outputHashAlgo = "sha256"; outputHash = "${sha}"; outputHashMode = "flat"; }`);
      expect(fixed.status).toBe(0);
      expect(fixed.log).toBe('connected\n');
      await new Promise((r) => setTimeout(r, 100));
      expect(received).toEqual(['fixed']);
    } finally {
      server.close();
    }
  });

  it('rejects a fixed-output derivation whose output has another hash, keeping it valid at the path of the hash it has (as Nix)', async () => {
    const wrong = printHash(hashString('sha256', 'something else'), 'base32');
    const [drv] = refInstantiate(root, mkDrvExpr(`mk "fod-bad" "echo actual > $out" { outputHashAlgo = "sha256"; outputHash = "${wrong}"; }`));
    const r = await realise(store, [drvTarget(drv!)]);
    const out = store.queryDerivationOutputs(drv!).get('out')!;
    expect(r.status).toBe(102);
    expect(r.errors).toEqual([
      `hash mismatch in fixed-output derivation '${drv}':\n` +
        `  specified: ${printHash(hashString('sha256', 'something else'), 'sri', true)}\n` +
        `     got:    ${printHash(hashString('sha256', 'actual\n'), 'sri', true)}`,
    ]);
    expect(store.isValidPath(out)).toBe(false);
    expect(fs.existsSync(store.toRealPath(out))).toBe(false);
    // What was built is at the path of its actual hash, as the reference
    // computes that path, so correcting the hash needs no second build.
    const right = printHash(hashString('sha256', 'actual\n'), 'base32');
    const [fixedDrv] = refInstantiate(root, mkDrvExpr(`mk "fod-bad" "exit 1" { outputHashAlgo = "sha256"; outputHash = "${right}"; }`));
    const kept = store.queryDerivationOutputs(fixedDrv!).get('out')!;
    expect(store.isValidPath(kept)).toBe(true);
    expect(fs.readFileSync(store.toRealPath(kept), 'utf8')).toBe('actual\n');
    expect(store.queryPathInfo(kept)).toMatchObject({ deriver: drv, references: [], ca: `fixed:sha256:${right}` });
    expect((await realise(store, [drvTarget(fixedDrv!)])).status).toBe(0);
  });

  it('keeps inputs unchangeable even by a builder that tries chmod (store reachable by other users)', async () => {
    // A store under a world-traversable directory: as root, builds then run as
    // an unprivileged host user and inputs are hard-linked, not mounted.
    const open = tempDir();
    fs.chmodSync(open, 0o755);
    const root2 = path.join(open, 'root');
    const store2 = openChrootStore(root2);
    try {
      const input = store2.addTextToStore('precious', 'original', []);
      const script = `chmod u+w $input 2>/dev/null; (echo evil > $input) 2>/dev/null; cat $input > $out; id -u >> $out`;
      const [drv] = refInstantiate(root2, mkDrvExpr(`mk "tamper" ''${script}'' { input = builtins.storePath "${input}"; }`));
      const r = await realise(store2, [drvTarget(drv!)]);
      expect(r.errors).toEqual([]);
      const out = store2.queryDerivationOutputs(drv!).get('out')!;
      expect(fs.readFileSync(store2.toRealPath(out), 'utf8')).toBe('original1000\n');
      expect(fs.readFileSync(store2.toRealPath(input), 'utf8')).toBe('original');
      expect(fs.statSync(store2.toRealPath(input)).mode & 0o777).toBe(0o444);
      // The output belongs to the store's owner, not to the sandbox user.
      expect(fs.statSync(store2.toRealPath(out)).uid).toBe(process.getuid!());
    } finally {
      store2.close();
    }
  });

  it('shows sandbox-paths entries, store paths with their closure, optional ones only if present', async () => {
    const leaf = store.addTextToStore('leaf', 'leaf text', []);
    const top = store.addTextToStore('top', `refers to ${leaf}`, [leaf]);
    const script = `(cat /probe; echo; cat ${leaf}; echo; ls /maybe 2>&1 || echo "no maybe") > $out`;
    const [drv] = refInstantiate(root, mkDrvExpr(`mk "sandbox-paths" ''${script}'' {}`));
    const r = await realise(store, [drvTarget(drv!)], { 'sandbox-paths': `/probe=${top} /maybe=/nonexistent?` });
    expect(r.errors).toEqual([]);
    const out = store.queryDerivationOutputs(drv!).get('out')!;
    expect(fs.readFileSync(store.toRealPath(out), 'utf8')).toBe(`refers to ${leaf}\nleaf text\nls: cannot access '/maybe': No such file or directory\nno maybe\n`);
  });

  it('mounts a path named both in sandbox-paths and as an impure host dep once', async () => {
    // mkDrvExpr's builders already ask for /bin, /usr, /lib and /lib64.
    const [drv] = refInstantiate(root, mkDrvExpr(`mk "twice" "echo ok > $out" {}`));
    const r = await realise(store, [drvTarget(drv!)], { 'sandbox-paths': '/bin /usr /lib /lib64' });
    expect(r.errors).toEqual([]);
    expect(fs.readFileSync(store.toRealPath(store.queryDerivationOutputs(drv!).get('out')!), 'utf8')).toBe('ok\n');
  });

  it('sizes /dev/shm by sandbox-dev-shm-size, in the kernel\'s units, and fails on a size the kernel refuses (as Nix)', async () => {
    const [drv] = refInstantiate(root, mkDrvExpr(`mk "shm-size" "/bin/df -B1 --output=size /dev/shm | /usr/bin/tail -n 1 > $out" {}`));
    const bad = await realise(store, [drvTarget(drv!)], { 'sandbox-dev-shm-size': '64 mega' });
    expect(bad.errors).toEqual(['mounting /dev/shm: Invalid argument']);
    const r = await realise(store, [drvTarget(drv!)], { 'sandbox-dev-shm-size': '64m' });
    expect(r.errors).toEqual([]);
    expect(fs.readFileSync(store.toRealPath(store.queryDerivationOutputs(drv!).get('out')!), 'utf8').trim()).toBe('67108864');
    // What Nix 2.8's mount gave on a machine with 6171025 pages of memory.
    const total = 6171025 * 4096;
    expect(devShmBytes('50%', total)).toBe(12638261248);
    expect(devShmBytes('10%', total)).toBe(2527653888);
    expect(['1000', '0x1000', '010', '1k', '4K'].map((v) => devShmBytes(v, total))).toEqual([4096, 4096, 4096, 4096, 4096]);
    expect(devShmBytes('1g', total)).toBe(1073741824);
  });

  it('adds the paths a pre-build-hook asks for, which runs before the build is announced, with the drv and chroot directory', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'data'), 'from the hook\n');
    const hook = path.join(dir, 'hook');
    fs.writeFileSync(hook, [
      '#!/bin/sh',
      `echo "$#" "$1" "\${2##*/}" > ${dir}/args`,
      '[ -n "$PRE_BUILD_HOOK_BAD" ] && { echo "nonsense"; exit 0; }',
      'echo extra-sandbox-paths',
      `echo /hooked=${dir}`,
      'echo',
    ].join('\n') + '\n', { mode: 0o755 });
    const [drv] = refInstantiate(root, mkDrvExpr(`mk "pre-build-hooked" "cat /hooked/data > $out" {}`));
    const r = await realise(store, [drvTarget(drv!)], { 'pre-build-hook': hook });
    expect(r.errors).toEqual([]);
    expect(fs.readFileSync(store.toRealPath(store.queryDerivationOutputs(drv!).get('out')!), 'utf8')).toBe('from the hook\n');
    expect(fs.readFileSync(path.join(dir, 'args'), 'utf8')).toBe(`2 ${drv} ${path.basename(drv!)}.chroot\n`);

    const [drv2] = refInstantiate(root, mkDrvExpr(`mk "pre-build-refused" "echo > $out" {}`));
    process.env.PRE_BUILD_HOOK_BAD = '1';
    try {
      const bad = await realise(store, [drvTarget(drv2!)], { 'pre-build-hook': hook });
      expect(bad.errors).toEqual(["unknown pre-build hook command 'nonsense'"]);
      expect(bad.messages.filter((m) => m.startsWith('building'))).toEqual([]);
    } finally {
      delete process.env.PRE_BUILD_HOOK_BAD;
    }
    const missing = await realise(store, [drvTarget(drv2!)], { 'pre-build-hook': `${dir}/missing` });
    expect(missing.messages).toContain(`error: executing '${dir}/missing': No such file or directory`);
    expect(missing.errors).toEqual([`program '${dir}/missing' failed with exit code 1`]);
  });

  it('gives builders Nix\'s personality: randomization off, 32 bits for i686-linux, a 2.6 kernel with impersonate-linux-26', async () => {
    const probe = (system: string) =>
      refInstantiate(root, `derivation { name = "personality-${system}"; system = "${system}"; builder = "/bin/sh"; args = [ "-c" "/bin/cat /proc/self/personality > $out; /bin/uname -m >> $out; /bin/uname -r >> $out" ]; __impureHostDeps = [ "/bin" "/usr" "/lib" "/lib64" ]; }`)[0]!;
    const read = (drv: string) => fs.readFileSync(store.toRealPath(store.queryDerivationOutputs(drv).get('out')!), 'utf8').split('\n');
    const native = probe('x86_64-linux');
    const i686 = probe('i686-linux');
    const r = await realise(store, [drvTarget(native), drvTarget(i686)], { 'extra-platforms': 'i686-linux' });
    expect(r.errors).toEqual([]);
    // What Nix 2.8 gives them (observed): ADDR_NO_RANDOMIZE, and PER_LINUX32 for i686.
    expect(read(native).slice(0, 2)).toEqual(['00040000', 'x86_64']);
    expect(read(i686).slice(0, 2)).toEqual(['00040008', 'i686']);
    const [old] = refInstantiate(root, mkDrvExpr(`mk "personality-2.6" "/bin/cat /proc/self/personality > $out; /bin/uname -r >> $out" {}`));
    const r26 = await realise(store, [drvTarget(old!)], { 'impersonate-linux-26': 'true' });
    expect(r26.errors).toEqual([]);
    const [pers, release] = read(old!);
    expect(pers).toBe('00060000');
    expect(release).toMatch(/^2\.6\./);
  });

  it('fails on a missing sandbox-paths entry that is not optional', async () => {
    const [drv] = refInstantiate(root, mkDrvExpr(`mk "sandbox-paths-missing" "echo > $out" {}`));
    const r = await realise(store, [drvTarget(drv!)], { 'sandbox-paths': '/x=/nonexistent' });
    expect(r.errors).toEqual(["getting attributes of path '/nonexistent': No such file or directory"]);
  });

  it("refuses __noChroot when sandbox is 'true'", async () => {
    const [drv] = refInstantiate(root, mkDrvExpr(`mk "nochroot" "echo > $out" { __noChroot = true; }`));
    const r = await realise(store, [drvTarget(drv!)]);
    expect(r.status).toBe(1);
    expect(r.errors).toEqual([`derivation '${drv}' has '__noChroot' set, but that's not allowed when 'sandbox' is 'true'`]);
  });

  it('announces no build that is ruled out before it starts (platform, features, impure paths, __noChroot)', async () => {
    const exprs = [
      `mk "other-system" "echo > $out" { system = "aarch64-linux"; }`,
      `mk "feature" "echo > $out" { requiredSystemFeatures = [ "no-such-feature" ]; }`,
      `mk "impure" "echo > $out" { __impureHostDeps = [ "/etc/hostname" ]; }`,
      `mk "nochroot2" "echo > $out" { __noChroot = true; }`,
    ];
    for (const e of exprs) {
      const [drv] = refInstantiate(root, mkDrvExpr(e));
      const r = await realise(store, [drvTarget(drv!)]);
      expect(r.status).toBe(1);
      expect(r.messages).toEqual([]);
    }
  });
});
