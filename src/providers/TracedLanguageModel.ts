/**
 * Traced `@effect/ai` language models: every `generateText`, `generateObject` and `streamText`
 * call becomes a CHAT_MODEL span in MLflow's conventions, whatever the provider.
 *
 * - inputs: the prompt as OpenAI chat messages, the tools, tool choice and request parameters;
 * - outputs: an OpenAI `chat.completion` with the text and tool calls (`mlflow.message.format`
 *   is `"openai"` for every provider, so MLflow's chat view renders them);
 * - `mlflow.chat.tokenUsage` (with cached input tokens when the provider reports them),
 *   `mlflow.chat.tools`, `mlflow.llm.model`, `mlflow.llm.provider`, and each request parameter as
 *   an attribute of its own;
 * - a tool call resolved through the call's `Toolkit` is a TOOL span (arguments in, result out);
 * - a stream's span lives until the stream ends, fails, is interrupted or abandoned: chunks are
 *   `mlflow.chunk.item.N` events (at most `maxChunkEvents`), the aggregated message is the output,
 *   the time to first token is `effect_mlflow.time_to_first_token_ms`.
 *
 * The provider's own work runs with tracing off: no duplicate `LanguageModel.*` or HTTP spans, and
 * no `traceparent` header reaches the vendor unless `propagateTraceContext` is set.
 *
 * @since 0.1.0
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import { settings, traceLanguageModel } from "../internal/llm/languageModel.js"

/**
 * What to record besides the call itself; every field is optional.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** `mlflow.llm.provider`, e.g. `"openai"` */
  readonly provider?: string | undefined
  /** `mlflow.llm.model` until a response names the model it used */
  readonly model?: string | undefined
  /** request parameters recorded as attributes and in the inputs (temperature, max tokens...) */
  readonly parameters?: Readonly<Record<string, unknown>> | undefined
  /** spans are named `<spanName>.generateText` and so on; default `"LanguageModel"` */
  readonly spanName?: string | undefined
  /**
   * Let the provider's HTTP client create its spans and send our `traceparent` to the vendor;
   * default `false`.
   */
  readonly propagateTraceContext?: boolean | undefined
  /** stream chunks recorded as span events, the rest are counted; default 1000 */
  readonly maxChunkEvents?: number | undefined
}

/**
 * Wraps a `LanguageModel` service so that its calls are traced.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (service: LanguageModel.Service, options: Options = {}): LanguageModel.Service =>
  traceLanguageModel(service, settings(options))

/**
 * A layer that replaces the `LanguageModel` it is given with a traced one. Provide the plain
 * provider layer to it:
 *
 * @example
 * import { OpenAiLanguageModel } from "@effect/ai-openai"
 * import { Layer } from "effect"
 * import * as TracedLanguageModel from "effect-mlflow/providers/TracedLanguageModel"
 *
 * const Model = TracedLanguageModel.layer({ provider: "openai" }).pipe(
 *   Layer.provide(OpenAiLanguageModel.layer({ model: "gpt-4o-mini" }))
 * )
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<LanguageModel.LanguageModel, never, LanguageModel.LanguageModel> =>
  Layer.effect(
    LanguageModel.LanguageModel,
    Effect.map(LanguageModel.LanguageModel, (service) => make(service, options))
  )

/**
 * A plain `LanguageModel` layer, traced: `fromLayer(layer, options)` is
 * `layer(options).pipe(Layer.provide(layer))`.
 *
 * @example
 * import { OpenAiLanguageModel } from "@effect/ai-openai"
 * import * as TracedLanguageModel from "effect-mlflow/providers/TracedLanguageModel"
 *
 * const Model = OpenAiLanguageModel.layer({ model: "gpt-4o-mini" }).pipe(
 *   TracedLanguageModel.fromLayer({ provider: "openai" })
 * )
 *
 * @since 0.1.0
 * @category layers
 */
export const fromLayer: {
  (
    options?: Options
  ): <E, R>(self: Layer.Layer<LanguageModel.LanguageModel, E, R>) => Layer.Layer<LanguageModel.LanguageModel, E, R>
  <E, R>(
    self: Layer.Layer<LanguageModel.LanguageModel, E, R>,
    options?: Options
  ): Layer.Layer<LanguageModel.LanguageModel, E, R>
} = dual(
  (args) => Layer.isLayer(args[0]),
  <E, R>(
    self: Layer.Layer<LanguageModel.LanguageModel, E, R>,
    options: Options = {}
  ): Layer.Layer<LanguageModel.LanguageModel, E, R> => Layer.provide(layer(options), self)
)
