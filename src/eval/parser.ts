// The Nix parser: recursive descent with precedence climbing for operators,
// producing the AST of ast.ts with the positions Nix's own (bison) parser
// assigns. Syntax errors imitate bison's wording ("syntax error, unexpected
// X, expecting Y or Z"): at each point where the grammar can fail we list the
// tokens bison's automaton would list in the corresponding state.

import type {
  AttrDef,
  AttrName,
  Expr,
  ExprAttrs,
  ExprCall,
  ExprInheritFrom,
  ExprLambda,
  ExprString,
  Formal,
} from './ast.js';
import { ParseError } from './errors.js';
import { LineMap, Lexer, tokenName, type Token, type TokenType } from './lexer.js';
import { showPos, type Origin, type Pos } from './position.js';
import { showAttrPath, showIdentifier } from './show-expr.js';
import { renderError } from './error-format.js';
import { homedir } from 'node:os';

export type LintLevel = 'ignore' | 'warn' | 'fatal';

export interface ParseOptions {
  /** Directory that relative path literals are resolved against. */
  basePath: string;
  /** Home directory for `~/` paths (defaults to $HOME). */
  home?: string;
  /** Receives lint warnings and the "cursed or" warning; `pos` is absent when the message carries its own. */
  warn?: (message: string, pos?: Pos) => void;
  lint?: {
    shortPathLiterals?: LintLevel;
    absolutePathLiterals?: LintLevel;
    urlLiterals?: LintLevel;
  };
  experimentalFeatures?: Set<string>;
  /** In pure evaluation mode `~/` paths are an error. */
  pureEval?: boolean;
}

// Binary operator precedences, lowest first, as in Nix's grammar.
const PREC_IMPL = 1;
const PREC_OR = 2;
const PREC_AND = 3;
const PREC_EQ = 4;
const PREC_CMP = 5;
const PREC_UPDATE = 6;
const PREC_NOT = 7;
const PREC_ADD = 8;
const PREC_MUL = 9;
const PREC_CONCAT = 10;
const PREC_HASATTR = 11;

function binaryPrec(t: Token): number {
  switch (t.type) {
    case 'IMPL':
      return PREC_IMPL;
    case 'OR':
      return PREC_OR;
    case 'AND':
      return PREC_AND;
    case 'EQ':
    case 'NEQ':
      return PREC_EQ;
    case 'LEQ':
    case 'GEQ':
      return PREC_CMP;
    case 'UPDATE':
      return PREC_UPDATE;
    case 'CONCAT':
      return PREC_CONCAT;
    case 'CHAR':
      switch (t.text) {
        case '<':
        case '>':
          return PREC_CMP;
        case '+':
        case '-':
          return PREC_ADD;
        case '*':
        case '/':
          return PREC_MUL;
        case '?':
          return PREC_HASATTR;
      }
      return 0;
    default:
      return 0;
  }
}

/** Tokens that can begin an `expr_simple` (and so an argument in a function application). */
function startsSimple(t: Token): boolean {
  switch (t.type) {
    case 'ID':
    case 'INT':
    case 'FLOAT':
    case 'IND_STRING_OPEN':
    case 'PATH':
    case 'HPATH':
    case 'SPATH':
    case 'URI':
    case 'LET':
    case 'REC':
      return true;
    case 'CHAR':
      return t.text === '"' || t.text === '(' || t.text === '{' || t.text === '[';
    default:
      return false;
  }
}

const isChar = (t: Token, c: string) => t.type === 'CHAR' && t.text === c;

// Token names in the order of bison's symbol numbers, which is the order it lists expected tokens in.
const SYMBOL_ORDER = [
  'end of file', 'identifier', 'string', 'indented string', 'integer', 'floating-point literal', 'path',
  "'~/…' path", "'<…>' path", 'end of path', 'URI', "'if'", "'then'", "'else'", "'assert'", "'with'", "'let'",
  "'in'", "'rec'", "'inherit'", "'=='", "'!='", "'<='", "'>='", "'//'", "'++'", "'&&'", "'||'", "'->'", "'or'",
  "'<|'", "'|>'", "'${'", 'start of an indented string', 'end of an indented string', "'...'", "'<'", "'>'",
  "'+'", "'-'", "'*'", "'/'", "'?'", "':'", "'@'", "';'", "'!'", "'.'", "'\"'", "'('", "')'", "'{'", "'}'",
  "'['", "']'", "'='", "','",
];
const symbolOrder = (name: string) => SYMBOL_ORDER.indexOf(name);

// Expected-token lists used on hot paths, allocated once.
const NONE: readonly string[] = [];
const EXPECT_ID: readonly string[] = ['identifier'];
const EXPECT_FIRST_FORMAL: readonly string[] = ['identifier', "'...'", "'}'"];
const EXPECT_THEN: readonly string[] = ["'then'"];
const EXPECT_ELSE: readonly string[] = ["'else'"];
const EXPECT_ATTR: readonly string[] = ['identifier', "'or'", "'${'", "'\"'"];

/** Lexically normalise an absolute path: no `.`, `..` or empty segments. */
function canonPath(p: string): string {
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return '/' + out.join('/');
}

type IndPart = { pos: Pos; e: Expr } | { pos: Pos; tok: Token };

/** An expr_function whose final expression is still to be parsed. */
type Head =
  | { kind: 'Lambda'; arg?: string | undefined; formals?: { formals: Formal[]; ellipsis: boolean }; pos: Pos }
  | { kind: 'Assert'; cond: Expr; pos: Pos }
  | { kind: 'With'; attrs: Expr; pos: Pos }
  | { kind: 'Let'; attrs: ExprAttrs; pos: Pos }
  | { kind: 'If'; cond: Expr; then: Expr; pos: Pos };

interface CursedOr {
  start: number;
  end: number;
}

class Parser {
  private readonly lines: LineMap;
  private readonly lexer: Lexer;
  private readonly buf: Token[] = [];
  private readonly cursed = new WeakMap<Expr, CursedOr>();

  constructor(
    private readonly src: string,
    private readonly origin: Origin,
    private readonly opts: ParseOptions,
  ) {
    this.lines = new LineMap(src);
    this.lexer = new Lexer(src, this.lines, origin, {
      pipeOperators: opts.experimentalFeatures?.has('pipe-operators') ?? false,
    });
  }

  // ---- tokens ----

  private peek(k = 0): Token {
    while (this.buf.length <= k) this.buf.push(this.lexer.next());
    return this.buf[k]!;
  }
  private next(): Token {
    return this.buf.length > 0 ? this.buf.shift()! : this.lexer.next();
  }
  /** Where the parser is: the next unread token. */
  currentPos(): Pos | undefined {
    const t = this.buf[0];
    return t ? this.pos(t.start) : undefined;
  }
  private pos(offset: number): Pos {
    return this.lines.pos(this.origin, offset);
  }

  private syntaxError(t: Token, expected: readonly string[] = NONE): never {
    let msg = `syntax error, unexpected ${tokenName(t)}`;
    // bison lists the alternatives only when there are at most four, in the
    // order of its symbol numbers
    if (expected.length > 0 && expected.length <= 4) {
      const sorted = [...expected].sort((a, b) => symbolOrder(a) - symbolOrder(b));
      msg += `, expecting ${sorted.join(' or ')}`;
    }
    // Nix puts "unexpected end of file" after the last thing it read
    throw new ParseError(msg, this.pos(t.start));
  }

  private expectChar(c: string, expected?: readonly string[]): Token {
    const t = this.peek();
    if (!isChar(t, c)) this.syntaxError(t, expected ?? [`'${c}'`]);
    return this.next();
  }
  private expect(type: TokenType, expected: readonly string[]): Token {
    const t = this.peek();
    if (t.type !== type) this.syntaxError(t, expected);
    return this.next();
  }

  private error(msg: string, pos: Pos | undefined): never {
    throw new ParseError(msg, pos);
  }

  // ---- entry ----

  parseStart(): Expr {
    const e = this.parseExpr();
    const t = this.peek();
    if (t.type !== 'EOF') this.syntaxError(t, ['end of file']);
    return e;
  }

  // ---- expressions ----

  /**
   * expr_function: lambdas, assert, with, let … in and if … else, whose last
   * part is again an expression. Those tails are parsed in a loop, not by
   * recursion, so long chains (`if … else if …`, curried lambdas) cannot
   * exhaust the JS stack; the pending heads are completed innermost first,
   * which is also the order in which Nix checks them.
   */
  private parseExpr(): Expr {
    const heads: Head[] = [];
    let e: Expr | undefined;
    while (e === undefined) {
      const head = this.parseHead();
      if (head) heads.push(head);
      else e = this.parsePipes();
    }
    for (let i = heads.length - 1; i >= 0; i--) e = this.completeHead(heads[i]!, e);
    return e;
  }

  /** The part of an expr_function before its final expression, if one starts here. */
  private parseHead(): Head | undefined {
    const t = this.peek();
    switch (t.type) {
      case 'ID': {
        const t1 = this.peek(1);
        if (isChar(t1, ':')) {
          this.next();
          this.next();
          return { kind: 'Lambda', arg: t.text, pos: this.pos(t.start) };
        }
        if (isChar(t1, '@')) {
          this.next();
          this.next();
          const formals = this.parseFormalSet();
          this.expectChar(':');
          return { kind: 'Lambda', arg: t.text, formals, pos: this.pos(t.start) };
        }
        return undefined;
      }
      case 'CHAR': {
        if (t.text !== '{' || !this.isFormalSetAhead()) return undefined;
        const formals = this.parseFormalSet();
        const pos = this.pos(t.start);
        let arg: string | undefined;
        if (isChar(this.peek(), '@')) {
          this.next();
          arg = this.expect('ID', EXPECT_ID).text;
        } else if (!isChar(this.peek(), ':')) {
          this.syntaxError(this.peek(), ["':'", "'@'"]);
        }
        this.expectChar(':');
        return { kind: 'Lambda', arg, formals, pos };
      }
      case 'ASSERT': {
        this.next();
        const cond = this.parseExpr();
        this.expectChar(';');
        return { kind: 'Assert', cond, pos: this.pos(t.start) };
      }
      case 'WITH': {
        this.next();
        const attrs = this.parseExpr();
        this.expectChar(';');
        return { kind: 'With', attrs, pos: this.pos(t.start) };
      }
      case 'LET': {
        if (isChar(this.peek(1), '{')) return undefined; // legacy `let { … }`, an expr_simple
        this.next();
        const attrs = this.parseBinds();
        const end = this.peek();
        if (end.type !== 'IN') this.syntaxError(end, ["'in'", "'inherit'"]);
        this.next();
        return { kind: 'Let', attrs, pos: this.pos(t.start) };
      }
      case 'IF': {
        this.next();
        const cond = this.parseExpr();
        this.expect('THEN', EXPECT_THEN);
        const then = this.parseExpr();
        this.expect('ELSE', EXPECT_ELSE);
        return { kind: 'If', cond, then, pos: this.pos(t.start) };
      }
      default:
        return undefined;
    }
  }

  private completeHead(h: Head, body: Expr): Expr {
    switch (h.kind) {
      case 'Lambda': {
        if (h.formals) this.validateFormals(h.formals.formals, h.pos, h.arg);
        const lam: ExprLambda = { kind: 'Lambda', body, pos: h.pos };
        if (h.arg !== undefined) lam.arg = h.arg;
        if (h.formals) lam.formals = h.formals;
        return lam;
      }
      case 'Assert':
        return { kind: 'Assert', cond: h.cond, body, pos: h.pos };
      case 'With':
        return { kind: 'With', attrs: h.attrs, body, pos: h.pos };
      case 'Let':
        if (h.attrs.dynamicAttrs.length > 0) this.error('dynamic attributes not allowed in let', h.pos);
        return { kind: 'Let', attrs: h.attrs, body };
      case 'If':
        return { kind: 'If', cond: h.cond, then: h.then, else: body, pos: h.pos };
    }
  }

  /** After `{`: is this a lambda's formal set rather than an attribute set? */
  private isFormalSetAhead(): boolean {
    const t1 = this.peek(1);
    if (t1.type === 'ELLIPSIS') return true;
    if (isChar(t1, '}')) {
      const t2 = this.peek(2);
      return isChar(t2, ':') || isChar(t2, '@');
    }
    if (t1.type === 'ID') {
      const t2 = this.peek(2);
      return isChar(t2, ',') || isChar(t2, '?') || isChar(t2, '}');
    }
    return false;
  }

  private parseFormalSet(): { formals: Formal[]; ellipsis: boolean } {
    this.expectChar('{');
    const formals: Formal[] = [];
    let ellipsis = false;
    if (this.peek().type === 'ELLIPSIS') {
      this.next();
      this.expectChar('}');
      return { formals, ellipsis: true };
    }
    if (isChar(this.peek(), '}')) {
      this.next();
      return { formals, ellipsis: false };
    }
    for (;;) {
      const id = this.expect('ID', formals.length === 0 ? EXPECT_FIRST_FORMAL : EXPECT_ID);
      const formal: Formal = { name: id.text, pos: this.pos(id.start) };
      if (isChar(this.peek(), '?')) {
        this.next();
        formal.def = this.parseExpr();
      }
      formals.push(formal);
      const t = this.peek();
      if (isChar(t, '}')) {
        this.next();
        break;
      }
      if (!isChar(t, ',')) this.syntaxError(t, ["'}'", "','"]);
      this.next();
      const t2 = this.peek();
      if (t2.type === 'ELLIPSIS') {
        this.next();
        this.expectChar('}');
        ellipsis = true;
        break;
      }
      if (isChar(t2, '}')) {
        this.next();
        break;
      }
      if (t2.type !== 'ID') this.syntaxError(t2, ['identifier', "'...'", "'}'"]);
    }
    return { formals, ellipsis };
  }

  private validateFormals(formals: Formal[], pos: Pos, arg?: string): void {
    // Nix reports the duplicate of the name interned first; the name that
    // first occurs earliest in the source is our stand-in for that.
    const first = new Map<string, number>();
    let dup: { name: string; idx: number; order: number } | undefined;
    formals.forEach((f, i) => {
      const seen = first.get(f.name);
      if (seen === undefined) first.set(f.name, i);
      else if (!dup || seen < dup.order || (seen === dup.order && i < dup.idx)) dup = { name: f.name, idx: i, order: seen };
    });
    if (dup) this.error(`duplicate formal function argument '${dup.name}'`, formals[dup.idx]!.pos);
    if (arg !== undefined && first.has(arg)) this.error(`duplicate formal function argument '${arg}'`, pos);
  }

  // expr_if without `if`: pipes and operators
  private parsePipes(): Expr {
    const first = this.parseOp(0);
    const t = this.peek();
    if (t.type === 'PIPE_FROM') {
      // right-associative: f <| g <| x  is  f (g x)
      const operands: Expr[] = [first];
      const ops: Token[] = [];
      while (this.peek().type === 'PIPE_FROM') {
        ops.push(this.next());
        operands.push(this.parseOp(0));
      }
      let acc = operands[operands.length - 1]!;
      for (let i = operands.length - 2; i >= 0; i--) acc = this.makeCall(this.pos(ops[i]!.start), operands[i]!, acc);
      return acc;
    }
    if (t.type === 'PIPE_INTO') {
      let acc = first;
      while (this.peek().type === 'PIPE_INTO') {
        const op = this.next();
        const f = this.parseOp(0);
        acc = this.makeCall(this.pos(op.start), f, acc);
      }
      return acc;
    }
    return first;
  }

  /** Like Nix, applying a call to one more argument extends that call. */
  private makeCall(pos: Pos, fun: Expr, arg: Expr): Expr {
    if (fun.kind === 'Call') {
      fun.args.push(arg);
      return fun;
    }
    return { kind: 'Call', fun, args: [arg], pos };
  }

  private parseOp(minPrec: number): Expr {
    const startTok = this.peek();
    let lhs = this.parseUnary();
    for (;;) {
      const op = this.peek();
      const prec = binaryPrec(op);
      if (prec === 0 || prec < minPrec) return lhs;
      this.next();
      const opPos = this.pos(op.start);
      if (prec === PREC_HASATTR) {
        const attrPath = this.parseAttrPath(this.attrPathExpected());
        lhs = { kind: 'OpHasAttr', e: lhs, attrPath, pos: lhs.pos };
        continue;
      }
      if (prec === PREC_IMPL || prec === PREC_UPDATE || prec === PREC_CONCAT) {
        // Right-associative: gather the whole chain `a op b op c …` in a
        // loop and fold it from the right (no recursion per operator).
        const operands: Expr[] = [lhs];
        const starts: Token[] = [startTok];
        const ops: Token[] = [op];
        for (;;) {
          starts.push(this.peek());
          operands.push(this.parseOp(prec + 1));
          const more = this.peek();
          if (binaryPrec(more) !== prec) break;
          ops.push(this.next());
        }
        let acc = operands[operands.length - 1]!;
        for (let i = ops.length - 1; i >= 0; i--) {
          acc = this.binary(ops[i]!, this.pos(ops[i]!.start), operands[i]!, acc, starts[i]!, starts[i + 1]!);
        }
        lhs = acc;
        continue;
      }
      const rhsTok = this.peek();
      const rhs = this.parseOp(prec + 1);
      lhs = this.binary(op, opPos, lhs, rhs, startTok, rhsTok);
      if (prec === PREC_EQ || prec === PREC_CMP) {
        const t = this.peek();
        // non-associative; bison would list every tighter operator (too many to print)
        if (binaryPrec(t) === prec) this.syntaxError(t, NONE);
      }
    }
  }

  private binary(op: Token, pos: Pos, e1: Expr, e2: Expr, t1: Token, t2: Token): Expr {
    const v = (name: string): Expr => ({ kind: 'Var', name });
    switch (op.type) {
      case 'EQ':
        return { kind: 'BinOp', op: '==', e1, e2, pos };
      case 'NEQ':
        return { kind: 'BinOp', op: '!=', e1, e2, pos };
      case 'AND':
        return { kind: 'BinOp', op: '&&', e1, e2, pos };
      case 'OR':
        return { kind: 'BinOp', op: '||', e1, e2, pos };
      case 'IMPL':
        return { kind: 'BinOp', op: '->', e1, e2, pos };
      case 'UPDATE':
        return { kind: 'BinOp', op: '//', e1, e2, pos };
      case 'CONCAT':
        return { kind: 'BinOp', op: '++', e1, e2, pos };
      case 'LEQ': {
        const call: Expr = { kind: 'Call', fun: v('__lessThan'), args: [e2, e1], pos };
        return { kind: 'OpNot', e: call, pos };
      }
      case 'GEQ': {
        const call: Expr = { kind: 'Call', fun: v('__lessThan'), args: [e1, e2], pos };
        return { kind: 'OpNot', e: call, pos };
      }
      default:
        break;
    }
    switch (op.text) {
      case '<':
        return { kind: 'Call', fun: v('__lessThan'), args: [e1, e2], pos };
      case '>':
        return { kind: 'Call', fun: v('__lessThan'), args: [e2, e1], pos };
      case '+':
        return {
          kind: 'ConcatStrings',
          forceString: false,
          parts: [
            { pos: this.pos(t1.start), e: e1 },
            { pos: this.pos(t2.start), e: e2 },
          ],
          pos,
        };
      case '-':
        return { kind: 'Call', fun: v('__sub'), args: [e1, e2], pos };
      case '*':
        return { kind: 'Call', fun: v('__mul'), args: [e1, e2], pos };
      case '/':
        return { kind: 'Call', fun: v('__div'), args: [e1, e2], pos };
    }
    throw new Error(`unhandled operator ${op.text}`);
  }

  private parseUnary(): Expr {
    const t = this.peek();
    if (isChar(t, '!')) {
      this.next();
      // `!` binds looser than arithmetic: `!a + b` is `!(a + b)`
      const e = this.parseOp(PREC_NOT + 1);
      return { kind: 'OpNot', e, pos: e.pos };
    }
    if (isChar(t, '-')) {
      this.next();
      const e = this.parseUnary();
      return {
        kind: 'Call',
        fun: { kind: 'Var', name: '__sub' },
        args: [{ kind: 'Int', value: 0n }, e],
        pos: this.pos(t.start),
      };
    }
    if (!startsSimple(t)) this.syntaxError(t, []);
    return this.parseApp();
  }

  private parseApp(): Expr {
    const start = this.peek().start;
    let f = this.parseSelect();
    this.cursed.delete(f);
    while (startsSimple(this.peek())) {
      const arg = this.parseSelect();
      this.warnIfCursedOr(arg);
      f = this.makeCall(this.pos(start), f, arg);
    }
    return f;
  }

  private warnIfCursedOr(e: Expr): void {
    const c = this.cursed.get(e);
    if (!c) return;
    this.cursed.delete(e);
    const snippet = this.src.slice(c.start, c.end).replace(/\r\n?/g, '\n');
    this.opts.warn?.(
      `at ${showPos(this.pos(c.start))}: This expression uses \`or\` as an identifier in a way that will change in a future Nix release.\n` +
        `Wrap this entire expression in parentheses to preserve its current meaning:\n` +
        `    (${snippet})\n` +
        `Give feedback at https://github.com/NixOS/nix/pull/11121`,
    );
  }

  private parseSelect(): Expr {
    const startTok = this.peek();
    const e = this.parseSimple();
    const t = this.peek();
    if (isChar(t, '.')) {
      this.next();
      const attrPath = this.parseAttrPath(this.attrPathExpected());
      const pos = this.pos(startTok.start);
      if (this.peek().type === 'OR_KW') {
        this.next();
        const def = this.parseSelect();
        this.warnIfCursedOr(def);
        return { kind: 'Select', e, attrPath, def, pos };
      }
      return { kind: 'Select', e, attrPath, pos };
    }
    if (t.type === 'OR_KW') {
      // `f or`: `or` used as a variable (nixpkgs once had a function called `or`)
      this.next();
      const pos = this.pos(startTok.start);
      const call: ExprCall = { kind: 'Call', fun: e, args: [{ kind: 'Var', name: 'or', pos }], pos };
      this.cursed.set(call, { start: startTok.start, end: t.end });
      return call;
    }
    return e;
  }

  private attrPathExpected(): readonly string[] {
    return EXPECT_ATTR;
  }

  /** attrpath: attr ('.' attr)* where attr is an identifier, `or`, "string" or ${expr}. */
  private parseAttrPath(expected: readonly string[]): AttrName[] {
    const path: AttrName[] = [];
    for (;;) {
      const a = this.parseAttrName();
      if (a === undefined) this.syntaxError(this.peek(), expected);
      path.push(a.name);
      if (!isChar(this.peek(), '.')) return path;
      this.next();
      expected = this.attrPathExpected();
    }
  }

  /** One attribute name, or undefined if the next token can't start one. */
  private parseAttrName(): { name: AttrName; start: number } | undefined {
    const t = this.peek();
    if (t.type === 'ID') {
      this.next();
      return { name: { name: t.text }, start: t.start };
    }
    if (t.type === 'OR_KW') {
      this.next();
      return { name: { name: 'or' }, start: t.start };
    }
    if (t.type === 'DOLLAR_CURLY') {
      this.next();
      const e = this.parseExpr();
      this.expectChar('}');
      return { name: e.kind === 'String' ? { name: e.value } : { expr: e }, start: t.start };
    }
    if (isChar(t, '"')) {
      this.next();
      const e = this.parseStringParts();
      this.expectChar('"');
      return { name: e.kind === 'String' ? { name: e.value } : { expr: e }, start: t.start };
    }
    return undefined;
  }

  /** After `"`: the parts up to (not including) the closing quote. */
  private parseStringParts(): Expr {
    const parts: { pos: Pos; e: Expr }[] = [];
    let firstStart = -1;
    let firstIsLiteral = false;
    for (;;) {
      const t = this.peek();
      if (t.type === 'STR') {
        this.next();
        if (firstStart < 0) {
          firstStart = t.start;
          firstIsLiteral = true;
        }
        parts.push({ pos: this.pos(t.start), e: { kind: 'String', value: t.text } });
      } else if (t.type === 'DOLLAR_CURLY') {
        this.next();
        if (firstStart < 0) firstStart = t.start;
        const e = this.parseExpr();
        this.expectChar('}');
        parts.push({ pos: this.pos(t.start), e });
      } else if (isChar(t, '"')) {
        break;
      } else {
        // bison has already reduced what it has to `string_parts` here
        this.syntaxError(t, ["'\"'"]);
      }
    }
    if (parts.length === 0) return { kind: 'String', value: '' };
    // Only a lone literal piece is a plain string: `"${"a"}"` stays an
    // interpolation, as in Nix (so as an attribute name it is dynamic).
    if (parts.length === 1 && parts[0]!.e.kind === 'String' && firstIsLiteral) return parts[0]!.e;
    return { kind: 'ConcatStrings', forceString: true, parts, pos: this.pos(firstStart) };
  }

  private parseSimple(): Expr {
    const t = this.peek();
    switch (t.type) {
      case 'ID':
        this.next();
        if (t.text === '__curPos') return { kind: 'Pos', pos: this.pos(t.start) };
        return { kind: 'Var', name: t.text, pos: this.pos(t.start) };
      case 'INT':
        this.next();
        return { kind: 'Int', value: t.int! };
      case 'FLOAT':
        this.next();
        return { kind: 'Float', value: t.float! };
      case 'IND_STRING_OPEN':
        this.next();
        return this.parseIndString(t);
      case 'PATH':
      case 'HPATH':
        return this.parsePath();
      case 'SPATH':
        this.next();
        return {
          kind: 'Call',
          fun: { kind: 'Var', name: '__findFile' },
          args: [
            { kind: 'Var', name: '__nixPath' },
            { kind: 'String', value: t.text.slice(1, -1) },
          ],
          pos: this.pos(t.start),
        };
      case 'URI': {
        this.next();
        this.lint(this.opts.lint?.urlLiterals, this.pos(t.start), (fatal) =>
          `URL literals are ${fatal ? 'disallowed' : 'discouraged'}. Consider using a string literal "${t.text}" instead (lint-url-literals)`,
        );
        return { kind: 'String', value: t.text };
      }
      case 'LET': {
        this.next();
        this.expectChar('{');
        const attrs = this.parseBinds();
        this.expectBindsClose(true);
        attrs.recursive = true;
        attrs.pos = this.pos(t.start);
        return { kind: 'Select', e: attrs, attrPath: [{ name: 'body' }], pos: this.pos(t.start) };
      }
      case 'REC': {
        this.next();
        this.expectChar('{');
        const attrs = this.parseBinds();
        this.expectBindsClose(true);
        attrs.recursive = true;
        attrs.pos = this.pos(t.start);
        return attrs;
      }
      case 'CHAR':
        switch (t.text) {
          case '"': {
            this.next();
            const e = this.parseStringParts();
            this.next();
            return e;
          }
          case '(': {
            this.next();
            const e = this.parseExpr();
            this.expectChar(')');
            return e;
          }
          case '{': {
            this.next();
            const attrs = this.parseBinds();
            this.expectBindsClose(false);
            attrs.pos = this.pos(t.start);
            return attrs;
          }
          case '[': {
            this.next();
            const elems: Expr[] = [];
            while (startsSimple(this.peek())) {
              const e = this.parseSelect();
              this.warnIfCursedOr(e);
              elems.push(e);
            }
            // bison's state here also accepts any expression start: too many to list
            this.expectChar(']', NONE);
            return { kind: 'List', elems };
          }
        }
    }
    this.syntaxError(t, []);
  }

  /** The closing `}` of bindings; after `{` bison only lists `inherit`, after `rec {` / `let {` also `}`. */
  private expectBindsClose(allowsEmpty: boolean): void {
    const t = this.peek();
    if (!isChar(t, '}')) this.syntaxError(t, allowsEmpty ? ["'inherit'", "'}'"] : ["'inherit'"]);
    this.next();
  }

  // ---- attribute sets ----

  private newAttrs(): ExprAttrs {
    return { kind: 'Attrs', recursive: false, attrs: new Map(), dynamicAttrs: [] };
  }

  /** Bindings up to `}` or `in` (not consumed). */
  private parseBinds(): ExprAttrs {
    const attrs = this.newAttrs();
    for (;;) {
      const t = this.peek();
      if (t.type === 'INHERIT') {
        this.next();
        this.parseInherit(attrs);
        continue;
      }
      if (t.type === 'ID' || t.type === 'OR_KW' || t.type === 'DOLLAR_CURLY' || isChar(t, '"')) {
        const pathStart = t.start;
        const path = this.parseAttrPath(this.attrPathExpected());
        const eq = this.peek();
        if (!isChar(eq, '=')) this.syntaxError(eq, ["'.'", "'='"]);
        this.next();
        const e = this.parseExpr();
        this.expectChar(';');
        this.addAttr(attrs, path, this.pos(pathStart), e);
        continue;
      }
      return attrs;
    }
  }

  private parseInherit(attrs: ExprAttrs): void {
    let fromExpr: { e: Expr; start: number } | undefined;
    if (isChar(this.peek(), '(')) {
      this.next();
      const start = this.peek().start;
      const e = this.parseExpr();
      this.expectChar(')');
      fromExpr = { e, start };
    }
    const names: { name: string; pos: Pos }[] = [];
    for (;;) {
      const t = this.peek();
      if (isChar(t, ';')) {
        this.next();
        break;
      }
      const a = this.parseAttrName();
      if (a === undefined) this.syntaxError(t, NONE);
      const iPos = this.pos(a.start);
      if (a.name.name === undefined) this.error('dynamic attributes not allowed in inherit', iPos);
      names.push({ name: a.name.name, pos: iPos });
    }
    // Like Nix, the clause takes effect (and duplicates are found) once it is complete.
    let from: ExprInheritFrom | undefined;
    if (fromExpr) {
      attrs.inheritFromExprs ??= [];
      attrs.inheritFromExprs.push(fromExpr.e);
      from = { kind: 'InheritFrom', index: attrs.inheritFromExprs.length - 1, pos: this.pos(fromExpr.start) };
    }
    for (const { name, pos } of names) {
      const prev = attrs.attrs.get(name);
      if (prev) this.dupAttr(showIdentifier(name), pos, prev.pos);
      if (from) {
        attrs.attrs.set(name, {
          kind: 'inheritedFrom',
          e: { kind: 'Select', e: from, attrPath: [{ name }], pos },
          pos,
        });
      } else {
        attrs.attrs.set(name, { kind: 'inherited', e: { kind: 'Var', name, pos }, pos });
      }
    }
  }

  private dupAttr(path: string, pos: Pos, prevPos: Pos | undefined): never {
    this.error(`attribute '${path}' already defined at ${prevPos ? showPos(prevPos) : '«none»:0'}`, pos);
  }

  /** Add `a.b.c = e`, creating or extending nested attribute sets as Nix does. */
  private addAttr(attrs: ExprAttrs, path: AttrName[], pos: Pos, e: Expr): void {
    let cur = attrs;
    for (let i = 0; i + 1 < path.length; i++) {
      const a = path[i]!;
      let nested: ExprAttrs;
      if (a.name !== undefined) {
        const j = cur.attrs.get(a.name);
        if (j) {
          if (j.e.kind !== 'Attrs') this.dupAttr(showAttrPath(path.slice(0, i + 1)), pos, j.pos);
          nested = j.e;
        } else {
          nested = this.newAttrs();
          cur.attrs.set(a.name, { kind: 'plain', e: nested, pos });
        }
      } else {
        nested = this.newAttrs();
        cur.dynamicAttrs.push({ nameExpr: a.expr, valueExpr: nested, pos });
      }
      cur = nested;
    }
    const last = path[path.length - 1]!;
    if (last.name !== undefined) this.addAttrDef(cur, path.slice(), last.name, { kind: 'plain', e, pos });
    else cur.dynamicAttrs.push({ nameExpr: last.expr, valueExpr: e, pos });
  }

  private addAttrDef(attrs: ExprAttrs, path: AttrName[], name: string, def: AttrDef): void {
    const j = attrs.attrs.get(name);
    if (!j) {
      attrs.attrs.set(name, def);
      setName(def.e, name);
      return;
    }
    const ae = def.e;
    const jAttrs = j.e;
    if (ae.kind !== 'Attrs' || jAttrs.kind !== 'Attrs') this.dupAttr(showAttrPath(path), def.pos!, j.pos);
    // Both are attribute sets: merge the new one into the existing one.
    // (Like Nix, a `rec` on the new set is dropped.)
    const offset = jAttrs.inheritFromExprs?.length ?? 0;
    if (ae.inheritFromExprs && !jAttrs.inheritFromExprs) jAttrs.inheritFromExprs = [];
    const shifted = new Set<ExprInheritFrom>();
    for (const [n, ad] of ae.attrs) {
      if (ad.kind === 'inheritedFrom' && ad.e.kind === 'Select' && ad.e.e.kind === 'InheritFrom' && !shifted.has(ad.e.e)) {
        ad.e.e.index += offset;
        shifted.add(ad.e.e);
      }
      path.push({ name: n });
      this.addAttrDef(jAttrs, path, n, ad);
      path.pop();
    }
    ae.attrs.clear();
    jAttrs.dynamicAttrs.push(...ae.dynamicAttrs);
    ae.dynamicAttrs = [];
    if (ae.inheritFromExprs) {
      jAttrs.inheritFromExprs!.push(...ae.inheritFromExprs);
      delete ae.inheritFromExprs;
    }
  }

  // ---- strings and paths ----

  private parseIndString(open: Token): Expr {
    const parts: IndPart[] = [];
    for (;;) {
      const t = this.peek();
      if (t.type === 'IND_STR') {
        this.next();
        parts.push({ pos: this.pos(t.start), tok: t });
      } else if (t.type === 'DOLLAR_CURLY') {
        this.next();
        const e = this.parseExpr();
        this.expectChar('}');
        parts.push({ pos: this.pos(t.start), e });
      } else if (t.type === 'IND_STRING_CLOSE') {
        this.next();
        break;
      } else {
        this.syntaxError(t, ['indented string', "'${'", 'end of an indented string']);
      }
    }
    return stripIndentation(this.pos(open.start), parts);
  }

  private parsePath(): Expr {
    const t = this.next();
    const pos = this.pos(t.start);
    const literal = t.text;
    let value: string;
    if (t.type === 'HPATH') {
      if (this.opts.pureEval) this.error(`the path '${literal}' can not be resolved in pure mode`, undefined);
      this.lint(this.opts.lint?.absolutePathLiterals, pos, () =>
        `home path literals are not portable. Consider replacing path literal '${literal}' by a string, relative path, or parameter (lint-absolute-path-literals)`,
      );
      const home = this.opts.home ?? process.env['HOME'] ?? homedir();
      value = home + literal.slice(1);
    } else if (literal.startsWith('/')) {
      this.lint(this.opts.lint?.absolutePathLiterals, pos, () =>
        `absolute path literals are not portable. Consider replacing path literal '${literal}' by a string, relative path, or parameter (lint-absolute-path-literals)`,
      );
      value = canonPath(literal);
      if (literal.length > 1 && literal.endsWith('/')) value += '/';
    } else {
      if (!literal.startsWith('.'))
        this.lint(this.opts.lint?.shortPathLiterals, pos, () =>
          `relative path literal '${literal}' should be prefixed with '.' for clarity: './${literal}' (lint-short-path-literals)`,
        );
      value = canonPath(this.opts.basePath + '/' + literal);
      if (literal.length > 1 && literal.endsWith('/')) value += '/';
    }
    const path: Expr = { kind: 'Path', value };
    // string_parts_interpolated, then the end of the path
    const parts: { pos: Pos; e: Expr }[] = [];
    for (;;) {
      const n = this.peek();
      if (n.type === 'PATH_END') {
        this.next();
        break;
      }
      if (n.type === 'STR') {
        this.next();
        if (parts.length === 0 && this.peek().type !== 'DOLLAR_CURLY') this.syntaxError(this.peek(), ["'${'"]);
        parts.push({ pos: this.pos(n.start), e: { kind: 'String', value: n.text } });
        continue;
      }
      if (n.type === 'DOLLAR_CURLY') {
        this.next();
        const e = this.parseExpr();
        this.expectChar('}');
        parts.push({ pos: this.pos(n.start), e });
        continue;
      }
      this.syntaxError(n, parts.length === 0 ? ['end of path', 'string', "'${'"] : ['end of path', 'string', "'${'"]);
    }
    if (parts.length === 0) return path;
    return { kind: 'ConcatStrings', forceString: false, parts: [{ pos, e: path }, ...parts], pos };
  }

  private lint(level: LintLevel | undefined, pos: Pos, message: (fatal: boolean) => string | undefined): void {
    if (!level || level === 'ignore') return;
    const msg = message(level === 'fatal');
    if (msg === undefined) return;
    if (level === 'fatal') throw new ParseError(msg, pos);
    this.opts.warn?.(msg, pos);
  }
}

/** Give a lambda bound to an attribute the attribute's name (and so to its curried inner lambdas). */
function setName(e: Expr, name: string): void {
  while (e.kind === 'Lambda') {
    e.name = name;
    e = e.body;
  }
}

/**
 * Remove the common leading indentation of an indented string. Lines with
 * only spaces don't count, and interpolations and escapes end a line's
 * indentation; a final line of only spaces is dropped.
 */
function stripIndentation(pos: Pos, es: IndPart[]): Expr {
  if (es.length === 0) return { kind: 'String', value: '' };
  let atStartOfLine = true;
  let minIndent = 1000000;
  let curIndent = 0;
  for (const part of es) {
    if (!('tok' in part) || !part.tok.hasIndentation) {
      if (atStartOfLine) {
        atStartOfLine = false;
        if (curIndent < minIndent) minIndent = curIndent;
      }
      continue;
    }
    const s = part.tok.text;
    for (let j = 0; j < s.length; j++) {
      const c = s.charCodeAt(j);
      if (atStartOfLine) {
        if (c === 32) curIndent++;
        else if (c === 10) curIndent = 0;
        else {
          atStartOfLine = false;
          if (curIndent < minIndent) minIndent = curIndent;
        }
      } else if (c === 10) {
        atStartOfLine = true;
        curIndent = 0;
      }
    }
  }

  const out: { pos: Pos; e: Expr }[] = [];
  atStartOfLine = true;
  let curDropped = 0;
  let n = es.length;
  for (const part of es) {
    if (!('tok' in part)) {
      atStartOfLine = false;
      curDropped = 0;
      out.push({ pos: part.pos, e: part.e });
      n--;
      continue;
    }
    const s = part.tok.text;
    let s2 = '';
    let chunkStart = 0;
    for (let j = 0; j < s.length; j++) {
      const c = s.charCodeAt(j);
      if (atStartOfLine) {
        if (c === 32) {
          if (curDropped++ < minIndent) {
            // drop this space
            s2 += s.slice(chunkStart, j);
            chunkStart = j + 1;
          }
        } else if (c === 10) {
          curDropped = 0;
        } else {
          atStartOfLine = false;
          curDropped = 0;
        }
      } else if (c === 10) {
        atStartOfLine = true;
      }
    }
    s2 += s.slice(chunkStart);
    if (n === 1) {
      const p = s2.lastIndexOf('\n');
      if (p >= 0 && /^ *$/.test(s2.slice(p + 1))) s2 = s2.slice(0, p + 1);
    }
    if (s2 !== '') out.push({ pos: part.pos, e: { kind: 'String', value: s2 } });
    n--;
  }
  if (out.length === 0) return { kind: 'String', value: '' };
  if (out.length === 1 && out[0]!.e.kind === 'String') return out[0]!.e as ExprString;
  return { kind: 'ConcatStrings', forceString: true, parts: out, pos };
}

/**
 * The text Nix prints for a warning from the parser (`opts.warn`): lint
 * warnings come with a position and a code frame; the "cursed or" warning
 * carries its position in the message.
 */
export function renderParseWarning(message: string, pos?: Pos): string {
  if (!pos) return `warning: ${message}`;
  return renderError(new ParseError(message, pos), { showTrace: false, level: 'warning' });
}

/** Parse a Nix expression. Throws ParseError with Nix's message and position. */
export function parse(source: string, origin: Origin, opts: ParseOptions): Expr {
  const parser = new Parser(source, origin, opts);
  try {
    return parser.parseStart();
  } catch (e) {
    // Chains are parsed iteratively; only bracket nesting thousands deep gets here.
    if (e instanceof RangeError) throw new ParseError('stack overflow (expression nested too deeply)', parser.currentPos());
    throw e;
  }
}
