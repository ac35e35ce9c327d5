// The builder's environment, as Nix constructs it: a fixed set of variables
// (PATH=/path-not-set, HOME=/homeless-shelter, NIX_STORE, NIX_BUILD_CORES,
// NIX_BUILD_TOP and its TMPDIR aliases, PWD, NIX_LOG_FD, TERM), then the
// derivation's own attributes: directly in the environment, as files for
// names listed in `passAsFile`, or — with `__structuredAttrs` — as
// .attrs.json / .attrs.sh in the build directory. Output placeholders
// (builtins.placeholder) become the real output paths everywhere the builder
// can see them: environment, arguments and the extra files.

import { hashString, printHash } from '../store/hash.js';
import { hashPlaceholder } from '../store/derivation-hash.js';
import { type Derivation } from '../store/derivation.js';
import { compareBytewise } from '../sort-strings.js';
import { parseJson, type JsonValue } from '../eval/json-parse.js';

export interface BuildEnvironmentOptions {
  drv: Derivation;
  /** The logical store directory (NIX_STORE). */
  storeDir: string;
  /** Where the builder sees its build directory: /build in the sandbox, the host path otherwise. */
  buildDirInSandbox: string;
  /** NIX_BUILD_CORES. */
  cores: number;
  /** Output name → the path the builder writes that output to. */
  outputPaths: Map<string, string>;
  /** Fixed-output derivations get the variables named in `impureEnvVars` from our environment. */
  isFixedOutput: boolean;
  hostEnv?: NodeJS.ProcessEnv;
  /** Structured attributes: turns the `exportReferencesGraph` value into the entries to add. */
  exportReferencesGraph?: (spec: Json) => Record<string, Json>;
}

export interface BuildEnvironment {
  env: Map<string, string>;
  args: string[];
  /** Files to create in the build directory: name (relative) → contents. */
  files: Map<string, string>;
}

/** Nix's escapeShellArgAlways: single quotes, `'` as `'\''`. */
export function shellQuote(s: string): string {
  return `'${s.replaceAll("'", "'\\''")}'`;
}

/** Replaces every occurrence of each key by its value, in one pass per key (Nix's rewriteStrings). */
export function rewriteStrings(s: string, rewrites: Map<string, string>): string {
  for (const [from, to] of rewrites) if (from !== '' && s.includes(from)) s = s.split(from).join(to);
  return s;
}

/** The file a `passAsFile` attribute is written to: `.attr-<base32 sha256 of its name>`. */
export function passAsFileName(attrName: string): string {
  return '.attr-' + printHash(hashString('sha256', attrName), 'base32');
}

export function buildEnvironment(o: BuildEnvironmentOptions): BuildEnvironment {
  const { drv } = o;
  const env = new Map<string, string>();
  const files = new Map<string, string>();
  const rewrites = new Map<string, string>();
  for (const [name, path] of o.outputPaths) rewrites.set(hashPlaceholder(name), path);

  env.set('PATH', '/path-not-set');
  env.set('HOME', '/homeless-shelter');
  env.set('NIX_STORE', o.storeDir);
  env.set('NIX_BUILD_CORES', String(o.cores));

  const structured = drv.env.get('__json');
  if (structured !== undefined) {
    const json = prepareStructuredAttrs(structured, drv, o.exportReferencesGraph);
    files.set('.attrs.json', rewriteStrings(dumpJson(json), rewrites));
    files.set('.attrs.sh', rewriteStrings(structuredAttrsShell(json), rewrites));
    env.set('NIX_ATTRS_JSON_FILE', `${o.buildDirInSandbox}/.attrs.json`);
    env.set('NIX_ATTRS_SH_FILE', `${o.buildDirInSandbox}/.attrs.sh`);
  } else {
    const passAsFile = new Set((drv.env.get('passAsFile') ?? '').split(/[ \t\n\r]+/).filter((w) => w !== ''));
    for (const [name, value] of drv.env) {
      if (!passAsFile.has(name)) {
        env.set(name, value);
      } else {
        const file = passAsFileName(name);
        files.set(file, rewriteStrings(value, rewrites));
        env.set(`${name}Path`, `${o.buildDirInSandbox}/${file}`);
      }
    }
  }

  env.set('NIX_BUILD_TOP', o.buildDirInSandbox);
  for (const v of ['TMPDIR', 'TEMPDIR', 'TMP', 'TEMP', 'PWD']) env.set(v, o.buildDirInSandbox);

  if (o.isFixedOutput) {
    env.set('NIX_OUTPUT_CHECKED', '1');
    const hostEnv = o.hostEnv ?? process.env;
    for (const name of impureEnvVars(drv, structured)) env.set(name, hostEnv[name] ?? '');
  }

  env.set('NIX_LOG_FD', '2');
  env.set('TERM', 'xterm-256color');

  // Nix rewrites "NAME=VALUE" as one string, so a placeholder in a name is replaced too.
  const finalEnv = new Map<string, string>();
  for (const [k, v] of env) finalEnv.set(rewriteStrings(k, rewrites), rewriteStrings(v, rewrites));
  return { env: finalEnv, args: drv.args.map((a) => rewriteStrings(a, rewrites)), files };
}

function impureEnvVars(drv: Derivation, structured: string | undefined): string[] {
  if (structured !== undefined) {
    try {
      const v = (JSON.parse(structured) as Record<string, unknown>).impureEnvVars;
      return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
    } catch {
      return [];
    }
  }
  return (drv.env.get('impureEnvVars') ?? '').split(/[ \t\n\r]+/).filter((w) => w !== '');
}

/**
 * JSON as nlohmann::json holds it: integers exactly (bigint), floats
 * (number) apart from them, so that .attrs.json and .attrs.sh print each as
 * Nix does.
 */
export type Json = null | boolean | bigint | number | string | Json[] | { [k: string]: Json };

/** A parsed document in the Json model (objects as plain records, the last of duplicate keys winning). */
function fromParsed(v: JsonValue): Json {
  if (Array.isArray(v)) return v.map(fromParsed);
  if (v instanceof Map) {
    const o: { [k: string]: Json } = {};
    for (const [k, x] of v) o[k] = fromParsed(x);
    return o;
  }
  return v;
}

function prepareStructuredAttrs(
  text: string,
  drv: Derivation,
  exportGraph: ((spec: Json) => Record<string, Json>) | undefined,
): { [k: string]: Json } {
  let json: Json;
  try {
    json = fromParsed(parseJson(text));
  } catch (e) {
    throw new Error(`cannot process __json attribute of '${drv.name}': ${(e as Error).message}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) json = {};
  const outputs: { [k: string]: Json } = {};
  for (const name of drv.outputs.keys()) outputs[name] = hashPlaceholder(name);
  const graph = json.exportReferencesGraph;
  const extra = graph !== undefined && exportGraph ? exportGraph(graph) : {};
  return { ...json, outputs, ...extra };
}

function sortedKeys(o: { [k: string]: Json }): string[] {
  return Object.keys(o).sort(compareBytewise);
}

/** JSON as nlohmann::json::dump() writes it: compact, keys in byte order, numbers as nlohmann prints them. */
export function dumpJson(v: Json): string {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return nlohmannFloat(v);
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(dumpJson).join(',')}]`;
  return `{${sortedKeys(v).map((k) => `${JSON.stringify(k)}:${dumpJson(v[k]!)}`).join(',')}}`;
}

/**
 * nlohmann's float output: the shortest digits that read back the same,
 * as `digits.0` or `0.000digits` for decimal exponents in (-4, 15], else
 * `d.ddde+NN` (two exponent digits at least).
 */
export function nlohmannFloat(x: number): string {
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  const [mantissa, exp] = Math.abs(x).toExponential().split('e') as [string, string];
  const digits = mantissa.replace('.', '');
  const k = digits.length;
  const n = Number(exp) + 1; // the decimal point sits after n digits
  if (k <= n && n <= 15) return `${sign}${digits}${'0'.repeat(n - k)}.0`;
  if (n > 0 && n <= 15) return `${sign}${digits.slice(0, n)}.${digits.slice(n)}`;
  if (n > -4 && n <= 0) return `${sign}0.${'0'.repeat(-n)}${digits}`;
  const e = n - 1;
  const expText = `${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  return `${sign}${digits[0]}${k > 1 ? `.${digits.slice(1)}` : ''}e${expText}`;
}

/**
 * A number in .attrs.sh as Nix writes it: only if it is whole as a float
 * (single precision), then converted to a C int: an integer wraps to 32
 * bits, a float out of range becomes INT_MIN (x86's conversion).
 */
function shellInt(v: bigint | number): string | undefined {
  if (typeof v === 'bigint') return String(BigInt.asIntN(32, v));
  const f = Math.fround(v);
  if (Math.ceil(f) !== f) return undefined;
  const t = Math.trunc(v);
  return String(t >= -2147483648 && t <= 2147483647 ? t + 0 : -2147483648);
}

function shellSimple(v: Json): string | undefined {
  if (typeof v === 'string') return shellQuote(v);
  if (typeof v === 'number' || typeof v === 'bigint') return shellInt(v);
  if (v === null) return "''";
  if (typeof v === 'boolean') return v ? '1' : '';
  return undefined;
}

/**
 * .attrs.sh: the attributes bash can represent (strings, integers, null,
 * Booleans, and flat lists/attribute sets of those) as `declare` lines.
 */
export function structuredAttrsShell(json: { [k: string]: Json }): string {
  let out = '';
  for (const key of sortedKeys(json)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) continue;
    const value = json[key]!;
    const simple = shellSimple(value);
    if (simple !== undefined) {
      out += `declare ${key}=${simple}\n`;
    } else if (Array.isArray(value)) {
      const items = value.map(shellSimple);
      if (items.every((x) => x !== undefined)) out += `declare -a ${key}=(${items.map((x) => x + ' ').join('')})\n`;
    } else if (value !== null && typeof value === 'object') {
      const obj = value;
      const items = sortedKeys(obj).map((k) => [k, shellSimple(obj[k]!)] as const);
      if (items.every(([, x]) => x !== undefined))
        out += `declare -A ${key}=(${items.map(([k, x]) => `[${shellQuote(k)}]=${x} `).join('')})\n`;
    }
  }
  return out;
}
