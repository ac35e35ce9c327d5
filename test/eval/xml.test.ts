import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { evalNix, newState } from './eval-helpers.js';
import { printValueAsXml } from '../../src/eval/builtins/xml.js';

describe('toXML', () => {
  it('writes Nix value-to-xml output', () => {
    expect(evalNix('builtins.toXML { a = "s"; }')).toBe(
      '"<?xml version=\'1.0\' encoding=\'utf-8\'?>\\n<expr>\\n  <attrs>\\n    <attr name=\\"a\\">\\n      <string value=\\"s\\" />\\n    </attr>\\n  </attrs>\\n</expr>\\n"',
    );
  });

  it('shows functions, escapes attribute values and leaves builtins unevaluated', () => {
    const state = newState();
    const v = state.evalString('{ a = 1.5; c = args@{ y, x ? 1, ... }: x; e = [ true "<&>\\"\\n" null ]; f = builtins.map; g = x: x; }');
    expect(printValueAsXml(state, v, { strict: true, location: false })).toBe(
      [
        "<?xml version='1.0' encoding='utf-8'?>",
        '<expr>',
        '  <attrs>',
        '    <attr name="a">',
        '      <float value="1.5" />',
        '    </attr>',
        '    <attr name="c">',
        '      <function>',
        '        <attrspat ellipsis="1" name="args">',
        '          <attr name="x" />',
        '          <attr name="y" />',
        '        </attrspat>',
        '      </function>',
        '    </attr>',
        '    <attr name="e">',
        '      <list>',
        '        <bool value="true" />',
        '        <string value="&lt;&amp;&gt;&quot;&#xA;" />',
        '        <null />',
        '      </list>',
        '    </attr>',
        '    <attr name="f">',
        '      <unevaluated />',
        '    </attr>',
        '    <attr name="g">',
        '      <function>',
        '        <varpat name="x" />',
        '      </function>',
        '    </attr>',
        '  </attrs>',
        '</expr>',
        '',
      ].join('\n'),
    );
  });

  it('prints positions when asked and unevaluated thunks when not strict', () => {
    const state = newState();
    const v = state.evalString('{ a = 1 + 1; }');
    const xml = printValueAsXml(state, v, { strict: false, location: true });
    // An expression given as a string has no path (Nix 2.8 showed its text there).
    expect(xml).toContain('<attr column="3" line="1" name="a">');
    expect(xml).toContain('<unevaluated />');
  });

  it("names a file's path, and derivation.nix's as current Nix does", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnix-xml-'));
    fs.writeFileSync(path.join(dir, 'a.nix'), '{\n  a = x: x;\n}\n');
    const state = newState();
    const xml = printValueAsXml(state, state.evalFile(path.join(dir, 'a.nix')), { strict: false, location: true });
    expect(xml).toContain(`<attr column="3" line="2" name="a" path="${path.join(dir, 'a.nix')}">`);
    const drv = state.evalString('derivation { name = "x"; system = "s"; builder = "b"; }');
    expect(printValueAsXml(state, drv, { strict: true, location: true })).toMatch(/<attr column="\d+" line="\d+" name="all" path="\/derivation-internal.nix">/);
  });
});
