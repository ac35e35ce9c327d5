// Builders write to a pseudo-terminal, as under Nix: stdout and stderr are
// a terminal in raw mode (stdin stays /dev/null), and what they write reaches
// the log byte for byte. Programs see the difference (`[ -t 1 ]`, `ls`
// printing columns), so outputs and logs are compared with the reference
// Nix building the same derivation.

import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStore } from '../../src/store/local/local-store.js';
import { runProcess } from '../../src/build/builder-process.js';
import { DirectSpawner, HelperSpawner, type Spawner } from '../../src/build/spawn-helper.js';
import { drvTarget, hostStoreUri, mkDrvExpr, openChrootStore, openLocalStore, realise, refInstantiate, tempDir } from './helpers.js';

// What the builder learns about its descriptors and the terminal's modes
// (stty reads them from stdin, so stderr is given as stdin), then output in
// the log: a line ending in \r\n and one in \n, and `ls` of two names, which
// puts them on one line only on a terminal.
const PROBE = [
  't=; [ -t 0 ] && t="$t 0"; [ -t 1 ] && t="$t 1"; [ -t 2 ] && t="$t 2"',
  '{ echo "terminals:$t"; /bin/stty -a <&2; } > $out',
  "printf 'crlf\\r\\nlf\\n'; echo to-stderr >&2; /bin/ls -d /bin /usr",
].join('; ');

describe('the builder terminal', () => {
  it('is what Nix gives the builder: stdout and stderr on a raw terminal, the log byte for byte', async () => {
    const ourRoot = tempDir();
    const refRoot = tempDir();
    const expr = mkDrvExpr(`mk "terminal" ''${PROBE}'' {}`);
    const [drv] = refInstantiate(ourRoot, expr);
    expect(refInstantiate(refRoot, expr)).toEqual([drv]);
    const store = openChrootStore(ourRoot);
    try {
      const r = await realise(store, [drvTarget(drv!)], { 'keep-build-log': 'true' });
      expect(r.errors).toEqual([]);
      const out = store.queryDerivationOutputs(drv!).get('out')!;
      const ours = fs.readFileSync(store.toRealPath(out), 'latin1');
      expect(ours).toMatch(/^terminals: 1 2\n/);
      expect(ours).toMatch(/(^| )-opost /m);
      expect(ours).toMatch(/(^| )-icanon /m);
      // Seen live while building, and kept, exactly as written.
      expect(r.logs.get(drv!)).toBe('crlf\r\nlf\nto-stderr\n/bin  /usr\n');
      const ourLog = spawnSync('nix-store', ['--store', ourRoot, '-l', drv!], { encoding: 'latin1' }).stdout;
      expect(ourLog).toBe(r.logs.get(drv!));

      const ref = spawnSync('nix-build', ['--store', refRoot, '--no-out-link', '--option', 'allowed-impure-host-deps', '/bin /usr /lib /lib64', drv!], { encoding: 'utf8' });
      expect(ref.status).toBe(0);
      expect(ours).toBe(fs.readFileSync(refRoot + out, 'latin1'));
      expect(ourLog).toBe(spawnSync('nix-store', ['--store', refRoot, '-l', drv!], { encoding: 'latin1' }).stdout);
    } finally {
      store.close();
    }
  });

  describe('without the sandbox', () => {
    let base: string;
    let store: LocalStore;
    const instantiate = (expr: string) => spawnSync('nix-instantiate', ['--store', hostStoreUri(base), '-E', expr], { encoding: 'utf8' }).stdout.trim();

    beforeAll(() => {
      base = tempDir();
      store = openLocalStore(hostStoreUri(base));
    });
    afterAll(() => store.close());

    it('gives the builder the terminal too', async () => {
      const drv = instantiate(mkDrvExpr(`mk "terminal-host" ''${PROBE}'' {}`));
      const r = await realise(store, [drvTarget(drv)], { sandbox: 'false' });
      expect(r.errors).toEqual([]);
      const out = store.queryDerivationOutputs(drv).get('out')!;
      expect(fs.readFileSync(out, 'latin1')).toMatch(/^terminals: 1 2\n/);
      expect(r.logs.get(drv)).toBe('crlf\r\nlf\nto-stderr\n/bin  /usr\n');
    });

    it('finishes when the builder exits although a process it left in another session holds the terminal', async () => {
      // Without the sandbox nothing kills a process that left the builder's
      // session; it keeps the terminal open. Nix waits for it (here 100 s,
      // past the test's time limit); tsnix takes what was written and goes on.
      // The builder exits only once the holder has left its session (and
      // so escaped the kill of the builder's process group).
      const pidFile = `${base}/holder.pid`;
      const drv = instantiate(mkDrvExpr(`mk "terminal-holder" "/usr/bin/setsid /bin/sh -c 'echo $$ > ${pidFile}; exec /bin/sleep 100' & while [ ! -s ${pidFile} ]; do :; done; echo written; echo > $out" {}`));
      try {
        const r = await realise(store, [drvTarget(drv)], { sandbox: 'false' });
        expect(r.errors).toEqual([]);
        expect(r.logs.get(drv)).toBe('written\n');
        expect(fs.existsSync(store.queryDerivationOutputs(drv).get('out')!)).toBe(true);
      } finally {
        try {
          process.kill(Number(fs.readFileSync(pidFile, 'utf8')), 'SIGKILL');
        } catch {
          // it never started, or is gone
        }
      }
    });
  });

  // The spawn helper (npm installs) and in-process spawning (the single
  // executable) each reach the Perl process their own way.
  for (const [name, make] of [['the spawn helper', () => HelperSpawner.start()!], ['in-process spawning', () => new DirectSpawner()]] as const) {
    it(`is given by ${name}, which reports the exit once the output is in the log`, async () => {
      const spawner: Spawner = make();
      const dir = tempDir();
      const run = (script: string, log: string) => {
        fs.writeFileSync(log, '');
        return runProcess(spawner, '/bin/sh', ['-c', script], { env: {}, cwd: dir, logFile: log, maxSilentTime: 0, timeout: 0, argv0: 'sh' });
      };
      try {
        const logs = [0, 1, 2].map((i) => `${dir}/${i}.log`);
        // Several at once, each with its own terminal and log; the last bytes
        // are written just before exiting.
        const statuses = await Promise.all(logs.map((log, i) =>
          run(`[ -t 0 ] || [ ! -t 1 ] || [ ! -t 2 ] || echo tty ${i}; /usr/bin/head -c 100000 /dev/zero | /usr/bin/tr '\\0' x; printf 'end\\r\\n' >&2; exit ${i}`, log)));
        expect(statuses.map((st) => st.code)).toEqual([0, 1, 2]);
        for (const [i, log] of logs.entries()) expect(fs.readFileSync(log, 'latin1')).toBe(`tty ${i}\n${'x'.repeat(100000)}end\r\n`);
      } finally {
        spawner.close();
      }
    });
  }

  it('is not given where Perl cannot be started: the output then goes straight to the log, and output locks still work', async () => {
    const path = process.env.PATH;
    // Perl is looked up along PATH when the helper (or the in-process keeper)
    // starts it; without it, locks fall back to util-linux's flock.
    const dir = tempDir();
    fs.mkdirSync(`${dir}/bin`);
    fs.symlinkSync(spawnSync('sh', ['-c', 'command -v flock'], { encoding: 'utf8' }).stdout.trim(), `${dir}/bin/flock`);
    process.env.PATH = `${dir}/bin`;
    const spawners: Spawner[] = [];
    try {
      spawners.push(HelperSpawner.start()!, new DirectSpawner());
      for (const [i, spawner] of spawners.entries()) {
        const log = `${dir}/${i}.log`;
        fs.writeFileSync(log, '');
        const st = await runProcess(spawner, '/bin/sh', ['-c', '[ -t 1 ] && echo tty || echo no tty; printf "end\\n" >&2'], { env: {}, cwd: dir, logFile: log, maxSilentTime: 0, timeout: 0, argv0: 'sh' });
        expect(st.code).toBe(0);
        expect(fs.readFileSync(log, 'utf8')).toBe('no tty\nend\n');
        const locks = await spawner.tryLock([`${dir}/p${i}`]);
        expect(locks).toBeDefined();
        expect(await spawner.tryLock([`${dir}/p${i}`])).toBeUndefined();
        locks!.release(true);
      }
    } finally {
      process.env.PATH = path;
      for (const s of spawners) s.close();
    }
  });
});
