import { randomBytes } from "node:crypto";
import { sql } from "kysely";
import pg from "pg";
import { expect, it } from "vitest";
import { z } from "zod";
import {
  connect,
  defineAggregate,
  defineProjection,
  EncryptionKeyError,
  InvalidArgumentError,
  personalData,
  type RecordedEvent,
  type Store,
} from "../../src/index.js";
import { describeEachBackend, describePostgres, postgresUrl } from "../support/backends.js";
import { QUIET } from "../support/quiet-logger.js";

const EMAIL = "ada.lovelace@example.org";
const PHONE = "+44 20 7946 0958";
const STREET = "12 Analytical Engine Row";

/** A customer whose email, phone numbers (the values of a record) and optional street are personal. */
const Customer = defineAggregate({
  type: "customer",
  events: {
    Registered: z.object({
      email: personalData(z.string().email(), { forgotten: "forgotten@invalid.example" }),
      plan: z.string(),
      phones: z.record(z.string(), personalData(z.string(), { forgotten: "" })),
      address: z.object({ street: personalData(z.string(), { forgotten: "(forgotten)" }).optional(), city: z.string() }),
    }),
    PlanChanged: z.object({ plan: z.string() }),
    Noted: z.object({ note: personalData(z.string(), { forgotten: "(forgotten)" }), by: z.string() }),
  },
  initialState: { email: "", plan: "", phones: [] as string[], street: "", notes: [] as string[] },
  evolve: {
    Registered: (draft, data) => {
      draft.email = data.email;
      draft.plan = data.plan;
      draft.phones = Object.values(data.phones);
      draft.street = data.address.street ?? "";
    },
    PlanChanged: (draft, data) => {
      draft.plan = data.plan;
    },
    Noted: (draft, data) => {
      draft.notes.push(data.note);
    },
  },
  snapshotEvery: 2,
});

/** Notes are about whoever wrote them: the subject is `by`, not the stream. */
const Ticket = defineAggregate({
  type: "ticket",
  events: { Noted: z.object({ note: personalData(z.string(), { forgotten: "(forgotten)" }), by: z.string() }) },
  initialState: { notes: [] as string[] },
  evolve: {
    Noted: (draft, data) => {
      draft.notes.push(data.note);
    },
  },
  personalDataSubject: (event) => event.data.by,
});

/** Keeps each customer's email in clear, as a read model would. */
const Emails = defineProjection({
  name: "emails",
  from: [Customer],
  initialState: { email: "", plan: "" },
  evolve: {
    customer: {
      Registered: (draft, data) => {
        draft.email = data.email;
        draft.plan = data.plan;
      },
      PlanChanged: (draft, data) => {
        draft.plan = data.plan;
      },
    },
  },
});

const registered = (email = EMAIL) =>
  Customer.events.Registered({ email, plan: "basic", phones: { home: PHONE }, address: { street: STREET, city: "London" } });

/** The text of every row of every table in the store's schema. */
async function everyTableText(store: Store): Promise<string> {
  const { rows: tables } = await sql<{ name: string }>`
    select table_name as name from information_schema.tables where table_schema = ${store.schema} and table_type = 'BASE TABLE'`.execute(store.db);
  expect(tables.map((table) => table.name)).toEqual(expect.arrayContaining(["events", "snapshots", "projection_states", "personal_data_keys"]));
  let text = "";
  for (const { name } of tables) {
    const { rows } = await sql<{ row: string }>`select t::text as row from ${sql.id(store.schema, name)} as t`.execute(store.db);
    text += rows.map((row) => row.row).join("\n");
  }
  return text;
}

describeEachBackend("personal data", ({ newStore }) => {
  it("seals personal fields before they are stored, opens them for definitions, and after forget reads the forgotten values everywhere", async () => {
    const store = await newStore({ inlineProjections: [Emails] });
    const customers = store.repository(Customer);
    await customers.create("c-1", () => registered());
    await customers.update("c-1", () => Customer.events.Noted({ note: "prefers email", by: "agent-7" }));
    await store.append("customer", "c-2", [registered("grace@example.org")], { expectedVersion: 0 });
    const handled: RecordedEvent[] = [];
    const subscription = store.subscribe({ name: "typed", from: [Customer], handler: (event) => void handled.push(event) });
    await subscription.caughtUp();

    // Stored sealed: the events table never holds a personal value in clear.
    const { rows: stored } = await sql<{ data: string }>`select data::text as data from ${sql.id(store.schema, "events")}`.execute(store.db);
    expect(stored).toHaveLength(3);
    for (const value of [EMAIL, PHONE, STREET, "grace@example.org", "prefers email"]) expect(stored.some((row) => row.data.includes(value))).toBe(false);
    const raw = await store.load("customer", "c-1");
    expect(raw[0]!.data).toMatchObject({ plan: "basic", address: { city: "London" }, phones: { home: { forgotten: "" } } });
    expect((raw[0]!.data as { email: Record<string, unknown> }).email).toMatchObject({ forgotten: "forgotten@invalid.example" });

    // Opened for readers that go through definitions.
    expect((await customers.load("c-1")).state).toEqual({ email: EMAIL, plan: "basic", phones: [PHONE], street: STREET, notes: ["prefers email"] });
    expect((await store.revealPersonalData(raw))[0]!.data).toEqual({ email: EMAIL, plan: "basic", phones: { home: PHONE }, address: { street: STREET, city: "London" } });
    expect(await store.projection(Emails).get("c-1")).toEqual({ email: EMAIL, plan: "basic" });
    expect(handled.map((event) => (event.data as { email?: string }).email)).toEqual([EMAIL, undefined, "grace@example.org"]);
    expect((await store.checkEvents([Customer])).failed).toBe(0);
    // The snapshot (every 2 events) and the projection hold the email in clear: what forget must not leave behind.
    expect(await everyTableText(store)).toContain(EMAIL);

    await store.forget("c-1");
    expect(await everyTableText(store)).not.toContain(EMAIL);
    expect(await everyTableText(store)).not.toContain(PHONE);
    expect(await everyTableText(store)).toContain("grace@example.org"); // c-2's projection state is untouched
    expect((await customers.load("c-1")).state).toEqual({
      email: "forgotten@invalid.example",
      plan: "basic",
      phones: [""],
      street: "(forgotten)",
      notes: ["(forgotten)"], // a customer's events all have the stream as their subject
    });
    expect((await customers.load("c-2")).state.email).toBe("grace@example.org");
    expect(await store.projection(Emails).get("c-1")).toBeUndefined();
    expect(await store.projection(Emails).get("c-2")).toEqual({ email: "grace@example.org", plan: "basic" });
    await store.projection(Emails).rebuild();
    expect(await store.projection(Emails).get("c-1")).toEqual({ email: "forgotten@invalid.example", plan: "basic" });
    expect((await store.checkEvents([Customer])).failed).toBe(0);
    const later: RecordedEvent[] = [];
    const replay = store.subscribe({ name: "after-forget", from: [Customer], handler: (event) => void later.push(event) });
    await replay.caughtUp();
    expect(later.map((event) => (event.data as { email?: string }).email)).toEqual(["forgotten@invalid.example", undefined, "grace@example.org"]);
    await replay.stop();
    await subscription.stop();
    // New events of a forgotten subject get a new key; the old values stay forgotten.
    await customers.update("c-1", () => Customer.events.Noted({ note: "came back", by: "agent-7" }));
    expect((await customers.load("c-1")).state.notes).toEqual(["(forgotten)", "came back"]);
    expect((await customers.load("c-1")).state.email).toBe("forgotten@invalid.example");
  });

  it("seals with the subject personalDataSubject chooses, marks the projection it invalidated outdated, and refuses bad definitions", async () => {
    const store = await newStore();
    const tickets = store.repository(Ticket);
    await tickets.create("t-1", () => [Ticket.events.Noted({ note: "Ada called", by: "ada" }), Ticket.events.Noted({ note: "Bob replied", by: "bob" })]);
    await store.forget("ada");
    expect((await tickets.load("t-1")).state.notes).toEqual(["(forgotten)", "Bob replied"]);
    await store.forget("nobody"); // no key: nothing to do

    const Notes = defineProjection({ name: "notes", from: [Ticket], initialState: { notes: [] as string[] }, evolve: { ticket: { Noted: (draft, data) => void draft.notes.push(data.note) } } });
    const notes = store.projection(Notes);
    await notes.rebuild();
    expect(await notes.get("t-1")).toEqual({ notes: ["(forgotten)", "Bob replied"] });
    await store.forget("bob");
    expect(await notes.get("t-1")).toBeUndefined();
    const { rows } = await sql<{ version: number }>`select version from ${sql.id(store.schema, "projections")} where name = 'notes'`.execute(store.db);
    expect(rows).toEqual([{ version: -1 }]);
    notes.start();
    await notes.caughtUp();
    expect(await notes.get("t-1")).toEqual({ notes: ["(forgotten)", "(forgotten)"] });
    await notes.stop();

    expect(() => personalData(z.string().email(), { forgotten: "not an email" })).toThrow(InvalidArgumentError);
    expect(() => personalData(z.string(), {} as never)).toThrow(/needs \{ forgotten \}/);
    await expect(store.forget("")).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it("wraps the keys with encryptionKey and refuses a wrong or missing one with a clear error", async () => {
    const key = randomBytes(32);
    const store = await newStore({ encryptionKey: key.toString("base64") });
    await store.repository(Customer).create("c-1", () => registered());
    const { rows } = await sql<{ wrapped: boolean; length: number }>`select wrapped, length(key) as length from ${sql.id(store.schema, "personal_data_keys")}`.execute(store.db);
    expect(rows).toEqual([{ wrapped: true, length: 12 + 16 + 32 }]);
    const same = await newStore({ schema: store.schema, encryptionKey: new Uint8Array(key) });
    expect((await same.repository(Customer).load("c-1")).state.email).toBe(EMAIL);
    const wrong = await newStore({ schema: store.schema, encryptionKey: randomBytes(32).toString("hex") });
    await expect(wrong.repository(Customer).load("c-1")).rejects.toBeInstanceOf(EncryptionKeyError);
    await expect(wrong.repository(Customer).update("c-1", () => Customer.events.PlanChanged({ plan: "pro" }))).rejects.toThrow(/another encryptionKey/);
    const none = await newStore({ schema: store.schema });
    await expect(none.repository(Customer).load("c-1")).rejects.toThrow(/connect with the same encryptionKey/);
    await expect(newStore({ encryptionKey: "too short" })).rejects.toThrow(/encryptionKey must be 32 bytes/);
    expect((await store.load("customer", "c-1"))).toHaveLength(1);
  });
});

describePostgres("personal data keys", () => {
  it("loads a 10,000-event stream with one key query, whatever the number of subjects", async () => {
    const pool = new pg.Pool({ connectionString: postgresUrl(), max: 4 });
    const keyQueries: string[] = [];
    pool.on("connect", (client) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
        const text = typeof args[0] === "string" ? args[0] : (args[0] as { text?: string }).text;
        if (text?.includes("personal_data_keys")) keyQueries.push(text);
        return query(...args);
      };
    });
    const schema = `t_${randomBytes(6).toString("hex")}`;
    const store = await connect({ pool, schema, logger: QUIET });
    try {
      const tickets = store.repository(Ticket);
      for (let batch = 0; batch < 10; batch++) {
        await tickets.update(`t-1`, () => Array.from({ length: 1000 }, (_, i) => Ticket.events.Noted({ note: `note ${batch * 1000 + i}`, by: `person-${i % 50}` })));
      }
      expect(keyQueries.length).toBeGreaterThanOrEqual(10); // one per append, for its 50 subjects
      keyQueries.length = 0;
      const { state, version } = await tickets.load("t-1");
      expect(version).toBe(10_000);
      expect(state.notes.at(-1)).toBe("note 9999");
      expect(keyQueries).toHaveLength(1);
    } finally {
      await store.close();
      await pool.query(`drop schema ${schema} cascade`);
      await pool.end();
    }
  }, 60_000);
});
