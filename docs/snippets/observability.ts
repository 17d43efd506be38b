// The observability page's code, compiled by the type check.
import { context, metrics, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import { BasicTracerProvider, BatchSpanProcessor, ConsoleSpanExporter } from "@opentelemetry/sdk-trace-base";
import { connect, type Store, withEventMetadata } from "meowmx";
import { Order } from "../../examples/orders/order.js";

export async function metadata(store: Store, requestId: string, userId: string) {
  // #region metadata
  await withEventMetadata({ correlationId: requestId, userId }, () =>
    store.repository(Order).update("o-1", () => Order.events.OrderShipped({ trackingCode: "T-1" })),
  );
  // every event appended inside, by any store and at any depth, carries both fields
  for (const event of await store.correlated(requestId)) {
    console.log(event.aggregateType, event.type, event.metadata.causationId ?? "(the request)");
  }
  // #endregion metadata
}

export function handler(store: Store) {
  // #region handler
  store.subscribe({
    name: "invoicing",
    aggregateTypes: ["order"],
    handler: async (event, tx) => {
      // stored with causationId = event.id and correlationId = the order event's correlationId
      await tx.append("invoice", event.aggregateId, [{ type: "InvoiceRequested", data: {} }]);
    },
  });
  // #endregion handler
}

export async function openTelemetry() {
  // #region otel
  // Register the SDK before connect(): meowmx takes its tracer and meter when the store opens.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(new ConsoleSpanExporter())] }));
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [/* your exporter's reader */] }));
  const store = await connect({ connectionString: process.env.DATABASE_URL });
  // #endregion otel
  return store;
}
