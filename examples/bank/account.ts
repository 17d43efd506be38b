import { z } from "zod";
import { defineAggregate, type Store } from "meowmx";

/** A bank account whose balance may not go below zero. */
export const Account = defineAggregate({
  type: "account",
  events: {
    Opened: z.object({ owner: z.string().min(1) }),
    Deposited: z.object({ amount: z.number().int().positive(), transferId: z.string().optional() }),
    Withdrawn: z.object({ amount: z.number().int().positive(), transferId: z.string().optional() }),
  },
  initialState: { open: false, owner: "", balance: 0 },
  evolve: {
    Opened: (draft, data) => {
      draft.open = true;
      draft.owner = data.owner;
    },
    Deposited: (draft, data) => {
      draft.balance += data.amount;
    },
    Withdrawn: (draft, data) => {
      draft.balance -= data.amount;
    },
  },
});

/**
 * Moves money between two accounts in one transaction: both streams change or neither. When another
 * transfer wrote to either account first, the whole transaction runs again on the newer balances.
 * The accounts are written in the order of their ids, so that two transfers between the same
 * accounts in opposite directions queue up instead of deadlocking.
 */
export async function transfer(store: Store, from: string, to: string, amount: number, transferId: string): Promise<void> {
  await store.transaction(
    async (tx) => {
      const accounts = tx.repository(Account);
      const withdraw = () =>
        accounts.update(from, (account) => {
          if (!account.open) throw new Error(`account ${from} is not open`);
          if (account.balance < amount) throw new Error(`account ${from} has ${account.balance}, cannot send ${amount}`);
          return Account.events.Withdrawn({ amount, transferId });
        });
      const deposit = () =>
        accounts.update(to, (account) => {
          if (!account.open) throw new Error(`account ${to} is not open`);
          return Account.events.Deposited({ amount, transferId });
        });
      if (from < to) {
        await withdraw();
        await deposit();
      } else {
        await deposit();
        await withdraw();
      }
    },
    { maxAttempts: 50 },
  );
}
