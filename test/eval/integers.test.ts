// Integers are JS numbers while they are safe (|n| < 2^53) and bigints
// beyond, floats are boxed. These check the seams: results that cross 2^53
// in either direction stay exact, both forms compare and print alike, and
// ints and floats never get confused.
import { describe, expect, it } from 'vitest';
import { evalError, evalNix } from './eval-helpers.js';

describe('integers across the safe-integer boundary', () => {
  it('adds, subtracts and multiplies exactly past 2^53', () => {
    expect(evalNix('9007199254740991 + 1')).toBe('9007199254740992');
    expect(evalNix('9007199254740991 + 2')).toBe('9007199254740993');
    expect(evalNix('(-9007199254740991) - 2')).toBe('-9007199254740993');
    expect(evalNix('94906267 * 94906267')).toBe('9007199515875289');
    expect(evalNix('3037000499 * 3037000499')).toBe('9223372030926249001');
    expect(evalNix('builtins.sub 9007199254740993 9007199254740992')).toBe('1');
    expect(evalNix('9007199254740993 - 2 - 9007199254740990')).toBe('1');
  });

  it('divides truncating towards zero, in both forms', () => {
    expect(evalNix('[ (7 / 2) (-7 / 2) (7 / (-2)) (-7 / (-2)) (0 / (-5)) ]')).toBe('[ 3 -3 -3 3 0 ]');
    expect(evalNix('9007199254740993 / 3')).toBe('3002399751580331');
    expect(evalNix('(-9223372036854775807 - 1) / 2')).toBe('-4611686018427387904');
    expect(evalError('(-9223372036854775807 - 1) / (-1)')).toContain('integer overflow in dividing -9223372036854775808 / -1');
    expect(evalError('1 / 0')).toBe('division by zero');
  });

  it('compares and tests equality across forms', () => {
    expect(evalNix('(9007199254740992 + 1) == 9007199254740993')).toBe('true');
    expect(evalNix('(9007199254740993 - 1) == 9007199254740992')).toBe('true');
    expect(evalNix('(9007199254740993 - 2) == 9007199254740991')).toBe('true');
    expect(evalNix('9007199254740993 > 9007199254740992')).toBe('true');
    expect(evalNix('builtins.sort builtins.lessThan [ 9007199254740993 3 (-9007199254740993) 0 ]')).toBe(
      '[ -9007199254740993 0 3 9007199254740993 ]',
    );
    expect(evalNix('builtins.elem (9007199254740994 - 9007199254740990) [ 4 ]')).toBe('true');
  });

  it('never yields -0 and prints integers as integers', () => {
    expect(evalNix('[ (0 * (-1)) ((-0) / 3) (toString (0 * (-5))) (builtins.toJSON (0 * (-1))) ]')).toBe('[ 0 0 "0" "0" ]');
  });

  it('keeps integers and floats apart', () => {
    expect(evalNix('[ (builtins.typeOf 1) (builtins.typeOf 1.0) (builtins.isInt 2) (builtins.isFloat 2) (builtins.isFloat 2.0) ]')).toBe(
      '[ "int" "float" true false true ]',
    );
    expect(evalNix('[ (1 + 1.0) (2 * 1.5) (3 / 2.0) (1 == 1.0) (1 < 1.5) (builtins.typeOf (1 + 1.0)) ]')).toBe('[ 2 3 1.5 true true "float" ]');
    expect(evalNix('builtins.fromJSON "[1, 1.0, 9223372036854775807, -9223372036854775808]"')).toBe(
      '[ 1 1 9223372036854775807 -9223372036854775808 ]',
    );
    expect(evalNix('map builtins.typeOf (builtins.fromJSON "[1, 1.0]")')).toBe('[ "int" "float" ]');
    expect(evalNix('map builtins.typeOf (builtins.attrValues (builtins.fromTOML "a = 1\\nb = 1.0"))')).toBe('[ "int" "float" ]');
    expect(evalNix('[ (builtins.floor 2.5) (builtins.ceil 2.5) (builtins.typeOf (builtins.floor 2.5)) ]')).toBe('[ 2 3 "int" ]');
  });

  it('bit operations use all 64 bits of either form', () => {
    expect(evalNix('builtins.bitAnd 9007199254740993 4294967297')).toBe('1');
    expect(evalNix('builtins.bitOr 4294967296 1')).toBe('4294967297');
    expect(evalNix('builtins.bitXor 9223372036854775807 (-1)')).toBe('-9223372036854775808');
  });
});
