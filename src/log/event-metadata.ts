import { AsyncLocalStorage } from "node:async_hooks";
import { InvalidArgumentError } from "../errors.js";
import { assertJson, type JsonObject } from "../json.js";
import type { RecordedEvent } from "./events.js";

const scopes = new AsyncLocalStorage<JsonObject>();

/**
 * Runs `fn` so that every event appended inside it, by any store and at any depth, carries these
 * metadata fields unless the event sets its own. Nested calls merge, the inner one winning; calls
 * running at the same time never see each other's fields.
 *
 * @example
 * ```ts
 * import { connect, withEventMetadata } from "meowmx";
 * const store = await connect();
 * await withEventMetadata({ correlationId: "request-42", userId: "u-7" }, () =>
 *   store.append("order", "o-1", [{ type: "OrderPlaced", data: {} }]),
 * );
 * ```
 */
export function withEventMetadata<T>(fields: JsonObject, fn: () => T): T {
  if (typeof fields !== "object" || fields === null || Array.isArray(fields)) {
    throw new InvalidArgumentError("withEventMetadata takes a JSON object of metadata fields");
  }
  try {
    assertJson(fields, "metadata");
  } catch (error) {
    throw new InvalidArgumentError(`withEventMetadata: ${(error as Error).message}`);
  }
  const outer = scopes.getStore();
  return scopes.run(outer === undefined ? { ...fields } : { ...outer, ...fields }, fn);
}

/** The metadata fields of the innermost {@link withEventMetadata} around the caller, if any. */
export function scopedEventMetadata(): JsonObject | undefined {
  return scopes.getStore();
}

/**
 * What events appended because of `event` carry: it caused them, and they share its correlation.
 * Handlers get it by themselves; a batch handler appending because of one event of a larger batch
 * passes it on with `withEventMetadata`.
 *
 * @example
 * ```ts
 * import { causationMetadata, connect, withEventMetadata } from "meowmx";
 * const store = await connect();
 * store.subscribe({
 *   name: "invoicing",
 *   aggregateTypes: ["order"],
 *   handleBatch: async (events, tx) => {
 *     for (const event of events) {
 *       await withEventMetadata(causationMetadata(event), () => tx.append("invoice", event.aggregateId, [{ type: "Requested", data: {} }]));
 *     }
 *   },
 * });
 * ```
 */
export function causationMetadata(event: RecordedEvent): { causationId: string; correlationId: string } {
  const correlationId = event.metadata.correlationId;
  return { causationId: event.id, correlationId: typeof correlationId === "string" ? correlationId : event.id };
}
