import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyConfText, intWithUnitPrefix, loadSettings, parseIntWithUnit, parseNixPathEnv, Settings } from '../../src/cli/settings.js';

describe('settings', () => {
  it('has Nix defaults', () => {
    const s = new Settings();
    expect(s.getBool('keep-derivations')).toBe(true);
    expect(s.getBool('keep-outputs')).toBe(false);
    expect(s.getInt('max-call-depth')).toBe(10000);
  });

  it('accepts old names as aliases', () => {
    const s = new Settings();
    s.set('gc-keep-outputs', 'true');
    expect(s.getBool('keep-outputs')).toBe(true);
  });

  it('appends with extra- and replaces otherwise', () => {
    const s = new Settings();
    s.set('substituters', 'a b');
    s.set('extra-substituters', 'c');
    expect(s.getStrings('substituters')).toEqual(['a', 'b', 'c']);
    s.set('substituters', '');
    expect(s.getStrings('substituters')).toEqual([]);
  });

  it('warns about unknown settings instead of failing', () => {
    const s = new Settings();
    expect(s.set('no-such-setting', '1')).toBe(false);
    expect(s.warnings).toEqual(["unknown setting 'no-such-setting'"]);
  });

  // Live only: the reference is on PATH in CI (.ci/run installs it).
  const show = spawnSync('nix', ['--extra-experimental-features', 'nix-command', 'show-config'], { encoding: 'utf8' });
  it.runIf(show.status === 0)('knows every setting of the reference Nix with its default value', () => {
    for (const line of show.stdout.split('\n').filter((l) => l !== '')) {
      const [name, value] = line.split(/ = (.*)/s) as [string, string];
      const s = new Settings();
      expect(s.set(name, value), name).toBe(true);
      expect(s.warnings, name).toEqual([]);
    }
  });

  it('takes sizes up to 2^64 - 1 (max-free\'s default) and no negative ones', () => {
    const s = new Settings();
    s.set('max-free', '18446744073709551615');
    expect(s.getInt('max-free')).toBe(2 ** 64);
    expect(() => s.set('min-free', '-1')).toThrow("configuration setting 'min-free' should have an integer value, but has '-1'");
    expect(() => s.set('max-free', '18446744073709551616')).toThrow('should have an integer value');
  });

  it('splits NIX_PATH as Nix does: empty entries kept (the current directory), a URL\'s scheme not split off', () => {
    expect(parseNixPathEnv(':')).toEqual(['']);
    expect(parseNixPathEnv(':/a::')).toEqual(['', '/a', '']);
    expect(parseNixPathEnv('a::b:')).toEqual(['a', '', 'b']);
    expect(parseNixPathEnv('nixpkgs=https://x.org/n.tar.gz:b=/b')).toEqual(['nixpkgs=https://x.org/n.tar.gz', 'b=/b']);
    // Only one colon after the scheme is skipped, so a port splits the entry (as in Nix).
    expect(parseNixPathEnv('a=https://x.org:8080/y:b')).toEqual(['a=https://x.org', '8080/y', 'b']);
    expect(parseNixPathEnv('nixpkgs=channel:nixos-21.11:x')).toEqual(['nixpkgs=channel:nixos-21.11', 'x']);
    expect(parseNixPathEnv('/a:ftp://b')).toEqual(['/a', 'ftp', '//b']);
  });

  it('rejects a bad boolean', () => {
    expect(() => new Settings().set('keep-outputs', 'yes')).toThrow("Boolean setting 'keep-outputs' has invalid value 'yes'");
  });

  it('parses sizes with unit suffixes', () => {
    expect(parseIntWithUnit('10K')).toBe(10240);
    expect(parseIntWithUnit('2G')).toBe(2 * 1024 ** 3);
    expect(parseIntWithUnit('x')).toBeUndefined();
  });

  it('reads nix.conf with comments and includes, then the user file, then NIX_CONFIG', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsnix-conf-'));
    writeFileSync(join(dir, 'nix.conf'), 'keep-outputs = true # comment\ninclude extra.conf\n!include missing.conf\ncores = 2\n');
    writeFileSync(join(dir, 'extra.conf'), 'max-call-depth = 50\n');
    const user = join(dir, 'user');
    mkdirSync(join(user, 'nix'), { recursive: true });
    writeFileSync(join(user, 'nix', 'nix.conf'), 'cores = 5\n');
    const s = loadSettings({ NIX_CONF_DIR: dir, XDG_CONFIG_HOME: user, XDG_CONFIG_DIRS: join(dir, 'none'), NIX_CONFIG: 'max-call-depth = 70' });
    expect(s.getBool('keep-outputs')).toBe(true);
    expect(s.getInt('cores')).toBe(5);
    expect(s.getInt('max-call-depth')).toBe(70);
  });

  it('fails on a missing mandatory include', () => {
    expect(() => applyConfText(new Settings(), 'include /nonexistent/x.conf', '/etc/nix/nix.conf')).toThrow(/not found/);
  });
});

describe('integer flags with units (--max-freed, --cores)', () => {
  it('take K, M, G, T in either case, within 64 bits, with Nix\'s messages otherwise', () => {
    expect([intWithUnitPrefix('12'), intWithUnitPrefix('1k'), intWithUnitPrefix('2M'), intWithUnitPrefix('-1')]).toEqual([12, 1024, 2 * 1024 ** 2, -1]);
    expect(() => intWithUnitPrefix('1x')).toThrow("invalid unit specifier 'X'");
    expect(() => intWithUnitPrefix(' 1')).toThrow("' 1' is not an integer");
    expect(() => intWithUnitPrefix('99999999999999999999')).toThrow("'99999999999999999999' is not an integer");
    expect(() => intWithUnitPrefix('')).toThrow("'' is not an integer");
  });
});
