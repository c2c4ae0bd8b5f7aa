/**
 * In-memory tracing for tests: provide `TestTracing.layer` instead of `MlflowTracingLive`, run the
 * program, then assert on `TestTracing.traces`. No network, no MLflow.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as MlflowConfig from "../MlflowConfig.js"
import { MlflowTracing } from "../MlflowTracing.js"
import * as MlflowTracingModule from "../MlflowTracing.js"
import type { Sink } from "../Sink.js"
import type { SpanType } from "../SpanType.js"
import { SpanAttributeKey, type SpanData, type Trace } from "../Trace.js"

/**
 * The traces recorded so far.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Flushes, then answers every trace exported so far, in export order. */
  readonly traces: Effect.Effect<ReadonlyArray<Trace>>
  /** Spans that ended after their trace was exported. */
  readonly lateSpans: Effect.Effect<ReadonlyArray<SpanData>>
  readonly clear: Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class TestTraces extends Context.Tag("effect-mlflow/TestTraces")<TestTraces, Service>() {}

/**
 * Tracing into memory, with the same pipeline as production (assembly, finalization, queue).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: MlflowConfig.Options = {}): Layer.Layer<MlflowTracing | TestTraces> =>
  Layer.unwrapEffect(Effect.sync(() => {
    const traces: Array<Trace> = []
    const late: Array<SpanData> = []
    const sink: Sink = {
      export: (batch) => Effect.sync(() => void traces.push(...batch)),
      exportLateSpans: (_traceId, spans) => Effect.sync(() => void late.push(...spans))
    }
    const tracing = Layer.orDie(MlflowTracingModule.layerSink(sink, { workers: 1, ...options }))
    const test = Layer.effect(
      TestTraces,
      Effect.map(MlflowTracing, (service) =>
        TestTraces.of({
          traces: Effect.zipRight(service.flush(), Effect.sync(() => traces.slice())),
          lateSpans: Effect.zipRight(service.flush(), Effect.sync(() => late.slice())),
          clear: Effect.sync(() => {
            traces.length = 0
            late.length = 0
          })
        }))
    )
    return Layer.provideMerge(test, tracing)
  }))

/**
 * Every trace recorded so far (flushes first).
 *
 * @since 0.1.0
 * @category accessors
 */
export const traces: Effect.Effect<ReadonlyArray<Trace>, never, TestTraces> = Effect.flatMap(
  TestTraces,
  (service) => service.traces
)

/**
 * The span named `name` in a trace.
 *
 * @since 0.1.0
 * @category utils
 */
export const findSpan = (trace: Trace, name: string): SpanData | undefined =>
  trace.spans.find((span) => span.name === name)

/**
 * The spans of a trace whose `mlflow.spanType` is `spanType`, in trace order.
 *
 * @since 0.1.0
 * @category utils
 */
export const spansOfType = (trace: Trace, spanType: SpanType): ReadonlyArray<SpanData> =>
  trace.spans.filter((span) => (span.attributes[SpanAttributeKey.SPAN_TYPE] ?? "UNKNOWN") === spanType)

/**
 * The children of a span in a trace.
 *
 * @since 0.1.0
 * @category utils
 */
export const childrenOf = (trace: Trace, span: SpanData): ReadonlyArray<SpanData> =>
  trace.spans.filter((child) => child.parentSpanId === span.spanId)
