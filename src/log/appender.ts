import { CompiledQuery, type Kysely, sql } from "kysely";
import { SQLSTATE, sqlStateOf } from "../database/database-errors.js";
import { ConcurrencyError, InvalidEventError } from "../errors.js";
import type { MeowmxTables } from "../database/tables.js";
import { type Appended, type AppendRow, expectedParameter, type InsertedRow, type statementsOf, stored } from "./append-statement.js";
import { EVENT_COLUMNS, type EventRow, toRecordedEvent } from "./event-rows.js";
import type { AppendResult, ExpectedVersion, RecordedEvent } from "./events.js";
import { refusal, type StreamSql } from "./stream-sql.js";
import { type PreparedEvents, versionMatches } from "./inputs.js";

/** Work run inside the transaction of every append to the categories it applies to. */
export interface AppendHook {
  appliesTo(aggregateType: string): boolean;
  /** Runs after the events are stored, on the append's transaction; a throw rolls the append back. */
  afterAppend(events: ReadonlyArray<RecordedEvent>, db: Kysely<MeowmxTables>): Promise<void>;
}

/** How often an append statement runs again after losing a race for its versions. */
export const MAX_APPEND_ATTEMPTS = 100;

/**
 * Writes a checked batch to a stream at the expected version: the statement, its runs again after a
 * lost race, the savepoint that keeps an enclosing transaction usable, and every conflict it meets,
 * each reported by {@link conflict}.
 */
export class Appender {
  constructor(
    private readonly db: Kysely<MeowmxTables>,
    private readonly stream: StreamSql,
    private readonly statements: ReturnType<typeof statementsOf>,
    /** Whether it runs inside a transaction that its caller owns (then it works in a savepoint). */
    private readonly inTransaction: boolean,
  ) {}

  async appendNothing(aggregateType: string, aggregateId: string, expected: ExpectedVersion): Promise<AppendResult> {
    const { status, head: version } = await this.stream.withTypedIds(() => this.stream.stateOf(this.db, aggregateType, aggregateId));
    if (status !== null) throw refusal(status, aggregateType, aggregateId);
    if (!versionMatches(expected, version)) throw await this.conflict(aggregateType, aggregateId, expected, { head: version });
    return { version, events: [] };
  }

  /**
   * Runs the append statement until it settles. When it loses a race for the same versions, it runs
   * again and then sees the winner: with a numeric expected version that is a ConcurrencyError (or,
   * when the winner stored these very events, their stored copies: a retry is not a conflict); with
   * "any", the next free versions.
   */
  async appendAtVersion(
    aggregateType: string,
    aggregateId: string,
    prepared: PreparedEvents,
    expected: ExpectedVersion,
    hook: AppendHook | undefined,
    /** False when its group tried it already and stored nothing: then the full statement runs first. */
    plainInsertFirst = true,
  ): Promise<Appended> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= MAX_APPEND_ATTEMPTS; attempt++) {
      try {
        // A new stream has no head to read and no order to keep: its first attempt is a plain insert
        // at versions 1..n, which the unique (stream, version) key guards. When it loses, the full
        // statement runs again and tells why.
        const newStream = plainInsertFirst && attempt === 1 && expected === 0 && !prepared.idsGiven;
        return await this.inSavepoint(async () => {
          const appended =
            (newStream ? await this.insertNewStream(aggregateType, aggregateId, prepared) : undefined) ??
            (await this.insert(aggregateType, aggregateId, prepared, expected));
          // Inside the savepoint, so that the hook's failure takes the events with it even when the
          // caller catches it and commits. A retried append that finds its events stored already has
          // had its effects.
          if (appended.fresh && hook !== undefined) await hook.afterAppend(appended.result.events, this.db);
          return appended;
        });
      } catch (error) {
        const state = sqlStateOf(error);
        if (state === SQLSTATE.deadlockDetected || state === SQLSTATE.serializationFailure) {
          // Two transactions appending to the same streams in opposite orders: one must start over.
          throw await this.conflict(aggregateType, aggregateId, expected, {
            needsNewTransaction: true,
            reason: `${(error as Error).message} with a concurrent transaction; run this transaction again`,
          });
        }
        if (state !== SQLSTATE.uniqueViolation) throw error;
        lastError = error;
        if (attempt === 1 && this.inTransaction && (await this.seesOneSnapshot())) {
          // Running the statement again would read the same snapshot, without the winner's events.
          throw await this.conflict(aggregateType, aggregateId, expected, {
            needsNewTransaction: true,
            reason: "another transaction appended to it meanwhile, and this one (repeatable read or serializable) cannot see that; run this transaction again",
            cause: error,
          });
        }
      }
    }
    throw await this.conflict(aggregateType, aggregateId, expected, { cause: lastError });
  }

  /** Whether the open transaction reads one snapshot throughout (repeatable read or serializable). */
  private async seesOneSnapshot(): Promise<boolean> {
    const { rows } = await sql<{ level: string }>`select current_setting('transaction_isolation') as level`.execute(this.db);
    return rows[0]?.level !== "read committed";
  }

  /** Runs `work` so that its failure leaves an enclosing transaction usable, to run it again or go on. */
  private async inSavepoint<T>(work: () => Promise<T>): Promise<T> {
    if (!this.inTransaction) return work();
    await sql`savepoint meowmx_append`.execute(this.db);
    try {
      const result = await work();
      await sql`release savepoint meowmx_append`.execute(this.db);
      return result;
    } catch (error) {
      await sql`rollback to savepoint meowmx_append`.execute(this.db);
      throw error;
    }
  }

  /**
   * One statement: read the stream's head, look for the given event ids, and insert the batch at the
   * following versions when the head is as expected. A concurrent writer of the same versions makes
   * the unique (stream, version) key fail, which the caller turns into a conflict.
   *
   * Readers order events by transaction id, so a stream's versions must never go back in transaction
   * id. A transaction that got its id before another one appended to the stream and committed (it
   * wrote something earlier, or lost a race inside a savepoint) may not append after it: that is a
   * conflict too, and running the whole transaction again gives it a newer id.
   */
  private async insert(
    aggregateType: string,
    aggregateId: string,
    prepared: PreparedEvents,
    expected: ExpectedVersion,
  ): Promise<Appended> {
    return this.settle(aggregateType, aggregateId, prepared, expected, await this.appendRow(aggregateType, aggregateId, prepared, expected));
  }

  /** Runs the append statement and returns its row, unread. */
  async appendRow(aggregateType: string, aggregateId: string, prepared: PreparedEvents, expected: ExpectedVersion): Promise<AppendRow> {
    const { rows } = await this.db.executeQuery<AppendRow>(
      CompiledQuery.raw(this.statements.append, [aggregateType, aggregateId, prepared.json, expectedParameter(expected), prepared.idsGiven]),
    );
    const first = rows[0];
    if (first === undefined) throw new Error("append statement returned no row");
    return first;
  }

  /**
   * What an append statement's row means for the append: its events as stored, or the error that
   * tells why it stored none. For a lone append's statement and for each member of a group's alike.
   */
  async settle(aggregateType: string, aggregateId: string, prepared: PreparedEvents, expected: ExpectedVersion, first: AppendRow): Promise<Appended> {
    if (first.sequences === null) {
      if (first.status !== null) throw refusal(first.status, aggregateType, aggregateId);
      if (first.duplicates > 0) return this.alreadyStored(aggregateType, aggregateId, prepared, first.head);
      if (!first.in_order && versionMatches(expected, first.head)) {
        throw await this.conflict(aggregateType, aggregateId, expected, {
          head: first.head,
          needsNewTransaction: true,
          reason: "a transaction that began after this one appended to it first; run this transaction again",
        });
      }
      throw await this.conflict(aggregateType, aggregateId, expected, { head: first.head });
    }
    return stored(aggregateType, prepared, first as InsertedRow);
  }

  /**
   * The append to a stream expected not to exist: a plain insert, refused by the unique key if it
   * does. Undefined when the stream has a lifecycle row (archived, deleted or truncated to nothing):
   * then the full statement tells what stands in the way.
   */
  private async insertNewStream(aggregateType: string, aggregateId: string, prepared: PreparedEvents): Promise<Appended | undefined> {
    const row = await this.newStreamRow(aggregateType, aggregateId, prepared);
    return row === undefined ? undefined : stored(aggregateType, prepared, row);
  }

  /** Runs the plain insert of a new stream; its row, or undefined when the stream's lifecycle row stopped it. */
  async newStreamRow(aggregateType: string, aggregateId: string, prepared: PreparedEvents): Promise<InsertedRow | undefined> {
    const { rows } = await this.db.executeQuery<InsertedRow | { sequences: null }>(
      CompiledQuery.raw(this.statements.newStream, [aggregateType, aggregateId, prepared.json]),
    );
    const row = rows[0]!;
    return row.sequences === null ? undefined : row;
  }

  /** A repeated append of events already in the stream settles to the stored events. */
  private async alreadyStored(
    aggregateType: string,
    aggregateId: string,
    prepared: PreparedEvents,
    head: number,
  ): Promise<Appended> {
    const { rows } = await sql<EventRow>`
      select ${EVENT_COLUMNS} from ${this.stream.events}
      where ${this.stream.isStream(aggregateType, aggregateId)} and event_id = any(${prepared.ids}::uuid[])
      order by version`.execute(this.db);
    if (rows.length !== prepared.ids.length) {
      throw new InvalidEventError(
        `${rows.length} of the ${prepared.ids.length} events are already stored in ${aggregateType}/${aggregateId}: ` +
          "a retried append must repeat the same events",
      );
    }
    return { result: { version: head, events: rows.map(toRecordedEvent) }, fresh: false };
  }

  /**
   * The one way the log reports a conflict: with the stream's head (read now unless the statement
   * that found the conflict returned it), and why when it is not the plain version mismatch.
   */
  private async conflict(
    aggregateType: string,
    aggregateId: string,
    expected: ExpectedVersion,
    { head, ...why }: { head?: number; needsNewTransaction?: boolean; reason?: string; cause?: unknown },
  ): Promise<ConcurrencyError> {
    return new ConcurrencyError(aggregateType, aggregateId, expected, head ?? (await this.stream.headOf(this.db, aggregateType, aggregateId)), why);
  }
}
