import { context, metrics, type Span, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterEach, beforeAll, expect, it } from "vitest";
import { ConcurrencyError, type RecordedEvent } from "../../src/index.js";
import { CustomerTotals, Order } from "../support/aggregates.js";
import { describeEachBackend } from "../support/backends.js";

// The SDK an application registers before it connects: spans kept in memory, metrics read on demand.
const spans = new InMemorySpanExporter();
const reader = new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000 });
beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }));
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
});
afterEach(() => spans.reset());

const tracer = trace.getTracer("test-app");
const named = (name: string) => spans.getFinishedSpans().filter((span) => span.name === name);
const traceIdOf = (event: RecordedEvent) => String(event.metadata.traceparent).split("-")[1];
const spanIdOf = (event: RecordedEvent) => String(event.metadata.traceparent).split("-")[2];

async function collected(name: string) {
  const { resourceMetrics } = await reader.collect();
  return resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics).find((metric) => metric.descriptor.name === name)?.dataPoints ?? [];
}

describeEachBackend("OpenTelemetry", ({ newStore, newSchema, kind }) => {
  it("follows one request from its root span through repository.update to a handler in another store", async () => {
    const schema = newSchema();
    const api = await newStore({ schema });
    const worker = await newStore({ schema });
    const shipped: RecordedEvent[] = [];
    const sub = worker.subscribe({
      name: "shipping",
      aggregateTypes: ["order"],
      handler: async (event, tx) => {
        if (event.type !== "OrderCreated") return;
        shipped.push(...(await tx.append("shipment", event.aggregateId, [{ type: "Requested", data: {} }])).events);
      },
    });
    const root = await tracer.startActiveSpan("POST /orders", async (span: Span) => {
      await api.repository(Order).update("o-1", () => Order.events.OrderCreated({ customerId: "c-1", total: 5 }));
      span.end();
      return span.spanContext();
    });
    await sub.caughtUp();
    await sub.stop();

    const [created] = await api.load("order", "o-1");
    expect(traceIdOf(created!)).toBe(root.traceId);
    const [update] = named("meowmx.update");
    expect(update!.parentSpanContext?.spanId).toBe(root.spanId);
    expect(update!.attributes).toMatchObject({ "meowmx.attempts": 1, "meowmx.aggregate_type": "order", "db.system": "postgresql" });
    const append = named("meowmx.append").find((span) => span.attributes["meowmx.aggregate_type"] === "order")!;
    expect(append.spanContext().spanId).toBe(spanIdOf(created!));
    expect(append.attributes).toMatchObject({ "meowmx.event_count": 1, "db.operation.name": "append" });

    const handle = named("meowmx.handle").find((span) => span.spanContext().traceId === root.traceId)!;
    expect(handle.parentSpanContext?.spanId).toBe(append.spanContext().spanId);
    expect(handle.attributes).toMatchObject({ "meowmx.subscription": "shipping", "meowmx.event_count": 1 });
    expect(traceIdOf(shipped[0]!)).toBe(root.traceId);
    expect(shipped[0]!.metadata).toMatchObject({ causationId: created!.id, correlationId: created!.id });
  });

  it("links a batch's span to the traces of its events, and spans transactions, loads and rebuilds", async () => {
    const store = await newStore();
    for (const id of ["o-1", "o-2", "o-3"]) {
      await tracer.startActiveSpan(`request ${id}`, async (span: Span) => {
        await store.append("order", id, [Order.events.OrderCreated({ customerId: "c-1", total: 1 })]);
        span.end();
      });
    }
    const sub = store.subscribe({ name: "batch", handler: () => undefined });
    await sub.caughtUp();
    await sub.stop();
    const events = await store.read();
    const [handle] = named("meowmx.handle");
    expect(handle!.attributes["meowmx.event_count"]).toBe(3);
    expect(handle!.links.map((link) => link.context.traceId).sort()).toEqual(events.map(traceIdOf).sort());
    await store.transaction(async (tx) => void (await tx.load("order", "o-1")));
    await store.repository(Order).load("o-2");
    await store.projection(CustomerTotals).rebuild();
    const [transaction] = named("meowmx.transaction");
    expect(named("meowmx.load").some((span: ReadableSpan) => span.parentSpanContext?.spanId === transaction!.spanContext().spanId)).toBe(true);
    expect(named("meowmx.load").some((span) => span.attributes["db.operation.name"] === "load" && span.attributes["meowmx.aggregate_id"] === "o-2")).toBe(true);
    expect(named("meowmx.rebuild")[0]!.attributes).toMatchObject({ "meowmx.projection": "customer-totals", "meowmx.event_count": 3 });
  });

  it("counts appends, events, conflicts and handling time, and reports subscription lag", async () => {
    const store = await newStore();
    const before = async (name: string) => (await collected(name)).reduce((sum, point) => sum + Number((point.value as { count?: number }).count ?? point.value), 0);
    const appended = await before("meowmx.events.appended");
    const conflicts = await before("meowmx.conflicts");
    await store.append("order", "o-1", [Order.events.OrderCreated({ customerId: "c", total: 1 }), Order.events.OrderShipped({ trackingCode: "T" })]);
    await expect(store.append("order", "o-1", [Order.events.OrderShipped({ trackingCode: "T" })], { expectedVersion: 0 })).rejects.toBeInstanceOf(ConcurrencyError);
    expect((await before("meowmx.events.appended")) - appended).toBe(2);
    expect((await before("meowmx.conflicts")) - conflicts).toBe(1);
    expect(await before("meowmx.append.duration")).toBeGreaterThan(0);
    const sub = store.subscribe({ name: `lagging-${kind}`, handler: () => undefined });
    await sub.caughtUp();
    await sub.stop();
    expect(await before("meowmx.handler.duration")).toBeGreaterThan(0);
    await store.append("order", "o-2", [Order.events.OrderCreated({ customerId: "c", total: 1 })]);
    const lag = (await collected("meowmx.subscription.lag")).find((point) => point.attributes["meowmx.subscription"] === `lagging-${kind}`);
    expect(lag?.value).toBe(1);
  });

  it("adds no span and no metadata with telemetry: false", async () => {
    const off = await newStore({ telemetry: false });
    await tracer.startActiveSpan("request", async (span: Span) => {
      await off.append("order", "o-1", [Order.events.OrderCreated({ customerId: "c", total: 1 })]);
      span.end();
    });
    expect((await off.load("order", "o-1"))[0]!.metadata).toEqual({});
    expect(spans.getFinishedSpans().filter((span) => span.name.startsWith("meowmx.") && span.attributes["meowmx.aggregate_id"] === "o-1" && span.spanContext().traceId === named("request")[0]!.spanContext().traceId)).toEqual([]);
  });
});
