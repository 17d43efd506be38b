import { expect, it } from "vitest";
import { connect } from "../../src/index.js";
import { MIGRATIONS } from "../../src/migrations/migrations.js";
import { describeEachBackend, describePostgres, postgresUrl } from "../support/backends.js";
import { readSettled } from "../support/eventually.js";

/** The shape of a schema: columns, constraints and indexes, without the schema's name. */
const CATALOG = `
  select 'column' as kind, c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
         || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '') || case when a.attnotnull then ' not null' else '' end as text
  from pg_class c join pg_namespace n on n.oid = c.relnamespace join pg_attribute a on a.attrelid = c.oid
  left join pg_attrdef d on d.adrelid = c.oid and d.adnum = a.attnum
  where n.nspname = $1 and a.attnum > 0 and not a.attisdropped
  union all
  select 'index', replace(pg_get_indexdef(i.indexrelid), quote_ident($1) || '.', '')
  from pg_index i join pg_class c on c.oid = i.indrelid join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1
  union all
  select 'constraint', con.conname || ' ' || pg_get_constraintdef(con.oid)
  from pg_constraint con join pg_namespace n on n.oid = con.connamespace where n.nspname = $1
  order by 1, 2`;

describeEachBackend("migrations", ({ newStore, newSchema, query }) => {
  it("are idempotent and recorded in the schema", async () => {
    const store = await newStore();
    await store.migrate();
    await store.migrate();
    const applied = await query<{ name: string }>(`select name from "${store.schema}".kysely_migration order by name`);
    expect(applied.map((row) => row.name)).toEqual(MIGRATIONS.map((m) => m.name));
  });

  it("print DDL that, applied by hand, gives the same schema as migrate()", async () => {
    const migrated = await newStore({ aggregateIdType: "char(20)" });
    const byHand = newSchema();
    const script = migrated.migrationSql().replaceAll(`"${migrated.schema}"`, `"${byHand}"`);
    for (const statement of script.split(";\n").map((s) => s.trim()).filter(Boolean)) await query(statement);
    const shape = async (schema: string) => (await query<{ text: string }>(CATALOG, [schema])).map((row) => row.text);
    expect(await shape(byHand)).toEqual(await shape(migrated.schema));
    expect((await shape(byHand)).some((text) => text.includes("aggregate_id character(20)"))).toBe(true);
    // A later connect sees the hand-made schema as up to date and uses it.
    const store = await newStore({ schema: byHand, aggregateIdType: "char(20)" });
    await store.append("order", "o-1", [{ type: "A", data: 1 }]);
    expect(await query(`select count(*)::int as n from "${byHand}".kysely_migration`)).toEqual([{ n: MIGRATIONS.length }]);
  });

  it("wait for migrate() when connect is told not to migrate", async () => {
    const store = await newStore({ migrate: false });
    await expect(store.read()).rejects.toThrow();
    await store.migrate();
    await store.append("order", "o-1", [{ type: "A", data: 1 }]);
    expect(await readSettled(store)).toHaveLength(1);
  });
});

describePostgres("migrations from many processes", ({ newSchema }) => {
  it("apply once when 8 stores connect to a new schema at the same moment", async () => {
    const schema = newSchema();
    const stores = await Promise.all(Array.from({ length: 8 }, () => connect({ connectionString: postgresUrl(), schema })));
    try {
      await Promise.all(stores.map((store, i) => store.append("order", `o-${i}`, [{ type: "A", data: i }])));
      expect(await readSettled(stores[0]!)).toHaveLength(8);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });
});
