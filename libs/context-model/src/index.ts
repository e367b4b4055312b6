export { DAY_MS, addDays, dayFromIndex, dayIndex, daysBetween, parseDayIndex } from './day-index.js';
export {
  isValidTimeZone,
  localDay,
  localDayIndex,
  localDayRange,
  zoneOffsetMs,
  type LocalDayRange,
} from './local-day.js';
export {
  DIM_ALL,
  categoryDim,
  channelDim,
  parseDim,
  storeDim,
  type DimKind,
  type ParsedDim,
} from './dims.js';
export { HORIZON_DAYS, WINDOW_DAYS, emptyTotals, emptyWindows } from './windows.js';
export { compareRows, rollupDay, rollupEvents, type DailyRollup } from './daily-rollup.js';
export { mergeRows, pruneRows } from './merge-rows.js';
export { RECENT_MAX, pushRecent, sortRecent, toRecentEvent, type TimedRecentEvent } from './recent.js';
export { DEFAULT_RFM_THRESHOLDS, rfmScores, type RfmScores, type RfmThresholds } from './rfm.js';
export {
  OPEN_DAYS,
  closeOldDays,
  foldEvent,
  foldIntoClosedDay,
  newContext,
  openContext,
  openFromAt,
  withProfileUpdate,
  type CustomerContext,
  type FoldOptions,
  type FoldResult,
} from './fold.js';
export {
  buildSnapshot,
  emptySnapshot,
  snapshotView,
  withOnlyPartsRead,
  type SnapshotInput,
} from './snapshot.js';
export { DeferredContext, type DeferredFold } from './deferred-fold.js';
export {
  benchRollupDay,
  benchSnapshot,
  type BenchClock,
  type BenchOptions,
  type BenchResult,
} from './bench.js';
export {
  asCustomer,
  mergeHistories,
  profileGaps,
  survivorOf,
  type MergedDay,
  type MergedHistory,
} from './merge.js';
