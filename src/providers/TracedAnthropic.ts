/**
 * Traced Anthropic models: `layer` is `AnthropicLanguageModel.layer` with every call a CHAT_MODEL span
 * (see `TracedLanguageModel`), `embeddingLayer` is `OpenAiEmbeddingModel.layerBatched` with
 * EMBEDDING spans. Request parameters come from the layer's configuration and from
 * `AnthropicLanguageModel.withConfigOverride`, per call. Both need an `AnthropicClient`.
 *
 * @example
 * import { AnthropicClient } from "@effect/ai-anthropic"
 * import { FetchHttpClient } from "@effect/platform"
 * import { Config, Layer } from "effect"
 * import * as TracedAnthropic from "effect-mlflow/providers/TracedAnthropic"
 *
 * const Model = TracedAnthropic.layer({ model: "claude-sonnet-4-5", config: { temperature: 0.2 } }).pipe(
 *   Layer.provide(AnthropicClient.layerConfig({ apiKey: Config.redacted("ANTHROPIC_API_KEY") })),
 *   Layer.provide(FetchHttpClient.layer)
 * )
 *
 * @since 0.1.0
 */
import type { AnthropicClient } from "@effect/ai-anthropic/AnthropicClient"
import * as AnthropicLanguageModel from "@effect/ai-anthropic/AnthropicLanguageModel"
import type * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Layer from "effect/Layer"
import { tracedVendorLayer } from "../internal/llm/providerParameters.js"
import type * as TracedLanguageModel from "./TracedLanguageModel.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options extends Omit<TracedLanguageModel.Options, "provider" | "model" | "parameters"> {
  readonly model: (string & {}) | AnthropicLanguageModel.Model
  readonly config?: Omit<AnthropicLanguageModel.Config.Service, "model"> | undefined
}

/**
 * A traced Anthropic language model (Messages API).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<LanguageModel.LanguageModel, never, AnthropicClient> => {
  const { config, model, ...trace } = options
  return tracedVendorLayer({
    provider: "anthropic",
    spanName: "AnthropicLanguageModel",
    model,
    config,
    overrides: AnthropicLanguageModel.Config.getOrUndefined,
    notSent: ["disableParallelToolCalls"],
    trace,
    make: AnthropicLanguageModel.make(config === undefined ? { model } : { model, config })
  })
}
