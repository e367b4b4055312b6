import { isScalar, parseDocument, Scalar, type Node } from 'yaml';

/** Where a problem is in the campaign's text: offsets into it, and the 1-based line and column of `from`. */
export interface ProblemPosition {
  from: number;
  to: number;
  line: number;
  column: number;
}

/** "offers[1].when" → ['offers', 1, 'when'] */
export function pathKeys(path: string): Array<string | number> {
  const keys: Array<string | number> = [];
  for (const part of path.split('.').filter(Boolean)) {
    const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) return keys;
    if (m[1]) keys.push(m[1]);
    for (const index of m[2].matchAll(/\[(\d+)\]/g)) keys.push(Number(index[1]));
  }
  return keys;
}

/**
 * The place in `source` a problem of the campaigns API points at. A problem names a field by path; a CEL
 * problem also says "line L, column C" inside the expression (libs/rules), which is mapped through the
 * field's YAML scalar to the text: exact for one-line plain and quoted scalars and for block scalars
 * (`|`); for a multi-line quoted or folded one, the line's first character plus the column.
 * Without a CEL position it is the field's value (or key); undefined when the path is not in the text.
 */
export function problemPosition(
  source: string,
  problem: { path: string; message: string },
): ProblemPosition | undefined {
  const doc = parseDocument(source, { keepSourceTokens: false });
  const keys = pathKeys(problem.path);
  if (keys.length === 0) return undefined;
  const node = doc.getIn(keys, true) as Node | undefined;
  const range = node?.range ?? undefined;
  if (!node || !range) return undefined;
  const cel = /line (\d+), column (\d+)/.exec(problem.message);
  let from = range[0];
  let to = range[1];
  if (cel && isScalar(node)) {
    const at = celOffset(source, node, Number(cel[1]), Number(cel[2]));
    if (at !== undefined) {
      from = at;
      to = tokenEnd(source, at, range[1]);
    }
  }
  const before = source.slice(0, from);
  const line = before.split('\n').length;
  return { from, to, line, column: from - before.lastIndexOf('\n') };
}

/** The offset in `source` of line `line`, column `column` of the scalar's value. */
function celOffset(source: string, node: Scalar, line: number, column: number): number | undefined {
  const [start, end] = node.range!;
  const raw = source.slice(start, end);
  if (node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED) {
    // header line (| or >), then the content lines, indented
    const lines = raw.split('\n');
    if (lines[line] === undefined) return undefined;
    // the block's indentation is its first content line's; deeper indentation is part of the value
    const indent = /^ */.exec(lines.slice(1).find((l) => l.trim() !== '') ?? '')![0].length;
    const lineStart = start + lines.slice(0, line).reduce((n, l) => n + l.length + 1, 0);
    return lineStart + indent + column - 1;
  }
  const quote = node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE ? 1 : 0;
  if (line === 1) return start + quote + column - 1;
  // a flow scalar over several lines: the expression's line L is the scalar's line L
  const lines = raw.split('\n');
  if (lines[line - 1] === undefined) return undefined;
  const lineStart = start + lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
  return lineStart + /^\s*/.exec(lines[line - 1])![0].length + column - 1;
}

/** The end of the token at `at` (at least one character), not past `limit`. */
function tokenEnd(source: string, at: number, limit: number): number {
  const m = /^([A-Za-z_][A-Za-z0-9_.]*|\d+|\S)/.exec(source.slice(at, limit));
  return Math.min(limit, at + (m ? m[0].length : 1));
}
