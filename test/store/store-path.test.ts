import { describe, expect, it } from 'vitest';
import { hashString, parseHashAny } from '../../src/store/hash.js';
import {
  computeStorePathForText,
  parseStorePath,
  toStorePath,
} from '../../src/store/store-path.js';
import { parseContentAddress, renderContentAddress } from '../../src/store/content-address.js';

describe('store paths', () => {
  it('computes text paths as builtins.toFile does', () => {
    // nix-instantiate --eval -E 'builtins.toFile "a" "b"'
    expect(computeStorePathForText('a', 'b')).toBe('/nix/store/g76zcpqc540lrc8i6g7xy6ip0npn2hnp-a');
  });
  it('parses and validates store paths with Nix messages', () => {
    const p = parseStorePath('/nix/store/g76zcpqc540lrc8i6g7xy6ip0npn2hnp-a');
    expect(p).toEqual({ path: '/nix/store/g76zcpqc540lrc8i6g7xy6ip0npn2hnp-a', hashPart: 'g76zcpqc540lrc8i6g7xy6ip0npn2hnp', name: 'a' });
    expect(() => parseStorePath('/tmp/x')).toThrow("path '/tmp/x' is not in the Nix store");
    expect(() => parseStorePath('/nix/store/abc')).toThrow("'abc' is too short to be a valid store path");
    expect(() => parseStorePath('/nix/store/e76zcpqc540lrc8i6g7xy6ip0npn2hnp-a')).toThrow(
      "store path 'e76zcpqc540lrc8i6g7xy6ip0npn2hnp-a' contains illegal base-32 character 'e'",
    );
    expect(() => parseStorePath('/nix/store/g76zcpqc540lrc8i6g7xy6ip0npn2hnp-a b')).toThrow(
      "store path 'g76zcpqc540lrc8i6g7xy6ip0npn2hnp-a b' contains illegal character ' '",
    );
    expect(() => parseStorePath('/nix/store/g76zcpqc540lrc8i6g7xy6ip0npn2hnp-')).toThrow(
      "store path 'g76zcpqc540lrc8i6g7xy6ip0npn2hnp-' has an empty name",
    );
    expect(() => parseStorePath(`/nix/store/g76zcpqc540lrc8i6g7xy6ip0npn2hnp-${'x'.repeat(212)}`)).toThrow(
      'has a name longer than 211 characters',
    );
  });
  it('splits paths below a store path', () => {
    expect(toStorePath('/nix/store/g76zcpqc540lrc8i6g7xy6ip0npn2hnp-a/bin/sh')).toEqual({
      storePath: '/nix/store/g76zcpqc540lrc8i6g7xy6ip0npn2hnp-a',
      rest: '/bin/sh',
    });
  });
  it('renders and parses content addresses', () => {
    const h = parseHashAny('sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
    const ca = { type: 'fixed', method: 'recursive', hash: h } as const;
    const s = renderContentAddress(ca);
    expect(s).toBe('fixed:r:sha256:094qif9n4cq4fdg459qzbhg1c6wywawwaaivx0k0x8xhbyx4vwic');
    expect(parseContentAddress(s)).toEqual(ca);
    expect(renderContentAddress({ type: 'text', hash: h })).toBe('text:sha256:094qif9n4cq4fdg459qzbhg1c6wywawwaaivx0k0x8xhbyx4vwic');
    expect(() => parseContentAddress('nope')).toThrow("not a content address because it is not in the form '<prefix>:<rest>': nope");
  });
});
