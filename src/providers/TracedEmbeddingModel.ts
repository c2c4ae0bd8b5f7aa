/**
 * Traced `@effect/ai` embedding models: `embed` and `embedMany` calls become EMBEDDING spans
 * with the texts as inputs. The provider's own work (its `EmbeddingModel.*` and HTTP spans, and
 * the `traceparent` header) is not traced unless `propagateTraceContext` is set.
 *
 * @since 0.1.0
 */
import * as EmbeddingModel from "@effect/ai/EmbeddingModel"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import { traceEmbeddingModel } from "../internal/llm/embeddings.js"

/**
 * What to record besides the call itself; every field is optional.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** `mlflow.llm.provider`, e.g. `"openai"` */
  readonly provider?: string | undefined
  /** `mlflow.llm.model` */
  readonly model?: string | undefined
  /** spans are named `<spanName>.embed` and `<spanName>.embedMany`; default `"EmbeddingModel"` */
  readonly spanName?: string | undefined
  /**
   * Record the vectors themselves as outputs; default `false`: outputs say how many vectors of
   * which dimension came back, which keeps traces small.
   */
  readonly recordVectors?: boolean | undefined
  /** let the provider's HTTP client create its spans and send `traceparent`; default `false` */
  readonly propagateTraceContext?: boolean | undefined
}

/**
 * Wraps an `EmbeddingModel` service so that its calls are traced.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (service: EmbeddingModel.Service, options: Options = {}): EmbeddingModel.Service =>
  traceEmbeddingModel(service, options)

/**
 * A layer that replaces the `EmbeddingModel` it is given with a traced one. A data-loader model
 * (`EmbeddingModel.makeDataLoader`) sends requests from a fiber started when its layer is built;
 * build that layer with `Layer.locally(FiberRef.currentTracerEnabled, false)` so that its HTTP
 * calls do not become traces of their own (`TracedOpenAi.embeddingLayer` does this).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<EmbeddingModel.EmbeddingModel, never, EmbeddingModel.EmbeddingModel> =>
  Layer.effect(
    EmbeddingModel.EmbeddingModel,
    Effect.map(EmbeddingModel.EmbeddingModel, (service) => make(service, options))
  )

/**
 * A plain `EmbeddingModel` layer, traced: `fromLayer(layer, options)` is
 * `layer(options).pipe(Layer.provide(layer))`.
 *
 * @example
 * import { OpenAiEmbeddingModel } from "@effect/ai-openai"
 * import * as TracedEmbeddingModel from "effect-mlflow/providers/TracedEmbeddingModel"
 *
 * const Embeddings = OpenAiEmbeddingModel.layerBatched({ model: "text-embedding-3-small" }).pipe(
 *   TracedEmbeddingModel.fromLayer({ provider: "openai", model: "text-embedding-3-small" })
 * )
 *
 * @since 0.1.0
 * @category layers
 */
export const fromLayer: {
  (
    options?: Options
  ): <E, R>(self: Layer.Layer<EmbeddingModel.EmbeddingModel, E, R>) => Layer.Layer<EmbeddingModel.EmbeddingModel, E, R>
  <E, R>(
    self: Layer.Layer<EmbeddingModel.EmbeddingModel, E, R>,
    options?: Options
  ): Layer.Layer<EmbeddingModel.EmbeddingModel, E, R>
} = dual(
  (args) => Layer.isLayer(args[0]),
  <E, R>(
    self: Layer.Layer<EmbeddingModel.EmbeddingModel, E, R>,
    options: Options = {}
  ): Layer.Layer<EmbeddingModel.EmbeddingModel, E, R> => Layer.provide(layer(options), self)
)
