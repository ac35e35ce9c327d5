// Runs a compiled ERE program the way libstdc++'s depth-first executor does
// for POSIX grammars, because Nix's results (which match split finds, which
// text each group captured) are whatever that executor returns:
//
//   - alternation explores BOTH branches and keeps the longest match found
//     (the first one found among equally long matches);
//   - repetition is greedy and stops exploring shorter choices as soon as a
//     match has been found below it;
//   - a capture group keeps what it captured in an earlier iteration of an
//     enclosing loop (JavaScript resets it);
//   - a loop may re-enter its body at most twice at the same position.
//
// The search is driven by an explicit work stack instead of recursion, so
// long subjects cannot overflow the JavaScript stack.
//
// Exploring every path is exponential for nested loops that can match the
// same text in many ways (`(a*)*b` against thirty a's runs for minutes in
// libstdc++ too). Whether ANY match exists does not depend on the order of
// exploration, so once a run has taken many steps it asks a Thompson
// simulation of the same automaton (linear in the subject) and gives up at
// once when there is none. When there is one, the run goes on and finds it
// as libstdc++ would.

import type { Program } from './ere-compile.js';

export interface MatchFlags {
  /** The whole subject must match (regex_match) rather than a prefix (regex_search). */
  exact: boolean;
  /** Reject empty matches (match_not_null). */
  notNull: boolean;
  /** Only try at the first position (match_continuous). */
  continuous: boolean;
  /** There is input before the start position, so `^` cannot match there (match_prev_avail). */
  prevAvail: boolean;
}

/** Group k spans [caps[2k], caps[2k+1]); -1 when the group did not participate. */
export type Captures = Int32Array;

const VISIT = 0;
const RESTORE_START = 1;
const RESTORE_END = 2;
const RESTORE_REP = 3;
const REPEAT_NEXT = 4;
const ALT_RIGHT = 5;
const OR_SOLUTION = 6;

/** Per-program scratch arrays, reused across calls (the executor is not re-entrant). */
interface Scratch {
  curStart: Int32Array;
  curEnd: Int32Array;
  curMatched: Uint8Array;
  repPos: Int32Array;
  repCount: Uint8Array;
}

const scratchOf = new WeakMap<Program, Scratch>();

function scratch(prog: Program): Scratch {
  let s = scratchOf.get(prog);
  if (s === undefined) {
    const n = prog.states.length;
    s = {
      curStart: new Int32Array(prog.groups),
      curEnd: new Int32Array(prog.groups),
      curMatched: new Uint8Array(prog.groups),
      repPos: new Int32Array(n).fill(-1),
      repCount: new Uint8Array(n),
    };
    scratchOf.set(prog, s);
  }
  return s;
}

// The work stack: four ints per task (kind, a, b, c), grown on demand.
let work = new Int32Array(4096);
let top = 0;

function push(k: number, a: number, b: number, c: number): void {
  if (top + 4 > work.length) {
    const w = new Int32Array(work.length * 2);
    w.set(work);
    work = w;
  }
  work[top] = k;
  work[top + 1] = a;
  work[top + 2] = b;
  work[top + 3] = c;
  top += 4;
}

/**
 * One depth-first run from `begin` (libstdc++'s _M_main in DFS mode):
 * returns the captures of the longest match found, or null.
 */
function runFrom(prog: Program, sc: Scratch, subject: string, begin: number, atBeginAllowed: boolean, flags: MatchFlags): Captures | null {
  const { states, groups } = prog;
  const end = subject.length;
  const { curStart, curEnd, curMatched, repPos, repCount } = sc;
  curStart.fill(-1);
  curEnd.fill(-1);
  curMatched.fill(0);
  let hasSol = false;
  let solPos = -1;
  let result: Captures | null = null;
  top = 0;
  push(VISIT, prog.start, begin, 0);
  let steps = 0;
  while (top > 0) {
    if (++steps === STEPS_BEFORE_CHECK && !canMatch(prog, subject, begin, atBeginAllowed, flags)) {
      // The restore tasks left on the stack will not run.
      repPos.fill(-1);
      repCount.fill(0);
      return null;
    }
    top -= 4;
    const kind = work[top]!;
    const a = work[top + 1]!;
    const b = work[top + 2]!;
    const c = work[top + 3]!;
    switch (kind) {
      case VISIT: {
        const st = states[a]!;
        const pos = b;
        switch (st.op) {
          case 'char':
            if (pos < end && st.test(subject.charCodeAt(pos))) push(VISIT, st.next, pos + 1, 0);
            break;
          case 'dummy':
            push(VISIT, st.next, pos, 0);
            break;
          case 'subBegin':
            push(RESTORE_START, st.idx, curStart[st.idx]!, 0);
            curStart[st.idx] = pos;
            push(VISIT, st.next, pos, 0);
            break;
          case 'subEnd':
            push(RESTORE_END, st.idx, curEnd[st.idx]!, curMatched[st.idx]!);
            curEnd[st.idx] = pos;
            curMatched[st.idx] = 1;
            push(VISIT, st.next, pos, 0);
            break;
          case 'lineBegin':
            if (pos === begin && atBeginAllowed) push(VISIT, st.next, pos, 0);
            break;
          case 'lineEnd':
            if (pos === end) push(VISIT, st.next, pos, 0);
            break;
          case 'alt':
            push(ALT_RIGHT, st.next, pos, 0);
            push(VISIT, st.alt, pos, 0);
            break;
          case 'repeat':
            push(REPEAT_NEXT, st.next, pos, 0);
            if (repCount[a] === 0 || repPos[a] !== pos) {
              push(RESTORE_REP, a, repPos[a]!, repCount[a]!);
              repPos[a] = pos;
              repCount[a] = 1;
              push(VISIT, st.alt, pos, 0);
            } else if (repCount[a]! < 2) {
              push(RESTORE_REP, a, repPos[a]!, repCount[a]!);
              repCount[a] = repCount[a]! + 1;
              push(VISIT, st.alt, pos, 0);
            }
            break;
          case 'accept': {
            let sol = flags.exact ? pos === end : true;
            if (pos === begin && flags.notNull) sol = false;
            hasSol = sol;
            if (sol && (solPos === -1 || solPos < pos)) {
              solPos = pos;
              const r = new Int32Array(groups * 2).fill(-1);
              for (let g = 0; g < groups; g++) {
                if (curMatched[g]) {
                  r[2 * g] = curStart[g]!;
                  r[2 * g + 1] = curEnd[g]!;
                }
              }
              result = r;
            }
            break;
          }
        }
        break;
      }
      case RESTORE_START:
        curStart[a] = b;
        break;
      case RESTORE_END:
        curEnd[a] = b;
        curMatched[a] = c;
        break;
      case RESTORE_REP:
        repPos[a] = b;
        repCount[a] = c;
        break;
      case REPEAT_NEXT:
        if (!hasSol) push(VISIT, a, b, 0);
        break;
      case ALT_RIGHT:
        push(OR_SOLUTION, hasSol ? 1 : 0, 0, 0);
        hasSol = false;
        push(VISIT, a, b, 0);
        break;
      case OR_SOLUTION:
        if (a) hasSol = true;
        break;
    }
  }
  return result;
}

/** Depth-first steps after which a run first checks that a match exists at all. */
const STEPS_BEFORE_CHECK = 100_000;

/**
 * Whether some path through the automaton from `begin` reaches `accept` as
 * runFrom would accept it: the states reachable at each position, as a set
 * (Thompson's simulation), so each state is visited once per position. The
 * depth-first run's limit on re-entering a loop at one position removes
 * only paths that repeat a state at a position, which a shortest accepting
 * path never does.
 */
function canMatch(prog: Program, subject: string, begin: number, atBeginAllowed: boolean, flags: MatchFlags): boolean {
  const { states } = prog;
  const end = subject.length;
  // mark[s] = 1 + the position at which s was last added.
  const mark = new Int32Array(states.length);
  let current: number[] = [prog.start];
  const stack: number[] = [];
  for (let pos = begin; ; pos++) {
    // The states reachable from `current` without reading a character;
    // `reading` collects where the char states among them lead.
    const reading: number[] = [];
    for (const s of current) {
      if (mark[s] === pos + 1) continue;
      mark[s] = pos + 1;
      stack.push(s);
    }
    while (stack.length > 0) {
      const st = states[stack.pop()!]!;
      let next = -1;
      let alt = -1;
      switch (st.op) {
        case 'char':
          if (pos < end && st.test(subject.charCodeAt(pos))) reading.push(st.next);
          continue;
        case 'accept':
          if ((flags.exact ? pos === end : true) && !(pos === begin && flags.notNull)) return true;
          continue;
        case 'lineBegin':
          if (pos === begin && atBeginAllowed) next = st.next;
          break;
        case 'lineEnd':
          if (pos === end) next = st.next;
          break;
        case 'alt':
        case 'repeat':
          next = st.next;
          alt = st.alt;
          break;
        default:
          next = st.next;
      }
      if (next >= 0 && mark[next] !== pos + 1) {
        mark[next] = pos + 1;
        stack.push(next);
      }
      if (alt >= 0 && mark[alt] !== pos + 1) {
        mark[alt] = pos + 1;
        stack.push(alt);
      }
    }
    // The states after the character at `pos`, from the char states that accept it.
    if (pos === end || reading.length === 0) return false;
    current = reading;
  }
}

/**
 * Tries to match at the positions regex_search (or regex_match) would, from
 * `from`; the subject is a string of byte values (one char per byte).
 */
export function execEre(prog: Program, subject: string, from: number, flags: MatchFlags): Captures | null {
  const sc = scratch(prog);
  // `^` matches only where the input starts, and never once there is input before.
  let r = runFrom(prog, sc, subject, from, !flags.prevAvail, flags);
  if (r !== null || flags.exact || flags.continuous) return r;
  for (let begin = from + 1; begin <= subject.length; begin++) {
    r = runFrom(prog, sc, subject, begin, false, flags);
    if (r !== null) return r;
  }
  return null;
}
