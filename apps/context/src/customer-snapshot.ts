import { buildSnapshot, emptyWindows, localDayIndex } from '@nunchi/context-model';
import type { ContextSnapshot } from '@nunchi/contracts';
import type { CustomerState } from './customer-state.cache.js';

/**
 * The customer's snapshot at nowMs, as buildSnapshot computes it, memoised in the state. A snapshot depends on
 * the clock only through "today" (the local day of nowMs), `asOf` and the current store (`thisStore` is
 * `store[storeId]`), so one built without a store serves every read of the same local day until the state
 * changes — and a write replaces the state object, dropping the memo with it. A read from the hot tier is
 * then a copy of a few fields instead of a pass over a year of rollup rows.
 */
export function snapshotOf(
  customerId: string,
  state: CustomerState,
  nowMs: number,
  timeZone: string,
  storeId?: string,
): ContextSnapshot {
  const today = localDayIndex(nowMs, timeZone);
  let memo = state.snapshot;
  if (memo?.day !== today) {
    memo = {
      day: today,
      ctx: buildSnapshot({ customerId, rows: state.rows, recent: state.recent, nowMs, timeZone }),
    };
    state.snapshot = memo;
  }
  const thisStore =
    storeId !== undefined && Object.hasOwn(memo.ctx.store, storeId)
      ? memo.ctx.store[storeId]
      : emptyWindows();
  return { ...memo.ctx, asOf: new Date(nowMs).toISOString(), thisStore };
}
