import { Injectable } from '@nestjs/common';

export interface IndicatorResult {
  ok: boolean;
  /**
   * Working, but behind (e.g. a consumer backlog past its deadline): still ready — taking the replica out of
   * service would only make the backlog worse — and reported as `"status": "degraded"`.
   */
  degraded?: boolean;
  detail?: string;
}

/** ok: every indicator ok; degraded: every indicator ok, some degraded; down: some indicator not ok. */
export type ReadinessStatus = 'ok' | 'degraded' | 'down';

/** One readiness check per dependency; modules register theirs at init. */
@Injectable()
export class Readiness {
  private readonly indicators = new Map<string, () => Promise<IndicatorResult>>();

  register(name: string, check: () => Promise<IndicatorResult>): void {
    this.indicators.set(name, check);
  }

  async check(): Promise<{ ok: boolean; status: ReadinessStatus; checks: Record<string, IndicatorResult> }> {
    const entries = await Promise.all(
      [...this.indicators].map(async ([name, check]): Promise<[string, IndicatorResult]> => {
        try {
          return [name, await withTimeout(check(), 2_000)];
        } catch (error) {
          return [name, { ok: false, detail: (error as Error).message }];
        }
      }),
    );
    const checks = Object.fromEntries(entries);
    const ok = entries.every(([, r]) => r.ok);
    const status: ReadinessStatus = !ok ? 'down' : entries.some(([, r]) => r.degraded) ? 'degraded' : 'ok';
    return { ok, status, checks };
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}
