import { type Kysely, sql } from "kysely";
import type { Logger } from "../logger.js";
import type { Backend } from "./backend.js";
import { isConnectionLost, SQLSTATE, sqlStateOf } from "./database-errors.js";

/** After the replica failed to answer, reads go to the primary this long before it is tried again. */
export const REPLICA_RETRY_MS = 5_000;

// serialization_failure (a conflict with recovery), undefined_table, undefined_column.
const NOT_YET_ON_REPLICA = new Set([SQLSTATE.serializationFailure, "42P01", "42703"]);

/** How far a read replica is behind the primary, as `subscriptionStatus` shows it. */
export interface ReplicaStatus {
  /** False while reads go to the primary because the replica did not answer. */
  readonly reachable: boolean;
  /** WAL written on the primary that the replica has not replayed yet, in bytes; null when it cannot be told. */
  readonly replayLagBytes: number | null;
  /**
   * How long ago the replica replayed its last transaction while it still has WAL to replay, in
   * milliseconds; 0 when it has replayed everything it received; null when it cannot be told.
   */
  readonly replayLagMs: number | null;
  /** Whether replay is paused on the replica (`pg_wal_replay_pause()`). */
  readonly replayPaused: boolean | null;
}

/**
 * A streaming replica that takes reads off the primary. A read it cannot answer (refused, ended,
 * shutting down) runs on the primary instead; the replica is tried again after
 * {@link REPLICA_RETRY_MS}. Going and coming back are logged once each.
 */
export class ReadReplica {
  private retryAt = 0;
  private down = false;

  constructor(
    private readonly backend: Backend,
    private readonly logger: Logger,
  ) {}

  /** Kysely over the replica. */
  get db(): Kysely<any> {
    return this.backend.db;
  }

  /** Runs `onReplica`, or `onPrimary` when the replica is down or cannot answer this read. */
  async run<T>(onReplica: () => Promise<T>, onPrimary: () => Promise<T>): Promise<T> {
    if (this.down && performance.now() < this.retryAt) return onPrimary();
    let result: T;
    try {
      result = await onReplica();
    } catch (error) {
      // A standby cancels a read that conflicts with what it replays, and one that has not replayed a
      // migration yet lacks its tables or columns: the primary answers this read.
      if (NOT_YET_ON_REPLICA.has(sqlStateOf(error) ?? "")) return onPrimary();
      if (!isConnectionLost(error)) throw error;
      if (!this.down) this.logger.warn("the read replica does not answer; reading from the primary", { error: String(error) });
      this.down = true;
      this.retryAt = performance.now() + REPLICA_RETRY_MS;
      return onPrimary();
    }
    if (this.down) {
      this.down = false;
      this.logger.warn("the read replica answers again; reading from it");
    }
    return result;
  }

  /** How far the replica is behind `primary`. */
  async status(primary: Kysely<any>): Promise<ReplicaStatus> {
    const { rows: written } = await sql<{ lsn: string }>`select pg_current_wal_lsn()::text as lsn`.execute(primary);
    try {
      const { rows } = await sql<{ bytes: string | null; ms: number | null; paused: boolean | null }>`
        select pg_wal_lsn_diff(${written[0]!.lsn}::pg_lsn, pg_last_wal_replay_lsn())::text as bytes,
               case when pg_last_wal_receive_lsn() is not distinct from pg_last_wal_replay_lsn() then 0
                    else (extract(epoch from clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000)::float8 end as ms,
               case when pg_is_in_recovery() then pg_is_wal_replay_paused() end as paused`.execute(this.db);
      const row = rows[0]!;
      return {
        reachable: !this.down,
        replayLagBytes: row.bytes === null ? null : Math.max(0, Number(row.bytes)),
        replayLagMs: row.ms === null ? null : Math.max(0, Math.round(row.ms)),
        replayPaused: row.paused,
      };
    } catch (error) {
      if (isConnectionLost(error)) return { reachable: false, replayLagBytes: null, replayLagMs: null, replayPaused: null };
      throw error;
    }
  }

  close(): Promise<void> {
    return this.backend.close();
  }
}
