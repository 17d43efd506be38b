import { type Kysely, sql } from "kysely";
import type { MeowmxTables } from "../database/tables.js";
import { decodePosition } from "../log/position.js";
import { checkpointPosition, streamKey } from "./checkpoints.js";
import type { ParkedEvent } from "./subscription-status.js";

/** The parked_events table: the events each subscription gave up on, until they are replayed. */
export class ParkedEvents {
  constructor(private readonly schema: string) {}

  private get table() {
    return sql.id(this.schema, "parked_events");
  }

  /**
   * Puts events aside as given up on, in one statement (the caller moves the checkpoint past them in
   * the same transaction).
   */
  async park(db: Kysely<MeowmxTables>, name: string, events: ReadonlyArray<{ position: string; error: string; attempts: number }>): Promise<void> {
    if (events.length === 0) return;
    const rows = events.map(({ position, error, attempts }) => {
      const at = decodePosition(position);
      return { transaction_id: at.transactionId.toString(), sequence: at.sequence.toString(), error, attempts };
    });
    await sql`
      insert into ${this.table} (subscription, transaction_id, sequence, error, attempts)
      select ${name}, x.transaction_id::xid8, x.sequence, x.error, x.attempts
      from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as x(transaction_id text, sequence bigint, error text, attempts integer)
      on conflict do nothing`.execute(db);
  }

  /**
   * The streams with a parked event of the subscription, by {@link streamKey},
   * each with the position of its first parked event.
   */
  async parkedStreams(db: Kysely<MeowmxTables>, name: string): Promise<Map<string, string>> {
    const { rows } = await sql<{ aggregate_type: string; aggregate_id: string; tx_id: string; seq: string }>`
      select distinct on (e.aggregate_type, e.aggregate_id) e.aggregate_type, e.aggregate_id::text as aggregate_id,
             p.transaction_id::text as tx_id, p.sequence::text as seq
      from ${this.table} as p
      join ${sql.id(this.schema, "events")} as e on e.transaction_id = p.transaction_id and e.sequence = p.sequence
      where p.subscription = ${name}
      order by e.aggregate_type, e.aggregate_id, p.transaction_id, p.sequence`.execute(db);
    return new Map(rows.map((row) => [streamKey(row.aggregate_type, row.aggregate_id), checkpointPosition(row)]));
  }

  /** The parked events of a subscription, oldest first. */
  async parked(db: Kysely<MeowmxTables>, name: string): Promise<ParkedEvent[]> {
    const { rows } = await sql<{ subscription: string; tx_id: string; seq: string; error: string; attempts: number; parked_at: Date }>`
      select subscription, transaction_id::text as tx_id, sequence::text as seq, error, attempts, parked_at
      from ${this.table} where subscription = ${name} order by transaction_id, sequence`.execute(db);
    return rows.map((row) => ({ subscription: row.subscription, position: checkpointPosition(row), error: row.error, attempts: row.attempts, parkedAt: row.parked_at }));
  }

  /**
   * Forgets a parked event, to handle it again in the same transaction; false when it is not parked
   * (any more). Another transaction unparking the same event waits for this one to end, then finds
   * nothing: each parked event is replayed once.
   */
  async unpark(db: Kysely<MeowmxTables>, name: string, position: string): Promise<boolean> {
    const at = decodePosition(position);
    const result = await sql`delete from ${this.table}
      where subscription = ${name} and transaction_id = ${at.transactionId.toString()}::xid8 and sequence = ${at.sequence.toString()}`.execute(db);
    return (result.numAffectedRows ?? 0n) !== 0n;
  }
}
