import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { connect, InvalidArgumentError } from "../../src/index.js";
import { describePostgres, postgresUrl } from "../support/backends.js";
import { QUIET } from "../support/quiet-logger.js";
import { readSettled } from "../support/eventually.js";

describePostgres("connect", ({ newSchema, query }) => {
  const saved = { DATABASE_URL: process.env.DATABASE_URL, MEOWMX_DATABASE_URL: process.env.MEOWMX_DATABASE_URL };
  afterEach(() => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  it("uses an existing pg.Pool and leaves it open on close", async () => {
    const pool = new pg.Pool({ connectionString: postgresUrl(), max: 2 });
    const store = await connect({ pool, schema: newSchema() });
    await store.append("order", "o-1", [{ type: "A", data: 1 }]);
    await store.close();
    await store.close();
    expect((await pool.query("select 1 as one")).rows).toEqual([{ one: 1 }]);
    await pool.end();
  });

  it("prepares the append and load statements once per connection, one name per schema, on a shared pool", async () => {
    const pool = new pg.Pool({ connectionString: postgresUrl(), max: 1 });
    const [first, second] = [await connect({ pool, schema: newSchema() }), await connect({ pool, schema: newSchema() })];
    for (const store of [first, second, first]) {
      await store.append("order", "o-1", [{ type: "A", data: 1 }], { expectedVersion: 0 }).catch(() => undefined);
      await store.append("order", "o-1", [{ type: "B", data: 2 }]);
      await store.load("order", "o-1");
    }
    expect((await first.load("order", "o-1")).map((e) => e.type)).toEqual(["A", "B", "B"]);
    expect((await second.load("order", "o-1")).map((e) => e.type)).toEqual(["A", "B"]);
    const { rows } = await pool.query<{ name: string; statement: string }>("select name, statement from pg_prepared_statements");
    const ours = rows.filter((row) => row.name.startsWith("meowmx_"));
    // Per schema: the new-stream insert, the general append, and the load.
    expect(ours).toHaveLength(6);
    expect(new Set(ours.map((row) => row.name)).size).toBe(6);
    for (const store of [first, second]) expect(ours.filter((row) => row.statement.includes(`"${store.schema}".`))).toHaveLength(3);
    await first.close();
    await second.close();
    await pool.end();
  });

  it("prepares nothing with preparedStatements: false", async () => {
    const pool = new pg.Pool({ connectionString: postgresUrl(), max: 1 });
    const store = await connect({ pool, schema: newSchema(), preparedStatements: false });
    await store.append("order", "o-1", [{ type: "A", data: 1 }], { expectedVersion: 0 });
    await store.append("order", "o-1", [{ type: "B", data: 2 }], { expectedVersion: 1 });
    expect((await store.load("order", "o-1")).map((e) => e.version)).toEqual([1, 2]);
    expect((await pool.query("select name from pg_prepared_statements")).rows).toEqual([]);
    await store.close();
    await pool.end();
  });

  it("picks MEOWMX_DATABASE_URL, then DATABASE_URL, when given no database", async () => {
    delete process.env.DATABASE_URL;
    process.env.MEOWMX_DATABASE_URL = postgresUrl();
    const schema = newSchema();
    const store = await connect({ schema });
    expect(store.backendKind).toBe("postgres");
    await store.append("order", "o-1", [{ type: "A", data: 1 }]);
    await store.close();
    delete process.env.MEOWMX_DATABASE_URL;
    process.env.DATABASE_URL = postgresUrl();
    const again = await connect({ schema });
    expect(again.backendKind).toBe("postgres");
    expect(await readSettled(again)).toHaveLength(1);
    await again.close();
    expect(await query(`select count(*)::int as n from "${schema}".events`)).toEqual([{ n: 1 }]);
  });

  it("refuses two databases at once and unsafe names", async () => {
    await expect(connect({ dataDir: "memory://", connectionString: postgresUrl() })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(connect({ connectionString: postgresUrl(), schema: 'x"; drop schema public; --' })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(connect({ connectionString: postgresUrl(), aggregateIdType: "text); drop table x; --" })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe("stores sharing one embedded database", () => {
  it("connect at the same moment and keep their transactions apart", async () => {
    const pglite = await PGlite.create();
    try {
      const stores = await Promise.all([0, 1, 2].map((i) => connect({ pglite, schema: i === 2 ? "other" : "shared", logger: QUIET })));
      await Promise.all(
        stores.map((store, i) =>
          store.transaction(async (tx) => {
            await tx.append("order", `o-${i}`, [{ type: "A", data: i }]);
            await new Promise((resolve) => setTimeout(resolve, 5));
            if (i === 1) throw new Error("roll back");
          }).catch(() => undefined),
        ),
      );
      expect((await readSettled(stores[0]!)).map((e) => e.aggregateId)).toEqual(["o-0"]);
      expect((await readSettled(stores[2]!)).map((e) => e.aggregateId)).toEqual(["o-2"]);
      await Promise.all(stores.map((store) => store.close()));
    } finally {
      await pglite.close();
    }
  });
});
