/**
 * Control-group assignment. A customer is held out of a campaign when
 *
 *   bucket = h(campaignId + ":" + customerId) / 2^32 * 100      (a number in [0, 100))
 *   heldOut = bucket < holdoutPercent
 *
 * where h is 32-bit FNV-1a over the UTF-16 code units (each unit folded as low byte, then high byte
 * when non-zero — the same fold as partitionOf in @nunchi/contracts) followed by the murmur3 32-bit
 * finaliser (fmix32), which spreads FNV's weak low bits. Deterministic across processes, replicas and
 * versions (the campaign version is deliberately not part of the key: a customer stays in the control
 * group when the campaign is edited), and independent between campaigns.
 */
export function holdoutBucket(campaignId: string, customerId: string): number {
  let h = 0x811c9dc5;
  h = fnv(h, campaignId);
  h ^= 0x3a; // ':'
  h = Math.imul(h, 0x01000193);
  h = fnv(h, customerId);
  // fmix32
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return ((h >>> 0) / 4_294_967_296) * 100;
}

function fnv(hash: number, s: string): number {
  let h = hash;
  for (let i = 0; i < s.length; i++) {
    let code = s.charCodeAt(i);
    h ^= code & 0xff;
    h = Math.imul(h, 0x01000193);
    code >>>= 8;
    if (code) {
      h ^= code;
      h = Math.imul(h, 0x01000193);
    }
  }
  return h;
}

/** True when the customer belongs to the campaign's control group. percent is 0-100. */
export function isHeldOut(campaignId: string, customerId: string, percent: number): boolean {
  if (!(percent > 0)) return false;
  if (percent >= 100) return true;
  return holdoutBucket(campaignId, customerId) < percent;
}
