/**
 * The last step of an identity-key rotation (docs/security.md, "Rotating the identity key"): every customer's
 * data key still wrapped under a previous identity key is wrapped again under the current one, so that the
 * previous key can be dropped without shredding the customers not seen since the rotation. The services do
 * the same lazily, for each customer whose event they handle; this does it for all at once.
 *
 * Safe under live traffic and to repeat: the data key itself never changes (so whatever was sealed under it
 * still opens), and each row is rewritten with a conditional update (IF key_id = …), which an erasure's
 * deletion — or a service re-wrapping the same key first — makes a no-op rather than bringing a key back.
 */
import type { IdentityKey } from '@nunchi/config';
import { unwrapDataKey, wrapDataKey } from '@nunchi/sealing';
import { mapBounded } from './bulk.js';
import type { CqlClient } from './client.js';
import { CustomerKeyRepository } from './repositories/customer-key.repository.js';

export interface RewrapReport {
  /** the current identity key's id: what every key is wrapped under afterwards */
  kekId: string;
  /** keys read */
  scanned: number;
  /** wrapped under the current identity key already */
  current: number;
  /** wrapped again under the current identity key now (with dryRun: would be) */
  rewrapped: number;
  /** gone or re-wrapped by a service between the read and the update (an erasure, a customer's event) */
  changedMeanwhile: number;
  /**
   * keys wrapped under an identity key this process lacks (or whose secret is not the one given for that id),
   * per key id: they stay as they are
   */
  unopenable: Record<string, number>;
  dryRun: boolean;
}

export interface RewrapOptions {
  /** count what would be re-wrapped; write nothing */
  dryRun?: boolean;
  /** progress lines (every 10,000 keys) */
  log?: (line: string) => void;
}

/** keys read per page */
const PAGE = 2_000;
/** conditional updates (lightweight transactions) in flight at once */
const CONCURRENCY = 16;

/** `keks`: the current identity key first, then the previous ones (config identityKeys). */
export async function rewrapDataKeys(
  client: CqlClient,
  keks: readonly IdentityKey[],
  options: RewrapOptions = {},
): Promise<RewrapReport> {
  const current = keks[0];
  if (!current)
    throw new Error(
      'no identity key: data keys are re-wrapped under the current one (NUNCHI_IDENTITY_SECRET with NUNCHI_IDENTITY_KEY_ID, the previous keys in NUNCHI_IDENTITY_PREVIOUS_KEYS)',
    );
  const repository = new CustomerKeyRepository(client);
  const report: RewrapReport = {
    kekId: current.id,
    scanned: 0,
    current: 0,
    rewrapped: 0,
    changedMeanwhile: 0,
    unopenable: {},
    dryRun: options.dryRun ?? false,
  };
  const derived = new Map<string, Buffer>();
  let pageState: string | undefined;
  let logged = 0;
  do {
    const page = await repository.page(pageState, PAGE);
    pageState = page.pageState;
    report.scanned += page.keys.length;
    const stale = page.keys.filter(({ key }) => key.kekId !== current.id);
    report.current += page.keys.length - stale.length;
    await mapBounded(stale, CONCURRENCY, async ({ customerId, key }) => {
      let dataKey;
      try {
        dataKey = unwrapDataKey(customerId, key, keks, derived);
      } catch {
        // an identity key this process lacks, or another secret under the same key id
        report.unopenable[key.kekId] = (report.unopenable[key.kekId] ?? 0) + 1;
        return;
      }
      if (report.dryRun) report.rewrapped++;
      else if (await repository.rewrap(customerId, wrapDataKey(customerId, dataKey, current)))
        report.rewrapped++;
      else report.changedMeanwhile++;
    });
    if (report.scanned >= (logged + 1) * 10_000) {
      logged = Math.floor(report.scanned / 10_000);
      options.log?.(
        `${report.scanned.toLocaleString()} keys read, ${report.rewrapped.toLocaleString()} ${report.dryRun ? 'to re-wrap' : 're-wrapped'}`,
      );
    }
  } while (pageState);
  return report;
}
