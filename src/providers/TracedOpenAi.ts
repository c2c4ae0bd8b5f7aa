/**
 * Traced OpenAI models: `layer` is `OpenAiLanguageModel.layer` with every call a CHAT_MODEL span
 * (see `TracedLanguageModel`), `embeddingLayer` is `OpenAiEmbeddingModel.layerBatched` with
 * EMBEDDING spans. Request parameters come from the layer's configuration and from
 * `OpenAiLanguageModel.withConfigOverride`, per call. Both need an `OpenAiClient`.
 *
 * @example
 * import { OpenAiClient } from "@effect/ai-openai"
 * import { FetchHttpClient } from "@effect/platform"
 * import { Config, Layer } from "effect"
 * import * as TracedOpenAi from "effect-mlflow/providers/TracedOpenAi"
 *
 * const Model = TracedOpenAi.layer({ model: "gpt-4o-mini", config: { temperature: 0.2 } }).pipe(
 *   Layer.provide(OpenAiClient.layerConfig({ apiKey: Config.redacted("OPENAI_API_KEY") })),
 *   Layer.provide(FetchHttpClient.layer)
 * )
 *
 * @since 0.1.0
 */
import type { OpenAiClient } from "@effect/ai-openai/OpenAiClient"
import * as OpenAiEmbeddingModel from "@effect/ai-openai/OpenAiEmbeddingModel"
import * as OpenAiLanguageModel from "@effect/ai-openai/OpenAiLanguageModel"
import type * as EmbeddingModel from "@effect/ai/EmbeddingModel"
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import { tracedVendorLayer } from "../internal/llm/providerParameters.js"
import * as TracedEmbeddingModel from "./TracedEmbeddingModel.js"
import type * as TracedLanguageModel from "./TracedLanguageModel.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options extends Omit<TracedLanguageModel.Options, "provider" | "model" | "parameters"> {
  readonly model: (string & {}) | OpenAiLanguageModel.Model
  readonly config?: Omit<OpenAiLanguageModel.Config.Service, "model"> | undefined
}

/**
 * A traced OpenAI language model (Responses API).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<LanguageModel.LanguageModel, never, OpenAiClient> => {
  const { config, model, ...trace } = options
  return tracedVendorLayer({
    provider: "openai",
    spanName: "OpenAiLanguageModel",
    model,
    config,
    overrides: OpenAiLanguageModel.Config.getOrUndefined,
    notSent: ["fileIdPrefixes", "strict"],
    trace,
    make: OpenAiLanguageModel.make(config === undefined ? { model } : { model, config })
  })
}

/**
 * @since 0.1.0
 * @category models
 */
export interface EmbeddingOptions extends Omit<TracedEmbeddingModel.Options, "provider" | "model"> {
  readonly model: (string & {}) | OpenAiEmbeddingModel.Model
  /**
   * `OpenAiEmbeddingModel.Config.Batched` (calls batched per request, the default), or a
   * `Config.DataLoader` (with a `window`: calls from many fibers gathered into one request)
   */
  readonly config?: OpenAiEmbeddingModel.Config.Batched | OpenAiEmbeddingModel.Config.DataLoader | undefined
}

/**
 * A traced OpenAI embedding model: `OpenAiEmbeddingModel.layerBatched`, or with a `window` in the
 * configuration, `layerDataLoader`. A data loader sends its requests from a fiber of its own,
 * started when the layer is built; that fiber runs with tracing off, so its HTTP calls do not
 * become traces of their own.
 *
 * @since 0.1.0
 * @category layers
 */
export const embeddingLayer = (
  options: EmbeddingOptions
): Layer.Layer<EmbeddingModel.EmbeddingModel, never, OpenAiClient> => {
  const { config, model, ...trace } = options
  const plain = config !== undefined && "window" in config
    ? Layer.locally(OpenAiEmbeddingModel.layerDataLoader({ model, config }), FiberRef.currentTracerEnabled, false)
    : OpenAiEmbeddingModel.layerBatched(config === undefined ? { model } : { model, config })
  return TracedEmbeddingModel.layer({ spanName: "OpenAiEmbeddingModel", ...trace, provider: "openai", model }).pipe(
    Layer.provide(plain)
  )
}
