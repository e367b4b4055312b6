// The omittable parts of a context snapshot: constants without validators, in '@nunchi/contracts/core'.

/**
 * The parts of a snapshot ENRICHED carries only when an active campaign reads them: the maps by store,
 * category and channel, the recent events and the offer responses — most of its bytes (the windows of
 * `all` and `thisStore`, the recencies and RFM are always there).
 */
export const OMITTABLE_CONTEXT_PARTS = ['store', 'category', 'channel', 'recent', 'responses'] as const;
export type OmittableContextPart = (typeof OMITTABLE_CONTEXT_PARTS)[number];

/** The omittable parts that are maps of windows by name: ENRICHED may carry only the names campaigns read. */
export const KEYED_CONTEXT_PARTS = ['store', 'category', 'channel'] as const;
export type KeyedContextPart = (typeof KEYED_CONTEXT_PARTS)[number];
