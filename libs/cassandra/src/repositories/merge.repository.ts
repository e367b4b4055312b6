import type { IdentityType } from '@nunchi/contracts/core';
import type { CqlClient } from '../client.js';
import { defineStatements, run, runAll, statement } from '../statements.js';

const Q = defineStatements({
  claim: statement(
    'customer_merges.claim',
    'INSERT INTO customer_merges (absorbed_id, survivor_id, event_id, merged_at, state) VALUES (?, ?, ?, ?, ?) IF NOT EXISTS',
    false,
  ),
  get: statement(
    'customer_merges.get',
    'SELECT survivor_id, event_id, merged_at, state, identities, absorbed_ledger FROM customer_merges WHERE absorbed_id = ?',
  ),
  readdress: statement(
    'customer_merges.readdress',
    'UPDATE customer_merges SET survivor_id = ? WHERE absorbed_id = ? IF survivor_id = ? AND state = ?',
    false,
  ),
  complete: statement(
    'customer_merges.complete',
    'UPDATE customer_merges SET state = ?, identities = ?, absorbed_ledger = ? WHERE absorbed_id = ?',
  ),
  pointAt: statement('customers.merged_into', 'UPDATE customers SET merged_into = ? WHERE customer_id = ?'),
  indexBySurvivor: statement(
    'customer_merges_by_survivor.insert',
    'INSERT INTO customer_merges_by_survivor (survivor_id, absorbed_id, merged_at) VALUES (?, ?, ?)',
  ),
  absorbedBy: statement(
    'customer_merges_by_survivor.list',
    'SELECT absorbed_id FROM customer_merges_by_survivor WHERE survivor_id = ?',
  ),
  unindexSurvivor: statement(
    'customer_merges_by_survivor.delete',
    'DELETE FROM customer_merges_by_survivor WHERE survivor_id = ? AND absorbed_id = ?',
  ),
  forgetRecord: statement('customer_merges.erase', 'DELETE FROM customer_merges WHERE absorbed_id = ?'),
  forgetSurvivor: statement(
    'customer_merges_by_survivor.erase',
    'DELETE FROM customer_merges_by_survivor WHERE survivor_id = ?',
  ),
});

/** A merge of one customer into another (docs/identity.md), as `customer_merges` keeps it. */
export interface MergeRecord {
  absorbedId: string;
  survivorId: string;
  /** the event that linked the two: its key (eventKey, channel and id; records from before keys: its bare id) */
  eventId: string;
  mergedAt: Date;
  /** frozen: the absorbed customer takes no more events; done: the survivor holds both histories */
  state: 'frozen' | 'done';
  /** identities the survivor took over (stored values), once done */
  identities: Array<[IdentityType, string]>;
  /** the absorbed customer's contact ledger as merged (JSON), once done */
  absorbedLedger?: string;
}

/** Merge records, and the pointer from an absorbed customer to its survivor. */
export class MergeRepository {
  constructor(private readonly client: CqlClient) {}

  /**
   * Starts a merge, or finds the one already started for this absorbed customer: a lightweight transaction,
   * so redeliveries and replicas agree on one survivor. The absorbed customer then points at the survivor
   * (`customers.merged_into`) and the survivor lists it; both keyed upserts, safe to repeat.
   */
  async freeze(absorbedId: string, survivorId: string, eventId: string, at: Date): Promise<MergeRecord> {
    const result = await run(this.client, Q.claim, [absorbedId, survivorId, eventId, at, 'frozen']);
    const record = result.wasApplied()
      ? ({ absorbedId, survivorId, eventId, mergedAt: at, state: 'frozen', identities: [] } as MergeRecord)
      : (await this.get(absorbedId))!;
    if (record.survivorId === survivorId)
      await Promise.all([
        run(this.client, Q.pointAt, [survivorId, absorbedId]),
        run(this.client, Q.indexBySurvivor, [survivorId, absorbedId, record.mergedAt]),
      ]);
    return record;
  }

  /**
   * A frozen merge whose survivor was itself merged into `to` before the absorb step: the record, the pointer
   * and the survivor's list move to `to` (a lightweight transaction on the record, so one move wins). Returns
   * the record as it now stands.
   */
  async readdress(absorbedId: string, from: string, to: string): Promise<MergeRecord | undefined> {
    const moved = await run(this.client, Q.readdress, [to, absorbedId, from, 'frozen']);
    const record = await this.get(absorbedId);
    if (moved.wasApplied() || record?.survivorId === to) {
      await Promise.all([
        run(this.client, Q.pointAt, [to, absorbedId]),
        run(this.client, Q.indexBySurvivor, [to, absorbedId, record?.mergedAt ?? new Date()]),
        run(this.client, Q.unindexSurvivor, [from, absorbedId]),
      ]);
    }
    return record;
  }

  async get(absorbedId: string): Promise<MergeRecord | undefined> {
    const row = (await run(this.client, Q.get, [absorbedId])).first();
    if (!row) return undefined;
    const identities = row['identities'] as string | null;
    return {
      absorbedId,
      survivorId: row['survivor_id'] as string,
      eventId: row['event_id'] as string,
      mergedAt: row['merged_at'] as Date,
      state: row['state'] as MergeRecord['state'],
      identities: identities ? (JSON.parse(identities) as MergeRecord['identities']) : [],
      ...(row['absorbed_ledger'] ? { absorbedLedger: row['absorbed_ledger'] as string } : {}),
    };
  }

  /** The merge is complete: what the survivor took over, kept for the record (and an unlink). */
  async complete(
    absorbedId: string,
    identities: MergeRecord['identities'],
    absorbedLedger: string,
  ): Promise<void> {
    await run(this.client, Q.complete, ['done', JSON.stringify(identities), absorbedLedger, absorbedId]);
  }

  /** Customers merged into this one (directly). */
  async absorbedBy(survivorId: string): Promise<string[]> {
    return (await runAll(this.client, Q.absorbedBy, [survivorId])).map((r) => r['absorbed_id'] as string);
  }

  /** An unlink: the merge is undone, and the two may be merged again by a later link. */
  async remove(absorbedId: string, survivorId: string): Promise<void> {
    await Promise.all([
      run(this.client, Q.forgetRecord, [absorbedId]),
      run(this.client, Q.unindexSurvivor, [survivorId, absorbedId]),
    ]);
  }

  /** Erasure: the records of these absorbed customers and the survivor's list go (they name identities). */
  async forget(survivorId: string, absorbedIds: readonly string[]): Promise<number> {
    await Promise.all([
      run(this.client, Q.forgetSurvivor, [survivorId]),
      ...absorbedIds.map((id) => run(this.client, Q.forgetRecord, [id])),
    ]);
    return absorbedIds.length;
  }
}
