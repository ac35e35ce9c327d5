import { describe, expect, it } from 'vitest';
import { compareVersions, parseDrvName, splitVersion } from '../../src/eval/versions.js';

describe('version functions', () => {
  it('parseDrvName splits at the first dash not followed by a letter', () => {
    expect(parseDrvName('nix-0.12pre12876')).toEqual({ name: 'nix', version: '0.12pre12876' });
    expect(parseDrvName('apache-httpd-2.0.48')).toEqual({ name: 'apache-httpd', version: '2.0.48' });
    expect(parseDrvName('foo')).toEqual({ name: 'foo', version: '' });
    expect(parseDrvName('foo-')).toEqual({ name: 'foo-', version: '' });
  });

  it('splitVersion separates digit runs and other runs', () => {
    expect(splitVersion('1.2.3')).toEqual(['1', '2', '3']);
    expect(splitVersion('2.3a-pre.4')).toEqual(['2', '3', 'a', 'pre', '4']);
    expect(splitVersion('..')).toEqual([]);
  });

  it('compareVersions orders pre-releases and letters as Nix does', () => {
    expect(compareVersions('1.0', '2.3')).toBe(-1);
    expect(compareVersions('2.1', '2.3')).toBe(-1);
    expect(compareVersions('2.3', '2.3')).toBe(0);
    expect(compareVersions('2.5', '2.3')).toBe(1);
    expect(compareVersions('3.1', '2.3')).toBe(1);
    expect(compareVersions('2.3.1', '2.3')).toBe(1);
    expect(compareVersions('2.3.1', '2.3a')).toBe(1);
    expect(compareVersions('2.3pre1', '2.3')).toBe(-1);
    expect(compareVersions('2.3pre3', '2.3pre12')).toBe(-1);
    expect(compareVersions('2.3a', '2.3c')).toBe(-1);
    expect(compareVersions('2.3pre1', '2.3c')).toBe(-1);
    expect(compareVersions('2.3pre1', '2.3q')).toBe(-1);
    // Digit runs beyond a C int are compared as text.
    expect(compareVersions('1.99999999999', '1.2')).toBe(-1);
  });
});
