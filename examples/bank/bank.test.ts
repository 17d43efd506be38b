import { checkAggregate, given } from "meowmx/testing";
import { describe, expect, it } from "vitest";
import { describeEachBackend } from "../../test/support/backends.js";
import { Account, transfer } from "./account.js";
import { readSettled } from "../../test/support/eventually.js";

describe("the account aggregate", () => {
  it("keeps the laws of an aggregate", () => {
    checkAggregate(Account);
  });

  it("folds deposits and withdrawals", () => {
    given(Account, [Account.events.Opened({ owner: "a" }), Account.events.Deposited({ amount: 5 })])
      .when(() => Account.events.Withdrawn({ amount: 3 }))
      .thenState({ open: true, owner: "a", balance: 2 });
  });
});

describeEachBackend("the bank example", ({ newStore }) => {
  it("runs 30 concurrent transfers between 3 accounts; every one lands once and the money adds up", async () => {
    const store = await newStore();
    const owners = ["a", "b", "c"];
    for (const owner of owners) {
      await store.repository(Account).create(owner, () => [Account.events.Opened({ owner }), Account.events.Deposited({ amount: 1000 })]);
    }
    await Promise.all(Array.from({ length: 30 }, (_, i) => transfer(store, owners[i % 3]!, owners[(i + 1) % 3]!, 10 + i, `t-${i}`)));
    const states = await Promise.all(owners.map((owner) => store.repository(Account).load(owner)));
    expect(states.reduce((sum, { state }) => sum + state.balance, 0)).toBe(3000);
    const moved = (await readSettled(store, { aggregateTypes: ["account"] })).filter((e) => e.type !== "Opened" && (e.data as { transferId?: string }).transferId);
    expect(moved).toHaveLength(60);
    expect(new Set(moved.map((e) => `${e.type}:${(e.data as { transferId: string }).transferId}`)).size).toBe(60);
  });

  it("refuses an overdraft and rolls back both sides", async () => {
    const store = await newStore();
    for (const owner of ["a", "b"]) await store.repository(Account).create(owner, () => Account.events.Opened({ owner }));
    await expect(transfer(store, "a", "b", 5, "t")).rejects.toThrow(/has 0, cannot send 5/);
    expect((await store.repository(Account).load("b")).version).toBe(1);
  });
});
