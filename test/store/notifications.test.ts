import { expect, inject, it } from "vitest";
import { connect } from "../../src/index.js";
import { describePostgres, postgresUrl } from "../support/backends.js";
import { sleep } from "../support/eventually.js";
import { recordingLogger } from "../support/quiet-logger.js";

// Run directly (npm test) and through PgBouncer in transaction mode (MEOWMX_TEST_POOLER=pgbouncer, in CI).
describePostgres("commit notifications", ({ newSchema }) => {
  it(inject("pooled") ? "warn, through a pooler in transaction mode, that they cannot arrive" : "arrive from another store, and nothing warns", async () => {
    const logger = recordingLogger();
    const schema = newSchema();
    const store = await connect({ connectionString: postgresUrl(), schema, logger, preparedStatements: !inject("pooled") });
    const writer = await connect({ connectionString: postgresUrl(), schema, logger, preparedStatements: !inject("pooled") });
    try {
      const seen: string[] = [];
      const sub = store.subscribe({ name: "listening", maxSleepMs: 60_000, handler: (event) => void seen.push(event.aggregateId) });
      await sub.caughtUp();
      await sleep(2500);
      await writer.append("order", "o-1", [{ type: "Created", data: {} }]);
      await sleep(500);
      const probeWarnings = logger.warnings.filter((warning) => /do not arrive/.test(warning));
      if (inject("pooled")) {
        expect(probeWarnings).toHaveLength(1);
        expect(probeWarnings[0]).toMatch(/PgBouncer.*listen: false/);
      } else {
        expect(probeWarnings).toEqual([]);
        // Woken by the other store's NOTIFY, long before its 60 s idle sleep would end.
        expect(seen).toEqual(["o-1"]);
      }
      await sub.stop();
    } finally {
      await store.close();
      await writer.close();
    }
  });
});
