// The README's code, compiled by the type check (not run: it shows every way to connect).
import pg from "pg";
import { connect, isConcurrencyError, type Store } from "meowmx";

export async function connecting() {
  // #region connect
  const embedded = await connect(); // embedded PGlite, in memory (or DATABASE_URL when set)
  const kept = await connect({ dataDir: "./.meowmx" }); // embedded PGlite, kept on disk
  const server = await connect({ connectionString: process.env.DATABASE_URL }); // PostgreSQL
  const shared = await connect({ pool: new pg.Pool({ connectionString: process.env.DATABASE_URL }) });
  const custom = await connect({ schema: "shop", aggregateIdType: "uuid", migrate: false, listen: false });
  // #endregion connect
  return [embedded, kept, server, shared, custom];
}

export async function eventLog(store: Store, position: string) {
  // #region event-log
  await store.append("order", "o-1", [{ type: "OrderCreated", data: { total: 5 } }], { expectedVersion: 0 });
  await store.load("order", "o-1", { fromVersion: 2, direction: "backward", limit: 10 });
  await store.append("order", "o-1", [{ type: "OrderPaid", data: {} }], { expectedVersion: "exists" }); // at least one event
  await store.read({ aggregateTypes: ["order"], after: position, limit: 100 });
  await store.read({ direction: "backward", before: position, limit: 10 }); // newest first
  await store.headPosition(); // the newest event readers can see, or undefined
  for await (const event of store.readAll()) console.log(event.position, event.type);
  await store.transaction(
    async (tx) => {
      await tx.append("order", "o-1", [{ type: "OrderPaid", data: {} }], { expectedVersion: 1 });
      await tx.db.insertInto("payments").values({ order_id: "o-1" }).execute(); // your own table, same transaction
    },
    { maxAttempts: 5 }, // runs again on a ConcurrencyError
  );
  try {
    await store.append("order", "o-1", [{ type: "OrderCreated", data: {} }], { expectedVersion: 0 });
  } catch (error) {
    if (isConcurrencyError(error)) console.log(`expected ${error.expectedVersion}, found ${error.actualVersion}`);
  }
  // #endregion event-log
}

export async function subscribing(store: Store) {
  // #region subscribe
  const sub = store.subscribe({
    name: "order-read-model", // the durable checkpoint's name
    aggregateTypes: ["order"], // omit for every category
    batchSize: 100, // events per transaction
    maxSleepMs: 30_000, // idle polling backs off up to this; a commit wakes it at once
    handler: async (event, tx) => {
      await tx.db.insertInto("orders").values({ id: event.aggregateId, status: event.type }).execute();
    },
  });
  await sub.caughtUp({ timeoutMs: 10_000 }); // everything committed before the call has been handled
  await store.subscriptionStatus(); // per partition: position, lag, owner, last error, parked events
  await sub.stop(); // finishes the batch in hand, hands its lease back
  const shipping = store.subscribe({
    name: "shipping-emails",
    startFrom: "end", // a new checkpoint starts after the newest event ("beginning" by default, or a position)
    eventTypes: ["OrderShipped"], // the checkpoint moves past the other types
    handler: async (event) => console.log(`email for ${event.aggregateId}`),
  });
  await store.resetSubscription("order-read-model", "beginning"); // or "end", or a position
  // #endregion subscribe
  return shipping;
}
