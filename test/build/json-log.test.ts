// nix-build --log-format internal-json, event by event against the
// reference nix-build on the same derivations: the `@nix` lines with ids
// numbered by first appearance, colours removed (Nix also colours the
// paths inside its messages), and without Nix's "querying info about
// missing paths" activities, which tsnix has no counterpart of.

import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { mkDrvExpr, nixBuild, refInstantiate, tempDir } from './helpers.js';
import { runCli } from '../cli/run-cli.js';

type Event = Record<string, unknown>;

function events(stderr: string): Event[] {
  const ids = new Map<string, number>();
  const hidden = new Set<string>();
  const out: Event[] = [];
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('@nix ')) continue;
    // Ids exceed 2^53: keep them as text.
    const e = JSON.parse(line.slice(5).replace(/"id":(\d+)/, '"id":"$1"')) as Event;
    const id = e.id as string | undefined;
    if (e.action === 'start' && e.type === 0) hidden.add(id!);
    if (id !== undefined && hidden.has(id)) continue;
    if (id !== undefined) {
      if (!ids.has(id)) ids.set(id, ids.size);
      e.id = ids.get(id);
    }
    for (const k of ['msg', 'raw_msg']) if (typeof e[k] === 'string') e[k] = (e[k] as string).replace(/\x1b\[[0-9;]*m/g, '');
    out.push(e);
  }
  return out;
}

describe('nix-build --log-format internal-json', () => {
  const expr = mkDrvExpr(`{
    ok = mk "json-ok" "echo first; printf 'tab\\there\\n' >&2; echo out > $out; echo dev > $dev" { outputs = [ "out" "dev" ]; };
    bad = mk "json-bad" "echo before failing; exit 3" {};
  }`);

  for (const attr of ['ok', 'bad']) {
    it(`reports ${attr === 'ok' ? 'a build' : 'a failing build'} with Nix's events`, async () => {
      const ourRoot = tempDir();
      const refRoot = tempDir();
      const [drv] = refInstantiate(ourRoot, expr, [attr]);
      expect(refInstantiate(refRoot, expr, [attr])).toEqual([drv]);
      const ours = await nixBuild(['--store', ourRoot, '--no-out-link', '--log-format', 'internal-json', drv!]);
      const ref = spawnSync('nix-build', ['--store', refRoot, '--no-out-link', '--log-format', 'internal-json',
        '--option', 'allowed-impure-host-deps', '/bin /usr /lib /lib64', drv!], { encoding: 'utf8' });
      expect(ours.status).toBe(ref.status);
      expect(ours.stdout).toBe(ref.stdout);
      const ourEvents = events(ours.stderr);
      expect(ourEvents.length).toBeGreaterThan(10);
      expect(ourEvents).toEqual(events(ref.stderr));
    });
  }

  it('is what nix-store -r reports too, its warning among the messages', () => {
    const ourRoot = tempDir();
    const refRoot = tempDir();
    const [drv] = refInstantiate(ourRoot, expr, ['ok']);
    expect(refInstantiate(refRoot, expr, ['ok'])).toEqual([drv]);
    const args = (root: string) => ['--store', root, '-r', drv!, '--log-format', 'internal-json', '--option', 'allowed-impure-host-deps', '/bin /usr /lib /lib64'];
    const ours = runCli('nix-store', args(ourRoot), { env: { NIX_REMOTE: '' } });
    const ref = spawnSync('nix-store', args(refRoot), { encoding: 'utf8' });
    expect(ours.status).toBe(0);
    expect(ours.stdout).toBe(ref.stdout);
    const ourEvents = events(ours.stderr);
    expect(ourEvents).toContainEqual({ action: 'msg', level: 1, msg: "warning: you did not specify '--add-root'; the result might be removed by the garbage collector" });
    expect(ourEvents).toEqual(events(ref.stderr));
  });

  it('sends the evaluator\'s traces as Nix\'s messages', () => {
    const args = ['--eval', '--log-format', 'internal-json', '-E', 'builtins.trace "hello" (builtins.trace { a = 1; } 1)'];
    const ours = runCli('nix-instantiate', args);
    const ref = spawnSync('nix-instantiate', args, { encoding: 'utf8' });
    expect(ours.status).toBe(0);
    expect(ours.stdout).toBe(ref.stdout);
    expect(ours.stderr).toBe('@nix {"action":"msg","level":0,"msg":"trace: hello"}\n@nix {"action":"msg","level":0,"msg":"trace: { a = 1; }"}\n');
    expect(ours.stderr).toBe(ref.stderr);
  });
});
