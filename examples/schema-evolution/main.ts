/**
 * Schema evolution, end to end: the first release writes invoices, the second reads them through
 * its upcasters, checks the whole log before going live, and writes in the new shape.
 */
import { connect } from "meowmx";
import { Invoice, InvoiceV1 } from "./releases.js";

const store = await connect(); // embedded PGlite in memory; DATABASE_URL picks PostgreSQL
const id = crypto.randomUUID();

// Release 1 runs for a while.
await store.repository(InvoiceV1).create(id, () => InvoiceV1.events.InvoiceOpened({ email: "ada@example.com", cents: 4250 }));
await store.repository(InvoiceV1).update(id, () => InvoiceV1.events.InvoiceSettled({}));

// Before deploying release 2: can it read everything that is stored?
const report = await store.checkEvents([Invoice]);
console.log(`checked ${report.checked} events, ${report.failed} unreadable:`, report.counts);

// Release 2 reads the old events lifted to the new shapes, and appends in the new shape.
const { state, version } = await store.repository(Invoice).load(id);
console.log(`invoice ${id} is ${state.status}: ${state.amount} ${state.currency} (version ${version})`);
const second = crypto.randomUUID();
await store.repository(Invoice).create(second, () => Invoice.events.InvoiceOpened({ email: "grace@example.com", amount: 12, currency: "USD" }));
for (const event of [...(await store.load("invoice", id)), ...(await store.load("invoice", second))]) {
  console.log(`stored: ${event.type}@${event.schemaVersion}`, event.data);
}
await store.close();
