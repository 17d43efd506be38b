// The explorer page's code, compiled by the type check.
import { connect, defineConfig, startExplorer } from "meowmx";
import { Order } from "../../examples/orders/order.js";

export async function embedded() {
  // #region embed
  const store = await connect();
  const explorer = await startExplorer(store, {
    port: 4000, // 0: any free port
    aggregates: [Order], // their streams show the state at any version
    allowWrites: false, // true: the page may replay parked events and rebuild projections
  });
  console.log(`explorer on ${explorer.url}`);
  // ... when the app stops:
  await explorer.close();
  await store.close();
  // #endregion embed
}

// #region config
export default defineConfig({
  connect: { connectionString: process.env.DATABASE_URL },
  aggregates: [Order], // state at any version for order streams
  // projections: [...]   rebuild buttons (with --allow-writes)
  // subscriptions: [...] replay of parked events (with --allow-writes): the handler runs in the explorer's process
});
// #endregion config
