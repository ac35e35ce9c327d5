// Nix's version-string rules: how builtins.parseDrvName, splitVersion and
// compareVersions (and `nix-env -u`) see "foo-1.2pre3".

import { compareBytewise } from '../sort-strings.js';

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

function isAlpha(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/**
 * The name ends at the first dash that is not followed by a letter; the
 * version is what follows that dash.
 */
export function parseDrvName(s: string): { name: string; version: string } {
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '-' && i + 1 < s.length && !isAlpha(s[i + 1]!)) {
      return { name: s.slice(0, i), version: s.slice(i + 1) };
    }
  }
  return { name: s, version: '' };
}

/**
 * The next component starting at `pos` (separators `.` and `-` skipped):
 * a run of digits, or a run of anything else up to a digit or separator.
 */
function nextComponent(v: string, pos: number): [string, number] {
  while (pos < v.length && (v[pos] === '.' || v[pos] === '-')) pos++;
  if (pos >= v.length) return ['', pos];
  const start = pos;
  if (isDigit(v[pos]!)) {
    while (pos < v.length && isDigit(v[pos]!)) pos++;
  } else {
    while (pos < v.length && !isDigit(v[pos]!) && v[pos] !== '.' && v[pos] !== '-') pos++;
  }
  return [v.slice(start, pos), pos];
}

export function splitVersion(v: string): string[] {
  const out: string[] = [];
  let pos = 0;
  while (pos < v.length) {
    const [c, next] = nextComponent(v, pos);
    pos = next;
    if (c === '') break;
    out.push(c);
  }
  return out;
}

const INT32_MAX = 2147483647;

/** A component as a number when it is one that fits Nix's `int`; digit runs too long for it are compared as text. */
function asNumber(c: string): number | undefined {
  if (c === '' || !/^[0-9]+$/.test(c)) return undefined;
  const n = Number(c);
  return n <= INT32_MAX ? n : undefined;
}

function componentLess(c1: string, c2: string): boolean {
  const n1 = asNumber(c1);
  const n2 = asNumber(c2);
  if (n1 !== undefined && n2 !== undefined) return n1 < n2;
  if (c1 === '' && n2 !== undefined) return true;
  if (c1 === 'pre' && c2 !== 'pre') return true;
  if (c2 === 'pre') return false;
  // "2.3a" sorts before "2.3.1".
  if (n2 !== undefined) return true;
  if (n1 !== undefined) return false;
  // Bytes, as Nix's std::string comparison.
  return compareBytewise(c1, c2) < 0;
}

/** -1, 0 or 1 as `builtins.compareVersions` returns. */
export function compareVersions(v1: string, v2: string): -1 | 0 | 1 {
  let p1 = 0;
  let p2 = 0;
  while (p1 < v1.length || p2 < v2.length) {
    const [c1, n1] = nextComponent(v1, p1);
    const [c2, n2] = nextComponent(v2, p2);
    p1 = n1;
    p2 = n2;
    if (componentLess(c1, c2)) return -1;
    if (componentLess(c2, c1)) return 1;
  }
  return 0;
}
