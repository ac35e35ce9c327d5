// Rejected outputs — missing, or referring to what the derivation forbids —
// give Nix's messages and exit status, side by side with the reference.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HOST_DEPS, nixBuild, tempDir } from './helpers.js';

const EXPR = `
let mk = name: script: extra: derivation ({ inherit name; system = builtins.currentSystem; builder = "/bin/sh";
      args = [ "-c" script ]; __impureHostDeps = ${HOST_DEPS}; PATH = "/bin"; } // extra);
    dep = mk "dep" "echo dep > $out" {};
in {
  selfRef = mk "selfref" "echo $out > $out" { allowedReferences = []; };
  forbidden = mk "badref" "echo \${dep} > $out" { allowedReferences = []; };
  allowedDep = mk "okref" "echo \${dep} > $out" { allowedReferences = [ dep ]; };
  disallowedReq = mk "disref" "echo \${dep} > $out" { disallowedRequisites = [ dep ]; };
  requisitesSelf = mk "reqself" "echo $out > $out" { allowedRequisites = []; };
  outputName = mk "outname" "echo $dev > $out; echo > $dev" { outputs = [ "out" "dev" ]; allowedReferences = [ "dev" ]; };
  badSpec = mk "badspec" "echo > $out" { allowedReferences = [ "nonsense" ]; };
  noOutput = mk "noout" "echo hi" {};
  outputCycle = mk "cyc" "echo $dev > $out; echo $out > $dev" { outputs = [ "out" "dev" ]; };
  otherPlatform = mk "otherplatform" "echo > $out" { system = "aarch64-linux"; };
  needsFeature = mk "needsfeature" "echo > $out" { requiredSystemFeatures = [ "gpu" "big-parallel" ]; };
  # Structured attributes: checks per output under outputChecks.
  tooBig = mk "toobig" "source .attrs.sh; echo 0123456789 > \\\${outputs[out]}" { builder = "/bin/bash"; __structuredAttrs = true; outputChecks.out.maxSize = 100; };
  closureTooBig = mk "closurebig" "source .attrs.sh; echo \${dep} > \\\${outputs[out]}" { builder = "/bin/bash"; __structuredAttrs = true; outputChecks.out.maxClosureSize = 200; };
  structuredDisallowed = mk "sdis" "source .attrs.sh; echo \${dep} > \\\${outputs[out]}" { builder = "/bin/bash"; __structuredAttrs = true; outputChecks.out.disallowedRequisites = [ dep ]; };
}`;

function refNixBuild(root: string, args: string[]) {
  const r = spawnSync('nix-build', ['--store', root, '--option', 'allowed-impure-host-deps', '/bin /usr /lib /lib64', ...args], {
    encoding: 'utf8',
    env: { ...process.env, NIX_REMOTE: '', NIX_CONF_DIR: '/etc/nix' },
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('output checks', () => {
  const ourRoot = tempDir();
  const refRoot = tempDir();
  const file = path.join(tempDir(), 'checks.nix');
  fs.writeFileSync(file, EXPR);

  for (const attr of ['selfRef', 'forbidden', 'allowedDep', 'disallowedReq', 'requisitesSelf', 'outputName', 'badSpec', 'noOutput', 'outputCycle', 'tooBig', 'closureTooBig', 'structuredDisallowed', 'otherPlatform', 'needsFeature']) {
    it(`${attr}: same outcome, message and exit status as Nix`, async () => {
      const args = [file, '-A', attr, '--no-out-link', '-Q'];
      const ours = await nixBuild(['--store', ourRoot, ...args]);
      const ref = refNixBuild(refRoot, args);
      const errors = (text: string, root: string) =>
        text.split('\n').filter((l) => l.startsWith('error:') || l.startsWith('       ')).join('\n').replaceAll(root, '<root>');
      expect(errors(ours.stderr, ourRoot)).toBe(errors(ref.stderr, refRoot));
      expect(ours.stdout).toBe(ref.stdout);
      expect(ours.status).toBe(ref.status);
      // Nothing of a rejected output stays in the store (Nix 2.8 leaves some as invalid paths).
      const entries = fs.readdirSync(path.join(ourRoot, 'nix/store')).filter((n) => !n.endsWith('.lock') && n !== '.links');
      const validity = spawnSync('nix-store', ['--store', ourRoot, '--check-validity', ...entries.map((n) => `/nix/store/${n}`)], { encoding: 'utf8' });
      expect(validity.stderr).toBe('');
    });
  }
});
