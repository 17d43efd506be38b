import type * as Otel from "@opentelemetry/api";

/** Attributes of a span or a measurement. */
export type TelemetryAttributes = Record<string, string | number | boolean>;

/** The span a piece of work runs in, as meowmx uses it: undefined when nothing records. */
export interface WorkSpan {
  setAttribute(key: string, value: string | number | boolean): void;
}

/** Where a handling span comes from: the W3C traceparents of the events it handles. */
export interface SpanOrigins {
  readonly traceparents: ReadonlyArray<string>;
}

/** The package and version that spans and metrics name as their instrumentation scope. */
const SCOPE = "meowmx";

/** What every meowmx span says of the database, after OpenTelemetry's database conventions. */
const DATABASE_ATTRIBUTES = { "db.system": "postgresql", "db.system.name": "postgresql" } as const;

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * Spans and metrics through `@opentelemetry/api`, when the application has it installed (it is an
 * optional peer dependency). Without it, or with `connect({ telemetry: false })`, every method runs
 * the work and records nothing. With the API but no SDK registered, no span is made and the API's
 * no-op meter makes the cost of metrics a few function calls.
 */
export class Telemetry {
  private readonly tracer: Otel.Tracer | undefined;
  private readonly appendDuration: Otel.Histogram | undefined;
  private readonly eventsAppended: Otel.Counter | undefined;
  private readonly conflicts: Otel.Counter | undefined;
  private readonly handlerDuration: Otel.Histogram | undefined;
  private readonly lag: Otel.ObservableGauge | undefined;

  /** The tracer provider the API hands out while no SDK is registered. */
  private readonly noopProvider: Otel.TracerProvider | undefined;

  private constructor(private readonly api: typeof Otel | undefined) {
    if (api === undefined) return;
    this.noopProvider = new api.ProxyTracerProvider().getDelegate();
    this.tracer = api.trace.getTracer(SCOPE);
    const meter = api.metrics.getMeter(SCOPE);
    this.appendDuration = meter.createHistogram("meowmx.append.duration", { unit: "s", description: "How long appends take, retries included." });
    this.eventsAppended = meter.createCounter("meowmx.events.appended", { description: "Events stored by appends." });
    this.conflicts = meter.createCounter("meowmx.conflicts", { description: "Appends refused with a ConcurrencyError." });
    this.handlerDuration = meter.createHistogram("meowmx.handler.duration", { unit: "s", description: "How long a subscription takes to handle one batch." });
    this.lag = meter.createObservableGauge("meowmx.subscription.lag", { description: "Committed events a subscription partition has still to handle." });
  }

  /** Telemetry that records nothing. */
  static readonly off = new Telemetry(undefined);

  /** Telemetry through `@opentelemetry/api` when it can be loaded; {@link Telemetry.off} otherwise. */
  static async load(): Promise<Telemetry> {
    try {
      return new Telemetry(await import("@opentelemetry/api"));
    } catch {
      return Telemetry.off;
    }
  }

  /**
   * Runs `work` in a span named `name`, a child of the active span (or, with `origins`, of the one
   * event's trace, or linked to every event's). A throw marks the span failed and passes through.
   */
  span<T>(name: string, attributes: TelemetryAttributes, work: (span: WorkSpan | undefined) => Promise<T>, origins?: SpanOrigins): Promise<T> {
    const { api, tracer } = this;
    if (api === undefined || tracer === undefined || !this.tracing()) return work(undefined);
    const remote = (origins?.traceparents ?? []).map(spanContextOf).filter((context) => context !== undefined);
    const parent = remote.length === 1 && origins!.traceparents.length === 1 ? api.trace.setSpanContext(api.context.active(), remote[0]!) : api.context.active();
    const options: Otel.SpanOptions = { attributes: { ...DATABASE_ATTRIBUTES, ...attributes }, links: remote.length > 1 ? remote.map((context) => ({ context })) : [] };
    return tracer.startActiveSpan(name, options, parent, async (span) => {
      try {
        return await work(span);
      } catch (error) {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({ code: api.SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
        throw error;
      } finally {
        span.end();
      }
    });
  }

  /**
   * Whether an SDK is registered to trace with: without one every span would be the API's no-op,
   * so none is made (an SDK registered later is seen at the next span).
   */
  private tracing(): boolean {
    const provider = this.api!.trace.getTracerProvider();
    return !(provider instanceof this.api!.ProxyTracerProvider && provider.getDelegate() === this.noopProvider);
  }

  /** The W3C traceparent of the active span, when one is recording a trace. */
  traceparent(): string | undefined {
    const active = this.api?.trace.getActiveSpan()?.spanContext();
    if (active === undefined || !this.api!.isSpanContextValid(active)) return undefined;
    return `00-${active.traceId}-${active.spanId}-${active.traceFlags.toString(16).padStart(2, "0")}`;
  }

  /** Records an append that stored `events` events (0 when it found them stored) in `seconds`. */
  appended(aggregateType: string, events: number, seconds: number): void {
    this.appendDuration?.record(seconds, { "meowmx.aggregate_type": aggregateType });
    if (events > 0) this.eventsAppended?.add(events, { "meowmx.aggregate_type": aggregateType });
  }

  /** Records an append refused by a ConcurrencyError. */
  conflicted(aggregateType: string): void {
    this.conflicts?.add(1, { "meowmx.aggregate_type": aggregateType });
  }

  /** Records how long a subscription took over one batch. */
  handled(subscription: string, seconds: number): void {
    this.handlerDuration?.record(seconds, { "meowmx.subscription": subscription });
  }

  /** Reports each subscription partition's lag whenever metrics are collected; returns what stops it. */
  observeLag(status: () => Promise<ReadonlyArray<{ readonly name: string; readonly partition: number; readonly lag: number }>>): () => void {
    const gauge = this.lag;
    if (gauge === undefined) return () => {};
    const callback: Otel.ObservableCallback = async (result) => {
      for (const row of await status()) result.observe(row.lag, { "meowmx.subscription": row.name, "meowmx.partition": row.partition });
    };
    gauge.addCallback(callback);
    return () => gauge.removeCallback(callback);
  }
}

function spanContextOf(traceparent: string): Otel.SpanContext | undefined {
  const match = TRACEPARENT.exec(traceparent);
  if (match === null) return undefined;
  return { traceId: match[1]!, spanId: match[2]!, traceFlags: Number.parseInt(match[3]!, 16), isRemote: true };
}
