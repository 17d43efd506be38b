import { connect, defineAggregate, personalData } from "meowmx";
import { z } from "zod";

// #region customer
export const Customer = defineAggregate({
  type: "customer",
  events: {
    Registered: z.object({
      email: personalData(z.string().email(), { forgotten: "forgotten@invalid.example" }),
      plan: z.string(),
      phones: z.array(z.object({ label: z.string(), number: personalData(z.string(), { forgotten: "" }) })),
    }),
  },
  initialState: { email: "", plan: "", phones: [] as string[] },
  evolve: {
    Registered: (draft, data) => {
      draft.email = data.email;
      draft.plan = data.plan;
      draft.phones = data.phones.map((phone) => phone.number);
    },
  },
  personalDataSubject: (event) => event.aggregateId, // the default: one key per customer stream
});
// #endregion customer

/** Runs the page's steps on an embedded database; returns what each read showed. */
export async function lifecycle() {
  const store = await connect();
  await store.append("order", "o-1", [{ type: "OrderPlaced", data: { total: 12 } }]);
  await store.append("order", "o-2", [{ type: "OrderPlaced", data: { total: 5 } }, { type: "OrderPaid", data: {} }]);
  // #region streams
  await store.archiveStream("order", "o-1"); // hidden from load, read, repositories, subscriptions
  await store.restoreStream("order", "o-1"); // back, at its old versions and positions
  await store.truncateStream("order", "o-2", { before: 2 }); // version 1 is gone, version 2 stays
  await store.deleteStream("order", "o-1"); // for good; appends to it now throw StreamDeletedError
  // #endregion streams
  const left = await store.load("order", "o-2");

  // #region forget
  const customers = store.repository(Customer);
  await customers.create("c-1", () =>
    Customer.events.Registered({ email: "ada@example.org", plan: "pro", phones: [{ label: "home", number: "+44 20 7946 0958" }] }),
  );
  const before = (await customers.load("c-1")).state; // { email: "ada@example.org", ... }
  await store.forget("c-1"); // destroys c-1's key
  const after = (await customers.load("c-1")).state; // { email: "forgotten@invalid.example", phones: [""], ... }
  // #endregion forget
  await store.close();
  return { left: left.map((event) => event.version), before, after };
}
