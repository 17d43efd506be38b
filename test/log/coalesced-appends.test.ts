import fc from "fast-check";
import { expect, it } from "vitest";
import { type AppendResult, ConcurrencyError, type ExpectedVersion, InvalidEventError, type NewEvent, type Store } from "../../src/index.js";
import { describeEachBackend } from "../support/backends.js";

/** One append of a random run: its stream, what it expects, its events. */
interface Command {
  readonly stream: number;
  readonly expected: ExpectedVersion;
  readonly count: number;
  /** Its events carry one of two fixed ids per stream (a retried append), instead of none. */
  readonly retried: boolean;
  /** One of its events is not JSON. */
  readonly bad: boolean;
}

const command: fc.Arbitrary<Command> = fc.record({
  stream: fc.integer({ min: 0, max: 7 }),
  // Half of them create streams, the appends that go in groups.
  expected: fc.oneof(
    { arbitrary: fc.constant<ExpectedVersion>(0), weight: 4 },
    { arbitrary: fc.integer({ min: 1, max: 4 }), weight: 2 },
    { arbitrary: fc.constantFrom<ExpectedVersion>("any", "exists"), weight: 2 },
  ),
  count: fc.integer({ min: 1, max: 2 }),
  retried: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
  bad: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
}).map((c) => ({ ...c, retried: c.retried && !c.bad }));

const fixedIds = (run: number, stream: number, count: number) =>
  Array.from({ length: count }, (_, i) => `00000000-0000-4000-8000-${String(run).padStart(6, "0")}${String(stream).padStart(3, "0")}${String(i).padStart(3, "0")}`);

function eventsOf(run: number, index: number, c: Command): NewEvent[] {
  const ids = c.retried ? fixedIds(run, c.stream, c.count) : [];
  return Array.from({ length: c.count }, (_, i) => ({
    type: "Noted",
    data: { n: c.bad && i === c.count - 1 ? Number.NaN : index, i },
    ...(ids[i] === undefined ? {} : { id: ids[i] }),
  }));
}

const allows = (expected: ExpectedVersion, head: number) =>
  expected === "any" || (expected === "exists" ? head > 0 : head === expected);

/**
 * Checks that what ran at once could have run one at a time: the stream holds exactly the events of
 * the appends that stored fresh events, each contiguous and at a head its expectation allowed; every
 * refused append was refused at some head the stream went through; bad events failed alone.
 */
function checkStream(commands: ReadonlyArray<{ c: Command; outcome: PromiseSettledResult<AppendResult> }>, stored: ReadonlyArray<{ id: string; version: number }>) {
  const byId = new Map(stored.map((event) => [event.id, event.version]));
  expect(stored.map((event) => event.version)).toEqual(stored.map((_, i) => i + 1));
  // By where their events start, the longer first: of two retried appends sharing ids, the longer
  // one stored them and the other found its own among them.
  const fresh = commands
    .flatMap(({ c, outcome }) => (outcome.status === "fulfilled" && outcome.value.events.length > 0 ? [{ c, result: outcome.value }] : []))
    .sort((a, b) => a.result.events[0]!.version - b.result.events[0]!.version || b.result.events.length - a.result.events.length);
  const covered = new Set<string>();
  const heads = new Set([0]);
  for (const { c, result } of fresh) {
    const { events, version } = result;
    expect(events.map((event) => byId.get(event.id))).toEqual(events.map((event) => event.version));
    const first = events[0]!.version;
    expect(version).toBeGreaterThanOrEqual(events.at(-1)!.version);
    if (events.every((event) => !covered.has(event.id))) {
      // Stored by this append: at versions following a head its expectation allowed.
      // (A retried append may have found its events stored by its twin, which checks no expectation.)
      expect(c.retried || allows(c.expected, first - 1)).toBe(true);
      events.forEach((event) => covered.add(event.id));
      heads.add(events.at(-1)!.version);
    }
  }
  // Every stored event came from an acknowledged append.
  expect(stored.filter((event) => !covered.has(event.id))).toEqual([]);
  for (const { c, outcome } of commands) {
    if (outcome.status === "fulfilled") continue;
    const error = outcome.reason as Error;
    if (c.bad) {
      expect(error).toBeInstanceOf(InvalidEventError);
      continue;
    }
    if (error instanceof ConcurrencyError) {
      // Refused at some head the stream went through, where its expectation did not hold.
      expect([...heads].some((head) => !allows(c.expected, head))).toBe(true);
      continue;
    }
    // A retried append whose ids are stored only in part.
    expect(error).toBeInstanceOf(InvalidEventError);
    expect(c.retried).toBe(true);
  }
}

describeEachBackend("coalesced appends", ({ newStore, query, kind }) => {
  it("give each append the outcome it would have had alone, and each stream the contents of some order of them", async () => {
    const stores: Store[] = [await newStore(), await newStore({ coalesceAppends: false })];
    let run = 0;
    for (const store of stores) {
      await fc.assert(
        fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 24 }), async (commands) => {
          run++;
          const outcomes = await Promise.allSettled(commands.map((c, index) => store.append("note", `r${run}-s${c.stream}`, eventsOf(run, index, c), { expectedVersion: c.expected })));
          for (let stream = 0; stream <= 7; stream++) {
            const stored = await store.load("note", `r${run}-s${stream}`);
            checkStream(
              commands.flatMap((c, i) => (c.stream === stream ? [{ c, outcome: outcomes[i]! }] : [])),
              stored,
            );
          }
        }),
        { numRuns: 40 },
      );
    }
  });

  it("groups the small appends that wait, never one of more than 16 events; on the embedded database, none", async () => {
    const store = await newStore();
    const sizes = Array.from({ length: 24 }, (_, i) => (i % 3 === 0 ? 17 : 1));
    await Promise.all(sizes.map((size, i) => store.append("note", `g-${i}`, Array.from({ length: size }, () => ({ type: "Noted", data: {} })), { expectedVersion: 0 })));
    const transactions = await query<{ streams: number; large: number }>(
      `select count(distinct aggregate_id)::int as streams, count(*) filter (where version = 17)::int as large from "${store.schema}".events group by transaction_id`,
    );
    const large = transactions.filter((transaction) => transaction.large > 0);
    expect(large).toHaveLength(8);
    expect(large.every((transaction) => transaction.streams === 1)).toBe(true);
    if (kind === "postgres") expect(Math.max(...transactions.map((transaction) => transaction.streams))).toBeGreaterThan(1);
    else expect(transactions).toHaveLength(24);
  });

  it("stores each of 64 concurrent appends to new streams once, and refuses each one whose stream exists, is archived or does not fit", async () => {
    const store = await newStore({ aggregateIdType: "uuid" });
    const taken = crypto.randomUUID();
    const archived = crypto.randomUUID();
    await store.append("note", taken, [{ type: "Noted", data: {} }]);
    await store.append("note", archived, [{ type: "Noted", data: {} }]);
    await store.archiveStream("note", archived);
    const ids = Array.from({ length: 64 }, () => crypto.randomUUID());
    const targets = [...ids.slice(0, 60), taken, archived, "not-a-uuid", ids[0]!];
    const outcomes = await Promise.allSettled(targets.map((id, i) => store.append("note", id, [{ type: "Noted", data: { i } }], { expectedVersion: 0 })));
    const errors = outcomes.map((outcome) => (outcome.status === "rejected" ? (outcome.reason as Error).constructor.name : "stored"));
    expect(errors.slice(60, 63)).toEqual(["ConcurrencyError", "StreamArchivedError", "InvalidEventError"]);
    // ids[0] twice: one of the two won.
    expect([errors[0], errors[63]].sort()).toEqual(["ConcurrencyError", "stored"]);
    expect(errors.slice(1, 60).every((error) => error === "stored")).toBe(true);
    for (const id of ids.slice(0, 60)) expect((await store.load("note", id)).map((event) => event.version)).toEqual([1]);
  });
});
