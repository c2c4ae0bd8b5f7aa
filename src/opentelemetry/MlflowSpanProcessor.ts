/**
 * An OpenTelemetry `SpanProcessor` that records every span it sees into MLflow traces, through the
 * same pipeline as `MlflowTracing.layer` (bounded queue, workers, retries, redaction, budgets, trace
 * info finalized as ours). For an existing OpenTelemetry set-up: `@effect/opentelemetry`'s `NodeSdk`
 * (see `layerNodeSdk`), or the plain OpenTelemetry JS SDK (see `create`). Effect's spans and those
 * of OpenTelemetry auto-instrumentations and vendor SDKs land in one MLflow trace, while the other
 * span processors of the set-up go on exporting wherever they did.
 *
 * Needs the optional peers `@opentelemetry/api`, `@opentelemetry/sdk-trace-base` (and for
 * `layerNodeSdk`, `@effect/opentelemetry`); the rest of the library does not load them.
 *
 * @example
 * import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import type * as Resource from "@effect/opentelemetry/Resource"
 * import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base"
 * import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http"
 * import * as MlflowSpanProcessor from "effect-mlflow/opentelemetry/MlflowSpanProcessor"
 *
 * // every span goes to the OTLP exporter as before, and to MLflow
 * const Tracing = MlflowSpanProcessor.layerNodeSdk((mlflow) => ({
 *   resource: { serviceName: "checkout" },
 *   spanProcessor: [mlflow, new BatchSpanProcessor(new OTLPTraceExporter())]
 * }), { trackingUri: "http://127.0.0.1:5000", experimentName: "checkout" })
 *
 * @since 0.2.0
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import type * as Resource from "@effect/opentelemetry/Resource"
import type { Context as OtelContext, HrTime } from "@opentelemetry/api"
import type { ReadableSpan, Span, SpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import type { Json } from "../internal/common/json.js"
import { SpanAttributeKey } from "../internal/common/keys.js"
import type { OpenSpan, TraceAssembler, TraceRecord } from "../internal/tracing/assembler.js"
import * as Pipelines from "../internal/tracing/pipelines.js"
import type * as MlflowConfig from "../MlflowConfig.js"
import * as MlflowTracing from "../MlflowTracing.js"
import type { SpanData, SpanEvent } from "../Trace.js"

/**
 * The span processor, with the pipeline's service (`flush`, `stats`).
 *
 * @since 0.2.0
 * @category models
 */
export interface MlflowSpanProcessor extends SpanProcessor {
  readonly service: MlflowTracing.Service
}

const KINDS: ReadonlyArray<SpanData["kind"]> = ["internal", "server", "client", "producer", "consumer"]
const STATUS: ReadonlyArray<SpanData["status"]["code"]> = ["UNSET", "OK", "ERROR"]

const nanosOf = (time: HrTime): bigint => BigInt(time[0]) * 1_000_000_000n + BigInt(time[1])
const hrTimeOf = (nanos: bigint): HrTime => [Number(nanos / 1_000_000_000n), Number(nanos % 1_000_000_000n)]

/**
 * MLflow-aware OpenTelemetry code (MLflow's own SDKs, `@effect/opentelemetry` for our `Mlflow.span`)
 * writes `mlflow.*` values as JSON text; the pipeline keeps them decoded.
 */
const attributeValue = (key: string, value: unknown): Json => {
  if (value === undefined) return null
  if (Array.isArray(value)) return value.map((item) => item === undefined ? null : item as Json)
  if (typeof value === "string" && key.startsWith("mlflow.") && /^[[{"]/.test(value)) {
    try {
      return JSON.parse(value) as Json
    } catch {
      return value
    }
  }
  return value as Json
}

const attributesOf = (attributes: ReadableSpan["attributes"]): Record<string, Json> => {
  const out: Record<string, Json> = {}
  for (const key in attributes) out[key] = attributeValue(key, attributes[key])
  return out
}

const toData = (span: ReadableSpan, record: TraceRecord): SpanData => {
  const context = span.spanContext()
  const parent = span.parentSpanContext
  const attributes: Record<string, Json> = {
    [SpanAttributeKey.REQUEST_ID]: record.mlflowTraceId,
    [SpanAttributeKey.SPAN_TYPE]: "UNKNOWN",
    ...attributesOf(span.attributes)
  }
  const events: Array<SpanEvent> = span.events.map((event) => ({
    name: event.name,
    timeUnixNano: nanosOf(event.time),
    attributes: attributesOf(event.attributes ?? {})
  }))
  return {
    traceId: context.traceId,
    spanId: context.spanId,
    parentSpanId: parent !== undefined && parent.traceId === context.traceId ? parent.spanId : null,
    name: span.name,
    kind: KINDS[span.kind] ?? "internal",
    startTimeUnixNano: nanosOf(span.startTime),
    endTimeUnixNano: nanosOf(span.endTime),
    status: {
      code: STATUS[span.status.code] ?? "UNSET",
      message: span.status.message ?? ""
    },
    attributes,
    events,
    ...(span.links.length === 0 ? {} : {
      links: span.links.map((link) => ({
        traceId: link.context.traceId,
        spanId: link.context.spanId,
        attributes: attributesOf(link.attributes ?? {})
      }))
    })
  }
}

/** The processor over a running pipeline's assembler. */
const processorOver = (
  assembler: TraceAssembler,
  service: MlflowTracing.Service,
  close: () => Promise<void>
): MlflowSpanProcessor => {
  const open = new WeakMap<object, { readonly record: TraceRecord; readonly span: OpenSpan }>()
  let closed = false
  return {
    service,
    onStart: (span: Span, _parentContext: OtelContext) => {
      const context = span.spanContext()
      // OpenTelemetry's sampler decided: only sampled spans are recorded
      if (closed || (context.traceFlags & 1) === 0) return
      const record = assembler.find(context.traceId) ??
        assembler.open(context.traceId, nanosOf(span.startTime), true)
      const entry: OpenSpan = {
        spanId: context.spanId,
        forceEnd: (nowNanos, message) => {
          span.setStatus({ code: 2, message })
          span.end(hrTimeOf(nowNanos))
        }
      }
      open.set(span, { record, span: entry })
      assembler.spanStarted(record, entry)
    },
    onEnd: (span: ReadableSpan) => {
      const entry = open.get(span)
      if (entry === undefined) return
      open.delete(span)
      try {
        assembler.spanEnded(entry.record, entry.span, toData(span, entry.record))
      } catch {
        // a span this processor cannot read is left out, never thrown into the instrumented code
      }
    },
    forceFlush: () => Effect.runPromise(Effect.asVoid(service.flush())),
    shutdown: () => {
      if (closed) return Promise.resolve()
      closed = true
      return close()
    }
  }
}

/**
 * The processor, with its pipeline living in the current scope (closing it flushes).
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (
  options: MlflowConfig.Options = {}
): Effect.Effect<MlflowSpanProcessor, MlflowConfig.MlflowConfigError, Scope.Scope> =>
  Effect.map(
    MlflowTracing.pipeline(options),
    ({ assembler, service }) =>
      processorOver(assembler, service, () => Effect.runPromise(Effect.asVoid(service.flush())))
  )

/**
 * The processor for the plain OpenTelemetry JS SDK: resolves once the pipeline is ready; the
 * tracer provider's `shutdown` (which calls the processor's) flushes and stops it.
 *
 * @example
 * import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base"
 * import * as MlflowSpanProcessor from "effect-mlflow/opentelemetry/MlflowSpanProcessor"
 *
 * const mlflow = await MlflowSpanProcessor.create({ trackingUri: "http://127.0.0.1:5000" })
 * const provider = new BasicTracerProvider({ spanProcessors: [mlflow] })
 *
 * @since 0.2.0
 * @category constructors
 */
export const create = async (options: MlflowConfig.Options = {}): Promise<MlflowSpanProcessor> => {
  const scope = Effect.runSync(Scope.make())
  const { assembler, service } = await Effect.runPromise(
    Scope.extend(MlflowTracing.pipeline(options), scope).pipe(
      Effect.tapErrorCause(() => Scope.close(scope, Exit.void))
    )
  )
  return processorOver(assembler, service, () => Effect.runPromise(Scope.close(scope, Exit.void)))
}

/**
 * A processor over the pipeline of the `MlflowTracing` layer in context, for the OpenTelemetry
 * provider of auto-instrumentations and vendor SDKs: their spans started inside ours (see
 * `OtelContext.layer`) join our traces. The layer owns the pipeline: the processor's `shutdown`
 * only stops it recording.
 *
 * @since 0.2.0
 * @category constructors
 */
export const fromTracing: Effect.Effect<MlflowSpanProcessor, never, MlflowTracing.MlflowTracing> = Effect.map(
  MlflowTracing.MlflowTracing,
  (service) => {
    const assembler = Pipelines.assemblerOf(service)
    if (assembler === undefined) throw new Error("effect-mlflow: this MlflowTracing service has no pipeline")
    return processorOver(assembler, service, () => Promise.resolve())
  }
)

/**
 * `NodeSdk.layer` with this processor given to `configure` (put it beside your own processors),
 * and the pipeline's `MlflowTracing` service (`flush`, `stats`); releasing the layer shuts the SDK
 * down, then flushes the pipeline.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerNodeSdk = (
  configure: (mlflow: MlflowSpanProcessor) => NodeSdk.Configuration,
  options: MlflowConfig.Options = {}
): Layer.Layer<MlflowTracing.MlflowTracing | Resource.Resource, MlflowConfig.MlflowConfigError> =>
  Layer.unwrapScoped(
    Effect.map(make(options), (processor) =>
      Layer.merge(
        NodeSdk.layer(() => configure(processor)),
        Layer.succeed(MlflowTracing.MlflowTracing, processor.service)
      ))
  )
