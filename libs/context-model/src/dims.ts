/**
 * Rollup dimensions, `<kind>:<name>`: a day's rollups hold one entry per dim (a `customer_days` row).
 * Store ids and channels are subject tokens ([A-Za-z0-9_-]); categories are Unicode text and may contain
 * ':' and spaces ("category:Beer: Cider"), so a dim splits at its first ':' — the kind never has one.
 */

/** the customer's totals over every store, category and channel */
export const DIM_ALL = 'all';

export type DimKind = 'all' | 'store' | 'category' | 'channel' | 'response';

/** the answers an offer_response can give */
export const OFFER_RESPONSES = ['accepted', 'redeemed', 'dismissed'] as const;
export type OfferResponse = (typeof OFFER_RESPONSES)[number];

export function storeDim(storeId: string): string {
  return `store:${storeId}`;
}
export function categoryDim(category: string): string {
  return `category:${category}`;
}
export function channelDim(channel: string): string {
  return `channel:${channel}`;
}

/**
 * offer responses of one kind to one campaign's offers: `response:dismissed:<campaignId>` (campaign ids are
 * tokens, so the name splits at its one ':')
 */
export function responseDim(response: OfferResponse, campaignId: string): string {
  return `response:${response}:${campaignId}`;
}

export interface ParsedDim {
  kind: DimKind;
  /** store id, category or channel; '' for 'all' */
  name: string;
}

/** Split a dim into kind and name; undefined for a dim this version does not know (it is then ignored). */
export function parseDim(dim: string): ParsedDim | undefined {
  if (dim === DIM_ALL) return { kind: 'all', name: '' };
  const colon = dim.indexOf(':');
  if (colon <= 0 || colon === dim.length - 1) return undefined;
  const kind = dim.slice(0, colon);
  if (kind !== 'store' && kind !== 'category' && kind !== 'channel' && kind !== 'response') return undefined;
  return { kind, name: dim.slice(colon + 1) };
}
