import { z } from "zod";
import { defineAggregate } from "meowmx";

const initialState = { status: "none" as "none" | "open" | "paid", email: "", amount: 0, currency: "" };

// #region release-1
/** The first release: an invoice was opened for an email address, with an amount in cents. */
export const InvoiceV1 = defineAggregate({
  type: "invoice",
  events: {
    InvoiceOpened: z.object({ email: z.string(), cents: z.number().int() }),
    InvoiceSettled: z.object({}),
  },
  initialState,
  evolve: {
    InvoiceOpened: (draft, data) => void Object.assign(draft, { status: "open", email: data.email, amount: data.cents / 100 }),
    InvoiceSettled: (draft) => void (draft.status = "paid"),
  },
});
// #endregion release-1

// #region release-2
/**
 * The second release: amounts in units with a currency, and InvoiceSettled renamed InvoicePaid.
 * Old events stay as they were stored; the definition says how to read them.
 */
export const Invoice = defineAggregate({
  type: "invoice",
  events: {
    InvoiceOpened: z.object({ email: z.string(), amount: z.number(), currency: z.string().default("EUR") }),
    InvoicePaid: z.object({ paidAt: z.string().optional() }),
  },
  initialState,
  evolve: {
    InvoiceOpened: (draft, data) => void Object.assign(draft, { status: "open", email: data.email, amount: data.amount, currency: data.currency }),
    InvoicePaid: (draft) => void (draft.status = "paid"),
  },
  upcast: {
    // Stored at version 1: cents, no currency. Appends now store version 2.
    InvoiceOpened: [{ from: z.object({ email: z.string(), cents: z.number().int() }), up: (v1) => ({ email: v1.email, amount: v1.cents / 100 }) }],
    // A retired type: read as the event that replaced it.
    InvoiceSettled: { from: z.object({}), up: () => ({ type: "InvoicePaid", data: {} }) },
  },
});
// #endregion release-2
