/** What `npm run bench` prints and draws from a whole-system result: per-step tables, the overload, the targets. */
import { latencyChart } from './chart.js';
import { formatStep, type StepResult, type SystemBenchResult } from './system.js';

/** Issue 9's targets, printed beside the measured figures (never asserted: a benchmark is not a test). */
export const TARGETS = {
  p99AtRate: { rate: 1_000, p99Ms: 50 },
  capacityEventsPerSec: 2_000,
  cpuMsPerEventAt500: 1,
  idleMs: 10,
  overloadOfCapacity: 0.8,
} as const;

const pct = (x: number | null | undefined) =>
  x === null || x === undefined || !Number.isFinite(x) ? '-' : `${Math.round(x * 1000) / 10} %`;
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '-');
const mark = (ok: boolean | null) => (ok === null ? '  ' : ok ? 'ok' : '✗ ');

export function report(system: SystemBenchResult): string {
  const out: string[] = [];
  const steps: StepResult[] = [
    ...system.steps,
    ...(system.overload ? [system.overload.overload, system.overload.recovery] : []),
  ];
  out.push(
    '\nNunchi — whole system, open-loop load (latency from the scheduled send time; decisions of every outcome, late and none included)',
  );
  out.push(
    `population ${system.population.toLocaleString()} customers (top 1 % make ${pct(system.frequency.top1PercentShare)} of events, top 20 % ${pct(system.frequency.top20PercentShare)}); history ${system.history.events.toLocaleString()} events of ${system.history.customers.toLocaleString()} customers over ${system.history.months} months; ${system.campaigns} campaigns`,
  );
  for (const step of steps) out.push(formatStep(step));

  out.push(
    '\nCPU ms per event (and % of one core) per process, and summed over the system (load generator apart):',
  );
  for (const step of steps) {
    out.push(
      `${step.kind === 'ramp' ? '' : `${step.kind} `}${String(step.offeredRate).padStart(5)} ev/s: ${Object.entries(
        step.processes,
      )
        .map(([n, u]) => (u ? `${n} ${u.cpuMsPerEvent} ms (${u.cpuPercent}%, ${u.rssMiB}M)` : `${n} -`))
        .join(', ')} | system ${step.cpuMsPerEvent} ms/event`,
    );
  }

  out.push(
    '\nCassandra requests per accepted event, all services (a batch counts once), the most frequent first:',
  );
  for (const step of steps) {
    const c = step.cassandraPerEvent;
    const top = c
      ? Object.entries(c.byStatement)
          .sort((a, b) => b[1] - a[1])
          .slice(0, 8)
          .map(([name, n]) => `${name} ${n}`)
          .join(', ')
      : '';
    out.push(
      `${step.kind === 'ramp' ? '' : `${step.kind} `}${String(step.offeredRate).padStart(5)} ev/s: ${c ? `${c.total} — ${top}` : '-'}`,
    );
  }

  const idle = system.idle;
  out.push(
    `\nidle probe (${idle.count} single events, hot customers): send→decision p50 ${f1(idle.sendToDecision.p50)} max ${f1(idle.sendToDecision.max)} ms; receipt→decision (decision service) p50 ${f1(idle.receiptToDecision.p50)} max ${f1(idle.receiptToDecision.max)} ms; send→offer p50 ${f1(idle.sendToOffer.p50)} max ${f1(idle.sendToOffer.max)} ms (${idle.sendToOffer.count} offers)`,
  );

  const o = system.overload;
  if (o) {
    out.push(
      `\noverload: ${o.rate} events/s for ${o.seconds} s (2 × ${o.capacity}, ${o.capacitySource}), then ${o.recoveryRate} events/s for ${o.recoverySeconds} s; on-time offers per ${o.windowSeconds} s window (capacity step: ${o.capacityOnTimeOffersPerSec ?? '-'} on-time offers/s):`,
    );
    for (const w of o.windows)
      out.push(
        `  t=${String(w.startS).padStart(5)} s  ${String(w.offeredRate).padStart(5)} ev/s  on-time offers ${String(w.onTimeOffers).padStart(5)} (${f1(w.onTimeOffersPerSec)}/s, ${pct(w.ofCapacity)} of capacity)  late ${w.late}  refused ${w.refused ?? '-'}  answered p50 ${w.ack?.p50 ?? '-'} max ${w.ack?.max ?? '-'} ms`,
      );
    const peak = (stream: string) => Math.max(0, ...o.lag.map((l) => l.streams[stream]?.pending ?? 0));
    const oldest = (stream: string) => Math.max(0, ...o.lag.map((l) => l.streams[stream]?.oldestAgeMs ?? 0));
    out.push(
      `  lag peak: EVENTS ${peak('EVENTS')} pending (oldest ${oldest('EVENTS')} ms), ENRICHED ${peak('ENRICHED')} pending (oldest ${oldest('ENRICHED')} ms); backlog gone (oldest < 500 ms) ${o.drainS ?? 'not within the deadline:'} s and nothing pending ${o.emptyS ?? 'not within the deadline:'} s after the overload's last send; lost ${o.lost}`,
    );
  }

  const t = system.tracing;
  if (t) {
    const per = (s: StepResult) =>
      Object.entries(s.processes)
        .filter(([name, u]) => u && name !== 'loadgen')
        .map(([name, u]) => `${name} ${u!.cpuMsPerEvent}`)
        .join(', ');
    out.push(
      `\ntracing at ${t.rate} events/s (same step, fresh start each): every event traced ${t.on.cpuMsPerEvent} ms CPU/event, event→decision p50 ${f1(t.on.eventToDecision.p50)} p99 ${f1(t.on.eventToDecision.p99)} ms; ` +
        `tracing off ${t.off.cpuMsPerEvent} ms CPU/event, p50 ${f1(t.off.eventToDecision.p50)} p99 ${f1(t.off.eventToDecision.p99)} ms`,
      `  on:  ${per(t.on)}`,
      `  off: ${per(t.off)}`,
    );
  }

  const at1000 = system.steps.find((s) => s.offeredRate === TARGETS.p99AtRate.rate);
  const at500 = system.steps.find((s) => s.offeredRate === 500);
  const lines: Array<[string, string, string, boolean | null]> = [
    [
      `event→decision p99 at ${TARGETS.p99AtRate.rate} events/s`,
      `≤ ${TARGETS.p99AtRate.p99Ms} ms`,
      at1000 ? `${f1(at1000.eventToDecision.p99)} ms` : 'rate not reached',
      at1000 ? at1000.eventToDecision.p99 <= TARGETS.p99AtRate.p99Ms && at1000.lostDecisions === 0 : false,
    ],
    [
      'sustained rate before p99 passes 500 ms',
      `≥ ${TARGETS.capacityEventsPerSec} events/s`,
      system.capacity === null
        ? 'none'
        : `${system.capacity} events/s${system.capacity === Math.max(...system.rates) ? ' (highest rate tried)' : ''}`,
      system.capacity !== null && system.capacity >= TARGETS.capacityEventsPerSec,
    ],
    [
      'CPU per event, all processes, at 500 events/s',
      `≤ ${TARGETS.cpuMsPerEventAt500} ms`,
      at500 ? `${at500.cpuMsPerEvent} ms` : 'rate not reached',
      at500 ? at500.cpuMsPerEvent <= TARGETS.cpuMsPerEventAt500 : false,
    ],
    [
      'one event at idle, send→decision p50 / max',
      `≤ ${TARGETS.idleMs} ms`,
      `${f1(idle.sendToDecision.p50)} / ${f1(idle.sendToDecision.max)} ms`,
      idle.sendToDecision.count > 0 && idle.sendToDecision.max <= TARGETS.idleMs,
    ],
    [
      'on-time offers at 2 × capacity, lowest window',
      `≥ ${TARGETS.overloadOfCapacity * 100} % of capacity, nothing lost`,
      o ? `${pct(o.minOfCapacity)}, lost ${o.lost}, drained in ${o.drainS ?? '-'} s` : 'not run',
      o ? (o.minOfCapacity ?? 0) >= TARGETS.overloadOfCapacity && o.lost === 0 : false,
    ],
  ];
  out.push('\ntargets (issue 9), measured on this machine:');
  for (const [what, aim, got, ok] of lines)
    out.push(`  ${mark(ok)} ${what.padEnd(48)} aim ${aim.padEnd(36)} measured ${got}`);
  out.push(
    `highest rate with event→decision p99 ≤ 50 ms and nothing lost: ${system.maxRateP99Under50ms ?? 'none of the rates tried'} events/s`,
  );
  return out.join('\n');
}

/** Event → decision percentiles (every outcome, late included) and event → offer p99 against offered load. */
export function systemChart(system: SystemBenchResult, subtitle: string): string {
  const ramp = system.steps;
  const points = (get: (s: StepResult) => number) => ramp.map((s) => ({ x: s.offeredRate, y: get(s) }));
  return latencyChart(
    `Nunchi event → decision latency (late and none included), ${subtitle}`,
    [
      { name: 'decision p50', colour: '#2a7', points: points((s) => s.eventToDecision.p50) },
      { name: 'decision p95', colour: '#e90', points: points((s) => s.eventToDecision.p95) },
      { name: 'decision p99', colour: '#c22', points: points((s) => s.eventToDecision.p99) },
      { name: 'offer p99', colour: '#36c', points: points((s) => s.eventToOffer.p99), dashed: true },
    ],
    {
      lines: [
        { y: 50, label: 'p99 aim 50 ms' },
        { y: 500, label: 'capacity 500 ms' },
      ],
      notes: ramp
        .filter((s) => s.lateShare > 0)
        .map((s) => ({ x: s.offeredRate, text: `late ${Math.round(s.lateShare * 1000) / 10}%` })),
    },
  );
}
