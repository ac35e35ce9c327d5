// Floats printed as Nix prints them, through C's printf: `%g` with six
// significant digits (C++ streams, for values, toJSON and toXML) and `%f`
// (std::to_string, for toString and interpolation).
//
// JavaScript's toExponential and toFixed round like printf except at an
// exact tie: printf rounds the exact halfway value to even (12345.25 prints
// 12345.2), JavaScript away from zero. And printf shows the sign of a NaN
// (inf * 0 is -nan on x86), which JavaScript's comparisons cannot see.

const bits = new Float64Array(1);
const bytes = new Uint8Array(bits.buffer);

/** Whether the sign bit of `x` is set (for NaN too). */
function signBit(x: number): boolean {
  bits[0] = x;
  return bytes[7]! >= 0x80;
}

/** nan, inf with their signs, or undefined for a finite number. */
function nonFinite(x: number): string | undefined {
  if (Number.isNaN(x)) return signBit(x) ? '-nan' : 'nan';
  if (!Number.isFinite(x)) return x < 0 ? '-inf' : 'inf';
  return undefined;
}

/**
 * True when `exact` (a value's digits to 100 places: far beyond where a
 * double can come close to a tie without being one) is an exact tie at
 * `keep` digits whose last kept digit is even: printf then rounds down,
 * where JavaScript rounded up.
 */
function tieToEven(exact: string, keep: number): boolean {
  if (exact[keep] !== '5') return false;
  for (let i = keep + 1; i < exact.length; i++) if (exact[i] !== '0') return false;
  const last = exact.charCodeAt(keep - 1) - 48;
  return last % 2 === 0;
}

/** C's `%.5e` of a finite, non-zero |x|: the six significant digits and the exponent. */
function sixDigits(abs: number): { digits: string; exp: number } {
  const exact = abs.toExponential(100);
  const exactDigits = exact[0]! + exact.slice(2, exact.indexOf('e'));
  if (tieToEven(exactDigits, 6)) return { digits: exactDigits.slice(0, 6), exp: parseInt(exact.slice(exact.indexOf('e') + 1), 10) };
  const s = abs.toExponential(5);
  const e = s.indexOf('e');
  return { digits: s[0]! + s.slice(2, e), exp: parseInt(s.slice(e + 1), 10) };
}

/** C++ iostream's default formatting of a double (`%g`, six significant digits). */
export function formatFloat(x: number): string {
  const special = nonFinite(x);
  if (special !== undefined) return special;
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const sign = x < 0 ? '-' : '';
  const { digits, exp } = sixDigits(Math.abs(x));
  if (exp < -4 || exp >= 6) {
    const mant = stripZeros(digits[0]! + '.' + digits.slice(1));
    const abs = Math.abs(exp);
    return `${sign}${mant}e${exp < 0 ? '-' : '+'}${abs < 10 ? '0' : ''}${abs}`;
  }
  // The same six digits with the point placed by the exponent.
  const fixed = exp >= 0 ? digits.slice(0, exp + 1) + '.' + digits.slice(exp + 1) : '0.' + '0'.repeat(-exp - 1) + digits;
  return sign + stripZeros(fixed);
}

function stripZeros(s: string): string {
  if (!s.includes('.')) return s;
  s = s.replace(/0+$/, '');
  if (s.endsWith('.')) s = s.slice(0, -1);
  return s;
}

/** C's `%f` (std::to_string of a double): six decimals, no exponent. */
export function formatFixed6(x: number): string {
  const special = nonFinite(x);
  if (special !== undefined) return special;
  if (Object.is(x, -0)) return '-0.000000';
  // No fraction digits are left at this size (and toFixed would switch to an exponent).
  if (Math.abs(x) >= 1e21) return `${BigInt(x)}.000000`;
  const abs = Math.abs(x);
  const exact = abs.toFixed(100);
  const point = exact.indexOf('.');
  const digits = exact.slice(0, point) + exact.slice(point + 1);
  const keep = point + 6;
  if (tieToEven(digits, keep)) {
    const kept = digits.slice(0, keep);
    return (x < 0 ? '-' : '') + kept.slice(0, point) + '.' + kept.slice(point);
  }
  return x.toFixed(6);
}
