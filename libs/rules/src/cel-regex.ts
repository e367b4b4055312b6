import { RE2JS } from 're2js';

/**
 * `matches()` with RE2 semantics, in time linear in the input.
 *
 * cel-js implements `string.matches(string)` with JavaScript's RegExp, a backtracking engine: a
 * pattern like `^(a+)+$` against forty `a`s and a `!` takes minutes, and one campaign would freeze
 * every decision replica. CEL specifies RE2 syntax; re2js is a port of RE2 (an automaton, no
 * backtracking), so a match costs O(input × pattern) whatever the pattern. RE2 also refuses what a
 * linear engine cannot do — back-references, look-around — so such patterns fail at compile time
 * with RE2's message instead of running differently live.
 *
 * Semantics are CEL's: a match anywhere in the string (anchor with ^ and $ to match it whole),
 * code points rather than UTF-16 units (`'^.$'` matches one emoji).
 */

/** A compiled pattern, or RE2's reason for refusing it. */
export type CompiledPattern = { readonly re: RE2JS } | { readonly problem: string };

export function compilePattern(pattern: string): CompiledPattern {
  try {
    return { re: RE2JS.compile(pattern) };
  } catch (e) {
    return { problem: e instanceof Error ? e.message : String(e) };
  }
}

/** Patterns computed at run time (rare: campaigns almost always write a literal), compiled once each. */
const dynamicPatterns = new Map<string, CompiledPattern>();
/** entries; a campaign feeding event data into matches() must not grow the cache without bound */
const MAX_DYNAMIC_PATTERNS = 256;

export class InvalidRegexError extends Error {
  override readonly name = 'InvalidRegexError';
}

/** `text.matches(pattern)` for a pattern known only at run time. */
export function matchesDynamic(text: string, pattern: string): boolean {
  let compiled = dynamicPatterns.get(pattern);
  if (compiled === undefined) {
    if (dynamicPatterns.size >= MAX_DYNAMIC_PATTERNS) dynamicPatterns.clear();
    compiled = compilePattern(pattern);
    dynamicPatterns.set(pattern, compiled);
  }
  if ('problem' in compiled) throw new InvalidRegexError(`invalid regular expression: ${compiled.problem}`);
  return compiled.re.matcher(text).find();
}
