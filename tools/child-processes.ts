import type { ChildProcess } from 'node:child_process';

const running = new Set<ChildProcess>();
let hooked = false;

/**
 * Kills `child` (SIGTERM) if it is still running when this process exits — at the end, by process.exit(), or
 * on an interrupt turned into an exit (exitOnInterrupt) — so that a run cut short leaves no nats-server or
 * service behind. A Ctrl-C in a terminal reaches the children anyway (one process group); a kill of this
 * process alone (a timeout, `kill <pid>`) does not.
 */
export function killOnExit(child: ChildProcess): void {
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    });
  }
  running.add(child);
  child.once('exit', () => running.delete(child));
}

/** SIGINT and SIGTERM end the process (exit code 130) through its 'exit' hooks, killOnExit's included. */
export function exitOnInterrupt(): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
}
