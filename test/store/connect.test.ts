import pg from "pg";
import { afterEach, expect, it } from "vitest";
import { connect, InvalidArgumentError } from "../../src/index.js";
import { describePostgres, postgresUrl } from "../support/backends.js";

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
    expect(await again.read()).toHaveLength(1);
    await again.close();
    expect(await query(`select count(*)::int as n from "${schema}".events`)).toEqual([{ n: 1 }]);
  });

  it("refuses two databases at once and unsafe names", async () => {
    await expect(connect({ dataDir: "memory://", connectionString: postgresUrl() })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(connect({ connectionString: postgresUrl(), schema: 'x"; drop schema public; --' })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(connect({ connectionString: postgresUrl(), aggregateIdType: "text); drop table x; --" })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});
