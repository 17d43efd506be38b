import { expect, it } from "vitest";
import { InvalidArgumentError, type NewEvent, SubscriptionError } from "../../src/index.js";
import { CustomerTotals, Order } from "../support/aggregates.js";
import { describeEachBackend } from "../support/backends.js";

const event = (type: string): NewEvent => ({ type, data: {} });

/** Settles `work`, or fails the test when it has not settled within 5 s: the embedded database used to wait for ever. */
function settlesSoon<T>(work: Promise<T>): Promise<T> {
  return Promise.race([work, new Promise<never>((_, reject) => setTimeout(() => reject(new Error("still waiting after 5 s")), 5000))]);
}

describeEachBackend("the store called from inside its own transaction", ({ newStore, kind }) => {
  it("fails at once on the embedded database, saying to use tx, and works on PostgreSQL", async () => {
    const store = await newStore({ inlineProjections: [CustomerTotals] });
    await store.append("order", "o-1", [Order.events.OrderCreated({ customerId: "c-1", total: 1 })]);
    const mistakes = {
      load: () => store.load("order", "o-1"),
      append: () => store.append("invoice", "i-1", [event("Sent")]),
      repository: () => store.repository(Order).load("o-1"),
      inlineProjected: () => store.append("order", "o-2", [Order.events.OrderCreated({ customerId: "c-2", total: 2 })]),
    };
    for (const [name, mistake] of Object.entries(mistakes)) {
      const outcome = await settlesSoon(store.transaction(async (tx) => {
        await tx.load("order", "o-1");
        return mistake();
      }).then(() => "worked", (error: unknown) => error));
      if (kind === "pglite") {
        expect(outcome, name).toBeInstanceOf(InvalidArgumentError);
        expect((outcome as Error).message).toMatch(/use tx \(tx\.append, tx\.load, tx\.repository, tx\.db\), not the store/);
      } else {
        expect(outcome, name).toBe("worked");
      }
    }
    // The store is still usable afterwards.
    expect(await store.load("order", "o-1")).toHaveLength(1);
  });

  it("fails the handler that calls the store instead of tx on the embedded database", async () => {
    const store = await newStore();
    await store.append("order", "o-1", [event("A")]);
    const sub = store.subscribe({
      name: "mistaken",
      maxAttempts: 1,
      handler: async (e) => {
        await store.append("audit", e.aggregateId, [event("Seen")]);
      },
    });
    if (kind === "pglite") {
      const error = await settlesSoon(sub.caughtUp().catch((e: unknown) => e));
      expect(error).toBeInstanceOf(SubscriptionError);
      expect((error as Error).message).toMatch(/use tx/);
    } else {
      await settlesSoon(sub.caughtUp());
      expect(await store.load("audit", "o-1")).toHaveLength(1);
    }
    await sub.stop();
  });
});
