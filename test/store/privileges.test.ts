import { randomBytes } from "node:crypto";
import { afterAll, expect, it } from "vitest";
import { connect } from "../../src/index.js";
import { CustomerTotals, Order } from "../support/aggregates.js";
import { describePostgres, postgresUrl } from "../support/backends.js";
import { QUIET } from "../support/quiet-logger.js";

describePostgres("running with a role that cannot change the schema", ({ newStore, query }) => {
  const role = `meowmx_app_${randomBytes(4).toString("hex")}`;
  afterAll(async () => {
    await query(`drop owned by ${role}`).catch(() => undefined);
    await query(`drop role if exists ${role}`);
  });

  it("appends, loads, subscribes and projects with run-time privileges only", async () => {
    const owner = await newStore();
    const schema = owner.schema;
    await query(`create role ${role} login`);
    await query(`grant usage on schema "${schema}" to ${role}`);
    await query(`grant select, insert, update, delete on all tables in schema "${schema}" to ${role}`);
    await query(`grant usage on all sequences in schema "${schema}" to ${role}`);
    const url = new URL(postgresUrl());
    url.username = role;
    url.password = "";
    const app = await connect({ connectionString: url.toString(), schema, migrate: false, logger: QUIET });
    try {
      await app.repository(Order).create("o-1", () => Order.events.OrderCreated({ customerId: "c-1", total: 3 }));
      expect(await app.repository(Order).get("o-1")).toMatchObject({ version: 1 });
      const totals = app.projection(CustomerTotals).start();
      await totals.caughtUp();
      expect(await totals.get("c-1")).toMatchObject({ orders: 1, total: 3 });
      await totals.rebuild();
      expect(await totals.get("c-1")).toMatchObject({ orders: 1, total: 3 });
      await expect(app.db.schema.dropTable(`${schema}.events`).execute()).rejects.toThrow(/must be owner|permission denied/);
      await expect(app.db.schema.createTable(`${schema}.intruder`).addColumn("x", "integer").execute()).rejects.toThrow(/permission denied/);
    } finally {
      await app.close();
    }
  });
});
