import { sql } from "kysely";
import type { ReadOptions, RecordedEvent, Store, TransactionSession } from "../../src/index.js";

/** Waits `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it is true (a failing check counts as false), or fails naming `what` after `ms`. */
export async function eventually(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * Waits until every event committed in the store's schema is readable: `read` holds events back
 * while any older transaction in the database is open, and tests running at the same time open
 * some on purpose.
 */
export async function settled(store: Store): Promise<void> {
  await eventually(
    async () => {
      const { rows } = await sql<{ settled: boolean }>`
        select coalesce(max(transaction_id), '0'::xid8) < pg_snapshot_xmin(pg_current_snapshot()) as settled
        from ${sql.id(store.schema, "events")}`.execute(store.db);
      return rows[0]?.settled === true;
    },
    60_000,
    "older transactions to end",
  );
}

/** `store.read(options)` once every committed event is readable. */
export async function readSettled(store: Store, options?: ReadOptions): Promise<RecordedEvent[]> {
  await settled(store);
  return store.read(options);
}

/** A transaction kept open on purpose: what its first step returned, and how to end it. */
export interface HeldTransaction<T> {
  readonly value: T;
  /** Lets the transaction commit, and resolves once it has. */
  release(): Promise<void>;
}

/** Runs `begin` in a transaction of `store`, then keeps the transaction open until `release()`. */
export async function holdOpen<T>(store: Store, begin: (tx: TransactionSession) => Promise<T>): Promise<HeldTransaction<T>> {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let began!: (value: T) => void;
  const value = new Promise<T>((resolve) => (began = resolve));
  const done = store.transaction(async (tx) => {
    began(await begin(tx));
    await held;
  });
  // A transaction that fails before it is held must fail the test, not leave it waiting.
  const first = await Promise.race([value, done.then(() => undefined as never)]);
  return {
    value: first,
    release: async () => {
      release();
      await done;
    },
  };
}
