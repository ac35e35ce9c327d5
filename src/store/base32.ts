// Nix's own base-32: an alphabet without e, o, u, t (so hashes never spell
// words) and a bit order that starts from the *last* character, so it is not
// RFC 4648 and no library encoder produces it.

export const NIX_BASE32_ALPHABET = '0123456789abcdfghijklmnpqrsvwxyz';

const digitValue = new Int8Array(128).fill(-1);
for (let i = 0; i < NIX_BASE32_ALPHABET.length; i++) digitValue[NIX_BASE32_ALPHABET.charCodeAt(i)] = i;

/** Number of base-32 characters needed for `byteLength` bytes. */
export function base32Length(byteLength: number): number {
  return Math.ceil((byteLength * 8) / 5);
}

export function isBase32Char(ch: string): boolean {
  const c = ch.charCodeAt(0);
  return c < 128 && digitValue[c] >= 0;
}

const alphabetCodes = Uint8Array.from(NIX_BASE32_ALPHABET, (c) => c.charCodeAt(0));
/** Scratch space for the characters of one encoding (a store path hash is 32 characters, sha512 103). */
let scratch = Buffer.allocUnsafeSlow(128);

/**
 * Encodes bytes: character k (from the end) holds bits 5k..5k+4 of the
 * little-endian number. Evaluation encodes a few hashes per derivation, so
 * the characters go into a reused buffer and become one string at the end
 * instead of a string per character.
 */
export function encodeBase32(bytes: Uint8Array): string {
  const len = base32Length(bytes.length);
  if (len > scratch.length) scratch = Buffer.allocUnsafeSlow(len);
  const out = scratch;
  for (let n = len - 1, k = 0; n >= 0; n--, k++) {
    const bit = n * 5;
    const i = bit >> 3;
    const j = bit & 7;
    let c = bytes[i]! >> j;
    if (i + 1 < bytes.length) c |= bytes[i + 1]! << (8 - j);
    out[k] = alphabetCodes[c & 0x1f]!;
  }
  return out.toString('latin1', 0, len);
}

/**
 * Decodes into `byteLength` bytes. Returns undefined for a character outside
 * the alphabet or for set bits beyond the last byte (Nix rejects those too,
 * so every hash has exactly one base-32 spelling).
 */
export function decodeBase32(s: string, byteLength: number): Uint8Array | undefined {
  const out = new Uint8Array(byteLength);
  for (let n = 0; n < s.length; n++) {
    const code = s.charCodeAt(s.length - n - 1);
    const digit = code < 128 ? digitValue[code] : -1;
    if (digit < 0) return undefined;
    const bit = n * 5;
    const i = bit >> 3;
    const j = bit & 7;
    if (i >= byteLength) {
      if (digit !== 0) return undefined;
      continue;
    }
    out[i] |= (digit << j) & 0xff;
    if (i + 1 < byteLength) out[i + 1] |= digit >> (8 - j);
    else if (digit >> (8 - j)) return undefined;
  }
  return out;
}
