import { readFile } from 'node:fs/promises';

export interface NdjsonLine {
  /** 1-based line number in the file */
  line: number;
  value?: unknown;
  raw: string;
  error?: string;
}

/** Reads an NDJSON file; blank lines are skipped, unparsable lines are returned with their error. */
export async function readNdjson(path: string): Promise<NdjsonLine[]> {
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new Error(
      error.code === 'ENOENT' ? `no such file: ${path}` : `cannot read ${path}: ${error.message}`,
    );
  });
  const out: NdjsonLine[] = [];
  text.split('\n').forEach((raw, i) => {
    if (!raw.trim()) return;
    try {
      out.push({ line: i + 1, raw, value: JSON.parse(raw) as unknown });
    } catch (error) {
      out.push({ line: i + 1, raw, error: `not JSON: ${(error as Error).message}` });
    }
  });
  return out;
}
