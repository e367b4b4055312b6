import { Injectable } from '@nestjs/common';

export interface IndicatorResult {
  ok: boolean;
  detail?: string;
}

/** One readiness check per dependency; modules register theirs at init. */
@Injectable()
export class Readiness {
  private readonly indicators = new Map<string, () => Promise<IndicatorResult>>();

  register(name: string, check: () => Promise<IndicatorResult>): void {
    this.indicators.set(name, check);
  }

  async check(): Promise<{ ok: boolean; checks: Record<string, IndicatorResult> }> {
    const entries = await Promise.all(
      [...this.indicators].map(async ([name, check]) => {
        try {
          return [name, await withTimeout(check(), 2_000)] as const;
        } catch (error) {
          return [name, { ok: false, detail: (error as Error).message }] as const;
        }
      }),
    );
    const checks = Object.fromEntries(entries);
    return { ok: entries.every(([, r]) => r.ok), checks };
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}
