/**
 * A sink that hands finished traces to an OpenTelemetry `SpanExporter` (the one your tracer
 * provider exports with: OTLP, Jaeger, Zipkin, a vendor's), with the same trace and span ids as in
 * MLflow. For users of this library's tracer who also keep an OpenTelemetry backend: pass it as
 * `alsoExportTo`, and it gets its own queue, retries and counts (`Stats.destinations`).
 *
 * Needs the optional peers `@opentelemetry/api`, `@opentelemetry/sdk-trace-base` and
 * `@opentelemetry/resources`.
 *
 * @example
 * import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http"
 * import { MlflowTracing } from "effect-mlflow"
 * import * as OtelExporterSink from "effect-mlflow/opentelemetry/OtelExporterSink"
 *
 * const Tracing = MlflowTracing.layer({
 *   trackingUri: "http://127.0.0.1:5000",
 *   alsoExportTo: { tempo: OtelExporterSink.make(new OTLPTraceExporter(), { serviceName: "checkout" }) }
 * })
 *
 * @since 0.2.0
 */
import type { Attributes, AttributeValue, HrTime, SpanContext } from "@opentelemetry/api"
import { resourceFromAttributes } from "@opentelemetry/resources"
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base"
import * as Effect from "effect/Effect"
import type { Json } from "../internal/common/json.js"
import { ExportError } from "../internal/export/sink.js"
import { plainAttributes } from "../internal/format/plainAttributes.js"
import type { Sink } from "../Sink.js"
import type { SpanData } from "../Trace.js"

/**
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** `service.name` of the resource (OpenTelemetry's default: `unknown_service:node`) */
  readonly serviceName?: string | undefined
  /** more resource attributes */
  readonly resourceAttributes?: Readonly<Record<string, string | number | boolean>> | undefined
}

const KIND: Record<SpanData["kind"], number> = { internal: 0, server: 1, client: 2, producer: 3, consumer: 4 }
const STATUS: Record<SpanData["status"]["code"], number> = { UNSET: 0, OK: 1, ERROR: 2 }

const hrTime = (nanos: bigint): HrTime => [Number(nanos / 1_000_000_000n), Number(nanos % 1_000_000_000n)]

/** OpenTelemetry attributes (see `plainAttributes`), without the unset ones */
const attributes = (values: Readonly<Record<string, Json>>): Attributes => {
  const out: Record<string, AttributeValue> = {}
  const plain = plainAttributes(values)
  for (const key in plain) {
    const value = plain[key]
    if (value !== null) out[key] = value as AttributeValue
  }
  return out
}

/**
 * @since 0.2.0
 * @category constructors
 */
export const make = (exporter: SpanExporter, options: Options = {}): Sink => {
  const resource = resourceFromAttributes({
    "service.name": options.serviceName ?? "unknown_service:node",
    ...options.resourceAttributes,
    "telemetry.sdk.name": "effect-mlflow",
    "telemetry.sdk.language": "nodejs"
  })
  const scope = { name: "effect-mlflow" }
  const readable = (span: SpanData): ReadableSpan => {
    const context: SpanContext = { traceId: span.traceId, spanId: span.spanId, traceFlags: 1 }
    const start = hrTime(span.startTimeUnixNano)
    return {
      name: span.name,
      kind: KIND[span.kind],
      spanContext: () => context,
      ...(span.parentSpanId === null
        ? {}
        : { parentSpanContext: { traceId: span.traceId, spanId: span.parentSpanId, traceFlags: 1 } }),
      startTime: start,
      endTime: hrTime(span.endTimeUnixNano),
      duration: hrTime(span.endTimeUnixNano - span.startTimeUnixNano),
      status: { code: STATUS[span.status.code], ...(span.status.message ? { message: span.status.message } : {}) },
      attributes: attributes(span.attributes),
      links: (span.links ?? []).map((link) => ({
        context: { traceId: link.traceId, spanId: link.spanId, traceFlags: 1 },
        attributes: attributes(link.attributes)
      })),
      events: span.events.map((event) => ({
        name: event.name,
        time: hrTime(event.timeUnixNano),
        attributes: attributes(event.attributes)
      })),
      ended: true,
      resource,
      instrumentationScope: scope,
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0
    }
  }
  const send = (spans: ReadonlyArray<SpanData>) =>
    Effect.async<void, ExportError>((resume) => {
      exporter.export(spans.map(readable), (result) => {
        if (result.code === 0) return resume(Effect.void)
        const detail = result.error?.message ?? "the OpenTelemetry exporter failed"
        // OpenTelemetry exporters retry what they can themselves: a failure they report is final
        resume(Effect.fail(new ExportError({ detail, retryable: false, reason: "OpenTelemetry exporter failed" })))
      })
    })
  return {
    export: (traces) => send(traces.flatMap((trace) => trace.spans)),
    exportLateSpans: (_traceId, spans) => send(spans)
  }
}
