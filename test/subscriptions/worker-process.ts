/**
 * A worker process for the multi-process subscription tests: runs the "read-model" subscription,
 * writing one row per event through tx (`handler`), or one multi-row insert per batch
 * (`handleBatch`), until it is told to stop or killed. Events of type Poison fail; they are parked.
 * An event of type Crash ends the process at once (exit code 70), as an out-of-memory would.
 * Arguments: database URL, schema, lease in ms, "handler" or "handleBatch", and optionally a read
 * replica's URL ("" for none) and the number of partitions.
 */
import { connect, type RecordedEvent, type TransactionSession } from "../../src/index.js";
import { QUIET } from "../support/quiet-logger.js";

const [url, schema, leaseMs, mode, replicaUrl = "", partitions = "1"] = process.argv.slice(2) as [string, string, string, "handler" | "handleBatch", string?, string?];
const readReplica = replicaUrl === "" ? undefined : { connectionString: replicaUrl };
const store = await connect({ connectionString: url, schema, migrate: false, logger: QUIET, readReplica });
const rows = async (events: RecordedEvent[], tx: TransactionSession) => {
  if (events.some((event) => event.type === "Crash")) process.exit(70);
  if (events.some((event) => event.type === "Poison")) throw new Error("poison");
  await tx.db
    .insertInto(`${schema}.handled`)
    .values(events.map((event) => ({ stream: event.aggregateId, version: event.version, worker: process.pid })))
    .execute();
  // A little work per batch keeps batches open long enough to be killed in the middle of one.
  await new Promise((resolve) => setTimeout(resolve, 1));
};
const options = { name: "read-model", batchSize: 20, leaseMs: Number(leaseMs), partitions: Number(partitions), maxSleepMs: 500, onError: "park", maxAttempts: 2, retryDelayMs: 10 } as const;
store.subscribe(mode === "handleBatch" ? { ...options, handleBatch: rows } : { ...options, handler: (event, tx) => rows([event], tx) });
process.on("SIGTERM", () => {
  void store.close().then(() => process.exit(0));
});
process.stdout.write("ready\n");
