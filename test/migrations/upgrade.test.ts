import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { expect, it } from "vitest";
import { MIGRATIONS } from "../../src/migrations/migrations.js";
import { Order } from "../support/aggregates.js";
import { describeEachBackend } from "../support/backends.js";

describeEachBackend("upgrading a database made by the first release", ({ newSchema, newStore, query }) => {
  it("migrates it to the latest schema and keeps its events and checkpoints", async () => {
    const schema = newSchema();
    const fixture = await readFile(join(import.meta.dirname, "fixtures/0001-event-log.sql"), "utf8");
    for (const statement of fixture.replaceAll("__SCHEMA__", `"${schema}"`).split(";\n").map((s) => s.replace(/^--.*$/gm, "").trim()).filter(Boolean)) {
      await query(statement);
    }
    const store = await newStore({ schema });
    const applied = await query<{ name: string }>(`select name from "${schema}".kysely_migration order by name`);
    expect(applied.map((row) => row.name)).toEqual(MIGRATIONS.map((migration) => migration.name));
    expect(await store.repository(Order).load("o-1")).toEqual({ state: { status: "shipped", customerId: "c-1", total: 5 }, version: 2 });
    expect((await store.load("order", "o-1"))[1]!.metadata).toEqual({ correlationId: "k" });
    await store.repository(Order).create("o-2", () => Order.events.OrderCreated({ customerId: "c-2", total: 1 }));
    const sub = store.subscribe({ name: "old-subscription", handler: () => {} });
    await sub.caughtUp();
    expect((await sub.status())[0]).toMatchObject({ lag: 0, partitions: 1 });
  });
});
