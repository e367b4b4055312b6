/**
 * `npm run bench -- --profile`: where the CPU goes. Every service runs with `--cpu-prof` (V8's sampling
 * profiler, written when the service stops); this reads the profiles and prints, per service, the share of its
 * busy time spent in each package or source folder, and its heaviest functions.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  file: string;
  /** milliseconds sampled while not idle */
  busyMs: number;
  /** package (node_modules) or source folder (dist/…) → milliseconds of self time, largest first */
  byModule: Array<[string, number]>;
  /** function (and where) → milliseconds of self time, largest first */
  byFunction: Array<[string, number]>;
}

/** Where a frame belongs: its npm package, the project folder (e.g. apps/context/src), or V8's own label. */
function moduleOf(url: string, functionName: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  const own = /\/dist\/(.+?\/[^/]+\/[^/]+)\//.exec(url);
  if (own) return own[1];
  if (url.startsWith('node:')) return 'node (internals)';
  return url || functionName;
}

export function summarise(file: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const byModule = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let busy = 0;
  for (const [id, micros] of self) {
    const { functionName, url, lineNumber } = nodes.get(id)!.callFrame;
    if (functionName === '(idle)') continue;
    busy += micros;
    const module = moduleOf(url, functionName);
    byModule.set(module, (byModule.get(module) ?? 0) + micros);
    const where = url ? `${url.replace(/.*\/(node_modules|dist)\//, '')}:${lineNumber + 1}` : '';
    const fn = `${functionName || '(anonymous)'} ${where}`.trim();
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + micros);
  }
  const ms = (m: Map<string, number>) =>
    [...m].map(([k, v]): [string, number] => [k, v / 1000]).sort((a, b) => b[1] - a[1]);
  return { file, busyMs: busy / 1000, byModule: ms(byModule), byFunction: ms(byFunction) };
}

/** Summaries of every profile in a folder, printed. */
export function reportProfiles(dir: string, log: (line: string) => void, top = 12): ProfileSummary[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const summaries = files.map((f) => summarise(join(dir, f)));
  for (const s of summaries) {
    const pct = (x: number) => `${((100 * x) / s.busyMs).toFixed(1).padStart(5)} %`;
    log(`\n${s.file}: ${Math.round(s.busyMs)} ms busy`);
    log('  by package or folder:');
    for (const [k, v] of s.byModule.slice(0, top)) log(`    ${pct(v)}  ${k}`);
    log('  heaviest functions (self time):');
    for (const [k, v] of s.byFunction.slice(0, top)) log(`    ${pct(v)}  ${k}`);
  }
  return summaries;
}
