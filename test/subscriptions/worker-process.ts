/**
 * A worker process for the multi-process subscription tests: runs the "read-model" subscription,
 * writing one row per event through tx, until it is told to stop or killed.
 * Arguments: database URL, schema, lease in ms.
 */
import { connect } from "../../src/index.js";
import { QUIET } from "../support/quiet-logger.js";

const [url, schema, leaseMs] = process.argv.slice(2) as [string, string, string];
const store = await connect({ connectionString: url, schema, migrate: false, logger: QUIET });
store.subscribe({
  name: "read-model",
  batchSize: 20,
  leaseMs: Number(leaseMs),
  maxSleepMs: 500,
  handler: async (event, tx) => {
    await tx.db
      .insertInto(`${schema}.handled`)
      .values({ stream: event.aggregateId, version: event.version, worker: process.pid })
      .execute();
    // A little work per event keeps batches open long enough to be killed in the middle of one.
    await new Promise((resolve) => setTimeout(resolve, 1));
  },
});
process.on("SIGTERM", () => {
  void store.close().then(() => process.exit(0));
});
process.stdout.write("ready\n");
