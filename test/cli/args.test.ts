import { describe, expect, it } from 'vitest';
import { expandCompoundFlags, parseLegacyArgs, type ArgHandler } from '../../src/cli/args.js';
import { Settings } from '../../src/cli/settings.js';
import { UsageError } from '../../src/eval/errors.js';

function collect(argv: string[], claims: Record<string, number> = {}) {
  const seen: string[] = [];
  const handler: ArgHandler = (arg, cursor, positional) => {
    if (positional) {
      seen.push(`pos:${arg}`);
      return true;
    }
    if (arg in claims) {
      seen.push([arg, ...cursor.values(arg, claims[arg]!)].join(' '));
      return true;
    }
    return false;
  };
  const settings = new Settings();
  const common = parseLegacyArgs(argv, settings, handler);
  return { seen, common, settings };
}

describe('compound short flags', () => {
  it('splits letters into separate flags as Nix does', () => {
    expect(expandCompoundFlags(['-qR', '-iA', 'hello'])).toEqual(['-q', '-R', '-i', '-A', 'hello']);
  });
  it('keeps a trailing non-letter part as the value', () => {
    expect(expandCompoundFlags(['-j3', '-I/some/path'])).toEqual(['-j', '3', '-I', '/some/path']);
  });
  it('leaves long flags, lone dashes and arguments after -- alone', () => {
    expect(expandCompoundFlags(['--eval', '-', '--', '-qR'])).toEqual(['--eval', '-', '--', '-qR']);
  });
});

describe('parseLegacyArgs', () => {
  it('gives two-valued options both values', () => {
    const { common } = collect(['--arg', 'x', '1 + 2', '--argstr', 'y', 'hi']);
    expect(common.autoArgs.get('x')).toEqual({ kind: 'expr', expr: '1 + 2' });
    expect(common.autoArgs.get('y')).toEqual({ kind: 'string', value: 'hi' });
  });

  it('collects -I entries in order, both plain and name=path', () => {
    const { common } = collect(['-I', '/a', '-I/b', '--include', 'c', '-I', 'nixpkgs=/d']);
    expect(common.includes).toEqual(['/a', '/b', 'c', 'nixpkgs=/d']);
  });

  it('passes repeatable command flags and positionals to the command', () => {
    const { seen } = collect(['-A', 'a', 'file.nix', '--attr', 'b', '-', '--', 'x.nix', '--flag'], { '-A': 1, '--attr': 1, '--flag': 0 });
    // like Nix, `-Ab` expands to `-A -b`, so -A takes "-b" as its value
    expect(collect(['-Ab'], { '-A': 1 }).seen).toEqual(['-A -b']);
    expect(seen).toEqual(['-A a', 'pos:file.nix', '--attr b', 'pos:-', 'pos:x.nix', '--flag']);
  });

  it("after `--`, gives the command each argument alone, as Nix's legacy commands get them", () => {
    // The command's own flags still count, without values to take; common flags and unknown ones are unexpected.
    expect(() => collect(['--', '-A', 'a'], { '-A': 1 })).toThrow("flag '-A' requires 1 argument(s), but only 0 were given");
    expect(() => collect(['--', '--arg', 'x', '1'])).toThrow("unexpected argument '--arg'");
    expect(() => collect(['--', '--nonsense'])).toThrow("unexpected argument '--nonsense'");
  });

  it('turns settings into flags: --option, --NAME VALUE, --no-NAME, --extra-NAME', () => {
    const { settings } = collect([
      '--option', 'max-call-depth', '100',
      '--no-sandbox',
      '--keep-outputs',
      '--extra-experimental-features', 'pipe-operators',
      '--cores', '3',
      '-j', '4',
    ]);
    expect(settings.getInt('max-call-depth')).toBe(100);
    expect(settings.getString('sandbox')).toBe('false'); // sandbox is a string-valued setting ("relaxed" exists)
    expect(settings.getBool('keep-outputs')).toBe(true);
    expect(settings.getStrings('experimental-features')).toContain('pipe-operators');
    expect(settings.getInt('cores')).toBe(3);
    expect(settings.getString('max-jobs')).toBe('4');
  });

  it('rejects an unknown flag by name', () => {
    expect(() => collect(['--frobnicate'])).toThrow(new UsageError("unrecognised flag '--frobnicate'"));
  });

  it("reports a missing value with Nix's wording", () => {
    expect(() => collect(['-A'], { '-A': 1 })).toThrow(/requires 1 argument/);
    expect(() => collect(['--arg', 'x'])).toThrow("flag '--arg' requires 2 argument(s), but only 1 were given");
  });
});
