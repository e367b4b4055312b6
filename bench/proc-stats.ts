import { readFileSync } from 'node:fs';

/** clock ticks per second on Linux (getconf CLK_TCK); 100 on every common kernel */
const CLK_TCK = 100;

export interface ProcSample {
  /** CPU seconds used so far (user + system) */
  cpuSeconds: number;
  /** resident set size, MiB */
  rssMiB: number;
}

/** Reads /proc/<pid>: CPU time and RSS. Undefined when the process is gone or not on Linux. */
export function sampleProcess(pid: number): ProcSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    return { cpuSeconds, rssMiB: rssKb / 1024 };
  } catch {
    return undefined;
  }
}

export interface ProcUsage {
  /** mean CPU over the interval, percent of one core */
  cpuPercent: number;
  /** RSS at the end, MiB */
  rssMiB: number;
}

export function usageBetween(
  before: ProcSample | undefined,
  after: ProcSample | undefined,
  seconds: number,
): ProcUsage | undefined {
  if (!before || !after) return undefined;
  return {
    cpuPercent: Math.round(((after.cpuSeconds - before.cpuSeconds) / seconds) * 1000) / 10,
    rssMiB: Math.round(after.rssMiB),
  };
}
