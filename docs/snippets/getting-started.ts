// The program that docs/getting-started.md walks through, region by region.
// #region define
import { z } from "zod";
import { connect, defineAggregate, defineProjection } from "meowmx";

export const Cart = defineAggregate({
  type: "cart",
  events: {
    ItemAdded: z.object({ sku: z.string(), price: z.number().nonnegative() }),
    CheckedOut: z.object({}),
  },
  initialState: { items: [] as string[], total: 0, checkedOut: false },
  evolve: {
    ItemAdded: (draft, data) => {
      draft.items.push(data.sku);
      draft.total += data.price;
    },
    CheckedOut: (draft) => {
      draft.checkedOut = true;
    },
  },
});
// #endregion define

// #region commands
export function addItem(cart: typeof Cart.initialState, sku: string, price: number) {
  if (cart.checkedOut) throw new Error("the cart is checked out");
  return Cart.events.ItemAdded({ sku, price });
}

export function checkOut(cart: typeof Cart.initialState) {
  if (cart.items.length === 0) throw new Error("the cart is empty");
  if (cart.checkedOut) return undefined; // already done: nothing to write
  return Cart.events.CheckedOut({});
}
// #endregion commands

// #region projection
export const Revenue = defineProjection({
  name: "revenue-per-sku",
  from: [Cart],
  key: (event) => (event.type === "ItemAdded" ? event.data.sku : event.aggregateId),
  initialState: { sold: 0, revenue: 0 },
  evolve: {
    cart: {
      ItemAdded: (draft, data) => {
        draft.sold += 1;
        draft.revenue += data.price;
      },
    },
  },
});
// #endregion projection

/** Runs the whole walk-through; docs/snippets/getting-started.test.ts checks what it returns. */
export async function main() {
  // #region connect
  const store = await connect(); // embedded PGlite in memory; DATABASE_URL picks PostgreSQL
  const carts = store.repository(Cart);
  // #endregion connect

  // #region update
  const id = crypto.randomUUID();
  await carts.update(id, (cart) => addItem(cart, "tea", 4));
  await carts.update(id, (cart) => addItem(cart, "mug", 9));
  const { state, version, attempts } = await carts.update(id, checkOut);
  // state: { items: ["tea", "mug"], total: 13, checkedOut: true }, version: 3, attempts: 1
  // #endregion update

  // #region subscribe
  const receipts: string[] = [];
  const mailer = store.subscribe({
    name: "receipts",
    aggregateTypes: ["cart"],
    handler: (event) => {
      if (event.type === "CheckedOut") receipts.push(event.aggregateId);
    },
  });
  await mailer.caughtUp();
  // #endregion subscribe

  // #region project
  const revenue = store.projection(Revenue).start();
  await revenue.caughtUp();
  const tea = await revenue.get("tea"); // { sold: 1, revenue: 4 }
  // #endregion project

  await store.close();
  return { state, version, attempts, receipts, tea, id };
}
