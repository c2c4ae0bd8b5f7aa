/**
 * Makes the current span of this library's tracer the active OpenTelemetry context while its
 * effects run, so that spans made with `@opentelemetry/api` inside it (auto-instrumentations,
 * vendor SDKs) become its children. Register `MlflowSpanProcessor.fromTracing` with the
 * OpenTelemetry provider they use and they are recorded into the same MLflow trace.
 *
 * Needs the optional peer `@opentelemetry/api` (and a context manager, as any OpenTelemetry set-up:
 * `NodeTracerProvider.register()` installs one).
 *
 * @example
 * import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node"
 * import { Effect, Layer } from "effect"
 * import { MlflowTracing } from "effect-mlflow"
 * import * as MlflowSpanProcessor from "effect-mlflow/opentelemetry/MlflowSpanProcessor"
 * import * as OtelContext from "effect-mlflow/opentelemetry/OtelContext"
 *
 * const Tracing = OtelContext.layer.pipe(Layer.provideMerge(MlflowTracing.layer()))
 * const registerOtel = Effect.map(MlflowSpanProcessor.fromTracing, (mlflow) =>
 *   new NodeTracerProvider({ spanProcessors: [mlflow] }).register())
 *
 * @since 0.2.0
 */
import * as OtelApi from "@opentelemetry/api"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as InternalTracer from "../internal/tracing/tracer.js"
import type * as MlflowTracing from "../MlflowTracing.js"

/**
 * Wraps the tracer of the `MlflowTracing` layer below it (a warning, and nothing changed, when the
 * tracer in place is not ours).
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: Layer.Layer<never, never, MlflowTracing.MlflowTracing> = Layer.unwrapEffect(
  Effect.gen(function*() {
    const tracer = yield* Effect.tracer
    if (!InternalTracer.isMlflowTracer(tracer)) {
      yield* Effect.logWarning("effect-mlflow: OtelContext.layer must be provided over an MLflow tracing layer")
      return Layer.empty
    }
    return Layer.setTracer(InternalTracer.withContext(tracer, (execution, fiber) => {
      const span = fiber.currentSpan
      if (span === undefined) return execution()
      const context = OtelApi.trace.setSpanContext(OtelApi.context.active(), {
        traceId: span.traceId,
        spanId: span.spanId,
        traceFlags: span.sampled ? OtelApi.TraceFlags.SAMPLED : OtelApi.TraceFlags.NONE,
        isRemote: false
      })
      return OtelApi.context.with(context, execution)
    }))
  })
)
