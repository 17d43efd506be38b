import type { Kysely } from "kysely";
import type { Backend } from "../database/backend.js";
import type { ReadReplica } from "../database/read-replica.js";
import { EventLog, type EventLogConfig } from "../log/event-log.js";
import type { ReadOptions, RecordedEvent } from "../log/events.js";
import type { Logger } from "../logger.js";
import type { Projection } from "../projections/define-projection.js";
import type { PersonalData } from "../personal-data/personal-data.js";
import type { AnyAggregate } from "../aggregates/define-aggregate.js";
import type { Checkpoints } from "../tables/checkpoints.js";
import type { ParkedEvents } from "../tables/parked-events.js";
import type { ProjectionStates } from "../tables/projection-states.js";
import type { ProjectionVersions } from "../tables/projection-versions.js";
import type { RebuildTables } from "../tables/rebuild-tables.js";
import { SnapshotStore } from "../tables/snapshots.js";
import type { MeowmxTables } from "../database/tables.js";
import type { Telemetry } from "../telemetry/telemetry.js";
import { KeyedQueue, type LeftByCommand } from "./keyed-queue.js";

/** The gateways of meowmx's tables besides the log's and the snapshots': each call takes the database it runs on. */
export interface Tables {
  readonly checkpoints: Checkpoints;
  readonly parkedEvents: ParkedEvents;
  readonly projectionStates: ProjectionStates;
  readonly projectionVersions: ProjectionVersions;
  readonly rebuilds: RebuildTables;
}

/** How a store's scopes are made: its database, its tables, and what every scope shares. */
export interface ScopeSetup<Tx> {
  readonly backend: Pick<Backend, "db" | "transaction">;
  readonly log: EventLogConfig;
  readonly tables: Tables;
  readonly logger: Logger;
  readonly telemetry: Telemetry;
  /** The read replica and the log on it, when there is one. */
  readonly replica?: { readonly reads: Pick<ReadReplica, "run">; readonly log: EventLog };
  /** Seals and opens personal data. */
  readonly personalData: PersonalData;
  /** The projections this store knows by name (inline ones and those it opened): whose states a deleted stream's removal reaches. */
  readonly projections: Map<string, Projection<any, any>>;
  /** The face a transaction shows to handlers and to `store.transaction`'s function. */
  session(scope: TransactionScope<Tx>): Tx;
  /** Announces that events committed. */
  committed(): void;
}

/**
 * A unit of work: the pool, or one open transaction, with the log and the snapshots bound to it and
 * the other tables' gateways. What is read or written through a scope runs there, and
 * `transaction(work)` runs `work` in one transaction: a new one on the pool's scope, this one on a
 * transaction's. Repositories, subscriptions, projections and sessions all stand on one.
 */
export class Scope<Tx = unknown> {
  /** Kysely over the pool or the open transaction. */
  readonly db: Kysely<MeowmxTables>;
  readonly log: EventLog;
  readonly snapshots: SnapshotStore;

  constructor(
    readonly kind: "pool" | "transaction",
    db: Kysely<any>,
    protected readonly setup: ScopeSetup<Tx>,
    /** Runs work in one transaction. */
    private readonly begin: <T>(work: (scope: TransactionScope<Tx>) => Promise<T>) => Promise<T>,
    written: () => void,
    /** Where the commands of one stream queue up in this process: on the pool only, since inside a transaction waiting for another transaction's command could wait for a lock this one holds. */
    readonly queue?: KeyedQueue<LeftByCommand>,
  ) {
    this.db = db;
    this.log = new EventLog(
      db,
      setup.log,
      kind === "pool" ? { kind, written, transaction: (work) => begin((scope) => work(scope.log)) } : { kind, written },
    );
    this.snapshots = new SnapshotStore(db, setup.log.schema);
  }

  get schema(): string {
    return this.setup.log.schema;
  }

  /** The declared SQL type of aggregate ids, for argument checks. */
  get aggregateIdType(): string {
    return this.setup.log.aggregateIdType.declared;
  }

  get tables(): Tables {
    return this.setup.tables;
  }

  get personalData(): PersonalData {
    return this.setup.personalData;
  }

  /**
   * `events` with their personal values opened (through `db`, default this scope's), when some
   * definition among `definitions` has any; as they are otherwise.
   */
  async reveal<E extends { readonly data: unknown }>(events: ReadonlyArray<E>, definitions: ReadonlyArray<AnyAggregate>, db: Kysely<any> = this.db): Promise<ReadonlyArray<E>> {
    return definitions.some((definition) => definition.holdsPersonalData) ? this.setup.personalData.reveal(db, events) : events;
  }

  get projections(): Map<string, Projection<any, any>> {
    return this.setup.projections;
  }

  get logger(): Logger {
    return this.setup.logger;
  }

  get telemetry(): Telemetry {
    return this.setup.telemetry;
  }

  /** Whether batches are read from a read replica, which may be behind the primary. */
  get readsFromReplica(): boolean {
    return this.setup.replica !== undefined;
  }

  /** Runs `work` in one transaction: a new one (announced once committed), or the one this scope is. */
  transaction<T>(work: (scope: TransactionScope<Tx>) => Promise<T>): Promise<T> {
    return this.begin(work);
  }

  /**
   * Runs a read where the contract puts event reads: on the read replica's log when there is one
   * (on this scope's when the replica does not answer), on this scope's log otherwise.
   */
  onReplica<T>(read: (log: EventLog) => Promise<T>): Promise<T> {
    const { replica } = this.setup;
    return replica === undefined ? read(this.log) : replica.reads.run(() => read(replica.log), () => read(this.log));
  }

  /** A page of the log in commit order, read where {@link onReplica} reads. */
  readEvents(options: ReadOptions): Promise<RecordedEvent[]> {
    return this.onReplica((log) => log.read(options));
  }

  /** The position of the newest event readers can see, or undefined when there is none. */
  async headPosition(): Promise<string | undefined> {
    const [newest] = await this.log.read({ direction: "backward", limit: 1 });
    return newest?.position;
  }
}

/** The scope of one open transaction, with the session its work gets. */
export class TransactionScope<Tx> extends Scope<Tx> {
  /** What handlers and `store.transaction`'s function get: a session bound to this transaction. */
  readonly session: Tx;

  constructor(trx: Kysely<any>, setup: ScopeSetup<Tx>, written: () => void) {
    super("transaction", trx, setup, (work) => work(this), written);
    this.session = setup.session(this);
  }
}

/** The scope of a store's pool, from which every transaction scope is opened. */
export function poolScope<Tx>(setup: ScopeSetup<Tx>): Scope<Tx> {
  const begin = async <T>(work: (scope: TransactionScope<Tx>) => Promise<T>): Promise<T> => {
    let wrote = false;
    const result = await setup.backend.transaction((trx) => work(new TransactionScope(trx, setup, () => (wrote = true))));
    if (wrote) setup.committed();
    return result;
  };
  return new Scope("pool", setup.backend.db, setup, begin, () => setup.committed(), new KeyedQueue<LeftByCommand>());
}
