import type * as EmbeddingModel from "@effect/ai/EmbeddingModel"
import * as Effect from "effect/Effect"
import type * as Tracer from "effect/Tracer"
import type { Options as EmbeddingTraceOptions } from "../../providers/TracedEmbeddingModel.js"
import { SpanAttributeKey } from "../common/keys.js"
import { mergeSpanInto } from "./providerScope.js"

// the options are the public module's
export type { EmbeddingTraceOptions }

const outputs = (vectors: ReadonlyArray<ReadonlyArray<number>>, recordVectors: boolean): unknown =>
  recordVectors
    ? { object: "list", data: vectors.map((embedding, index) => ({ object: "embedding", index, embedding })) }
    : { count: vectors.length, dimensions: vectors[0]?.length ?? 0 }

/**
 * An `EmbeddingModel` whose calls are EMBEDDING spans.
 *
 * @internal
 */
export const traceEmbeddingModel = (
  service: EmbeddingModel.Service,
  options: EmbeddingTraceOptions
): EmbeddingModel.Service => {
  const spanName = options.spanName ?? "EmbeddingModel"
  const recordVectors = options.recordVectors ?? false
  const traced = <E>(
    method: string,
    input: ReadonlyArray<string>,
    call: Effect.Effect<ReadonlyArray<ReadonlyArray<number>>, E>
  ) =>
    Effect.useSpan(`${spanName}.${method}`, { kind: "client", captureStackTrace: false }, (span: Tracer.Span) => {
      if (span.sampled) {
        span.attribute(SpanAttributeKey.SPAN_TYPE, "EMBEDDING")
        if (options.provider !== undefined) span.attribute(SpanAttributeKey.PROVIDER, options.provider)
        if (options.model !== undefined) span.attribute(SpanAttributeKey.MODEL, options.model)
        span.attribute(SpanAttributeKey.INPUTS, { ...(options.model ? { model: options.model } : {}), input })
      }
      return (options.propagateTraceContext
        ? mergeSpanInto(call, `EmbeddingModel.${method}`, span)
        : Effect.withTracerEnabled(call, false)).pipe(
          Effect.tap((vectors) => {
            if (span.sampled) span.attribute(SpanAttributeKey.OUTPUTS, outputs(vectors, recordVectors))
          }),
          Effect.withParentSpan(span)
        )
    })
  return {
    embed: (input) =>
      traced("embed", [input], Effect.map(service.embed(input), (vector) => [vector])).pipe(
        Effect.map((vectors) => vectors[0] as Array<number>)
      ),
    embedMany: (inputs, callOptions) =>
      traced("embedMany", inputs, service.embedMany(inputs, callOptions)) as Effect.Effect<
        Array<Array<number>>,
        any
      >
  }
}
