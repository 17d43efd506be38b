/**
 * The bank example: `npx tsx examples/bank/main.ts` (embedded PGlite; DATABASE_URL for PostgreSQL).
 * Many transfers between a few accounts at once: conflicts are retried, no money is made or lost.
 */
import { connect } from "meowmx";
import { Account, transfer } from "./account.js";

const schema = `bank_example_${process.pid}`;
const store = await connect({ schema });
const accounts = ["alice", "bob", "carol", "dave"];
for (const owner of accounts) {
  await store.repository(Account).create(owner, () => [Account.events.Opened({ owner }), Account.events.Deposited({ amount: 100 })]);
}

const transfers = Array.from({ length: 40 }, (_, i) => {
  const from = accounts[i % 4]!;
  const to = accounts[(i * 3 + 1) % 4]!;
  return from === to ? Promise.resolve("skipped") : transfer(store, from, to, 1 + (i % 7), `t-${i}`).then(() => "done", (error: Error) => error.message);
});
const outcomes = await Promise.all(transfers);

let total = 0;
for (const owner of accounts) {
  const { state, version } = await store.repository(Account).load(owner);
  total += state.balance;
  console.log(`${owner}: ${state.balance} after ${version} events`);
}
for (const failure of new Set(outcomes.filter((o) => o !== "done" && o !== "skipped"))) console.log(`refused: ${failure}`);
console.log(`${outcomes.filter((o) => o === "done").length} transfers done at the same time; money in the bank: ${total} (was 400)`);
await store.db.schema.dropSchema(schema).cascade().execute();
await store.close();
