import type * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Tool from "@effect/ai/Tool"
import type * as Toolkit from "@effect/ai/Toolkit"
import type * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Stream from "effect/Stream"
import type * as Tracer from "effect/Tracer"
import type { Options as LlmTraceOptions } from "../../providers/TracedLanguageModel.js"
import { SpanAttributeKey } from "../common/keys.js"
import * as ChatFormat from "./chatFormat.js"
import * as Completion from "./completion.js"
import { mergeSpanInto, streamMergingSpanInto, streamWithTracerDisabled, tracerEnabled } from "./providerScope.js"
import { safely, streamInSpan, type StreamObserver } from "./streamSpan.js"

// the options are the public module's
export type { LlmTraceOptions }

/** @internal */
export const TIME_TO_FIRST_TOKEN = "effect_mlflow.time_to_first_token_ms"
/** @internal */
export const CHUNKS_DROPPED = "effect_mlflow.chunks_dropped"

/**
 * How a language model's calls are traced.
 *
 * @internal
 */
export interface LlmTraceSettings {
  readonly spanName: string
  readonly provider: string | undefined
  readonly model: string | undefined
  /** request parameters of one call (a provider may read per-call overrides from the context) */
  readonly parameters: Effect.Effect<Readonly<Record<string, unknown>>>
  readonly propagateTraceContext: boolean
  readonly maxChunkEvents: number
}

/**
 * Settings from options; `parameters` replaces the fixed ones when a provider reads per-call
 * overrides.
 *
 * @internal
 */
export const settings = (
  options: LlmTraceOptions,
  parameters?: Effect.Effect<Readonly<Record<string, unknown>>>
): LlmTraceSettings => ({
  spanName: options.spanName ?? "LanguageModel",
  provider: options.provider,
  model: options.model,
  parameters: parameters ?? Effect.succeed(options.parameters ?? {}),
  propagateTraceContext: options.propagateTraceContext ?? false,
  maxChunkEvents: Math.max(0, options.maxChunkEvents ?? 1000)
})

/** Parts that carry generated content: the first one marks the time to first token. */
const CONTENT_PARTS = new Set(["text-delta", "reasoning-delta", "tool-params-delta", "tool-call", "text"])

/** An error part reported inside an otherwise successful stream. */
class ProviderStreamError extends Error {
  override readonly name = "ProviderStreamError"
}

/** The recording side of one model call: the attributes of its CHAT_MODEL span. */
class LlmCall {
  private readonly inputs: Record<string, unknown>
  private readonly builder = new Completion.CompletionBuilder()
  private chunks = 0
  private firstToken = false
  private readonly startTime: bigint
  private readonly model: string | undefined
  private toolsKnown: boolean

  constructor(
    readonly span: Tracer.Span,
    readonly settings: LlmTraceSettings,
    parameters: Readonly<Record<string, unknown>>,
    options: CallOptions
  ) {
    this.startTime = span.status._tag === "Started" ? span.status.startTime : 0n
    const model = parameters.model ?? settings.model
    this.model = typeof model === "string" ? model : undefined
    this.inputs = {
      ...(model === undefined ? {} : { model }),
      ...parameters,
      messages: ChatFormat.messages(options.prompt)
    }
    // a `Toolkit` lists its tools before it is resolved; other toolkit effects do so when resolved
    const tools = (options.toolkit as { readonly tools?: Record<string, Tool.Any> } | undefined)?.tools
    this.toolsKnown = tools !== undefined
    if (tools !== undefined) this.setTools(Object.values(tools))
    if (options.toolChoice !== undefined) this.inputs.tool_choice = ChatFormat.toolChoice(options.toolChoice)
    if (options.schema !== undefined) {
      this.inputs.response_format = ChatFormat.responseFormat(options.objectName ?? "generateObject", options.schema)
    }
    span.attribute(SpanAttributeKey.SPAN_TYPE, "CHAT_MODEL")
    span.attribute(SpanAttributeKey.MESSAGE_FORMAT, "openai")
    if (settings.provider !== undefined) span.attribute(SpanAttributeKey.PROVIDER, settings.provider)
    if (typeof model === "string") span.attribute(SpanAttributeKey.MODEL, model)
    for (const key in parameters) {
      if (parameters[key] !== undefined) span.attribute(key, parameters[key])
    }
    span.attribute(SpanAttributeKey.INPUTS, this.inputs)
  }

  /** The tools of a toolkit known only once resolved. */
  resolvedTools(tools: ReadonlyArray<Tool.Any>): void {
    if (this.toolsKnown) return
    this.toolsKnown = true
    if (this.setTools(tools)) this.span.attribute(SpanAttributeKey.INPUTS, this.inputs)
  }

  private setTools(tools: ReadonlyArray<Tool.Any>): boolean {
    if (tools.length === 0) return false
    const definitions = ChatFormat.tools(tools)
    this.inputs.tools = definitions
    this.span.attribute(SpanAttributeKey.CHAT_TOOLS, definitions)
    return true
  }

  /** A whole response (`generateText`, `generateObject`). */
  response(parts: ReadonlyArray<{ readonly type: string }>): void {
    for (const part of parts) this.builder.add(part)
    this.complete()
  }

  /** Streamed parts as they reach the consumer. */
  chunk(items: Chunk.Chunk<{ readonly type: string }>, now: bigint): void {
    for (const part of items) {
      this.builder.add(part)
      if (!this.firstToken && CONTENT_PARTS.has(part.type)) {
        this.firstToken = true
        this.span.attribute(TIME_TO_FIRST_TOKEN, Number(now - this.startTime) / 1e6)
      }
      const index = this.chunks++
      if (index < this.settings.maxChunkEvents) {
        this.span.event(`mlflow.chunk.item.${index}`, now, { "mlflow.chunk.value": Completion.chunkValue(part) })
      }
    }
  }

  /** The stream is over: what arrived becomes the output, even when it ended early. */
  streamEnded(exit: Exit.Exit<unknown, unknown>): Exit.Exit<unknown, unknown> {
    const dropped = this.chunks - this.settings.maxChunkEvents
    if (dropped > 0) this.span.attribute(CHUNKS_DROPPED, dropped)
    const completion = this.complete()
    return Exit.isSuccess(exit) && completion.error !== undefined
      ? Exit.fail(new ProviderStreamError(completion.error))
      : exit
  }

  private complete(): Completion.Completion {
    const completion = this.builder.build(this.model)
    this.span.attribute(SpanAttributeKey.OUTPUTS, completion.output)
    if (completion.usage !== undefined) this.span.attribute(SpanAttributeKey.CHAT_USAGE, completion.usage)
    if (completion.model !== undefined) this.span.attribute(SpanAttributeKey.MODEL, completion.model)
    return completion
  }
}

/** Starts recording a call on a recorded span; recording that fails leaves the call untraced, never broken. */
const startCall = (
  span: Tracer.Span,
  settings: LlmTraceSettings,
  parameters: Readonly<Record<string, unknown>>,
  options: CallOptions
): LlmCall | undefined =>
  span.sampled ? safely(() => new LlmCall(span, settings, parameters, options), undefined) : undefined

type AnyToolkit = Toolkit.WithHandler<any> | Effect.Effect<Toolkit.WithHandler<any>, any, any>

/** Each tool call resolved through the toolkit runs in a TOOL span with its arguments and result. */
const traceToolkit = (toolkit: AnyToolkit, tracing: boolean, call: LlmCall | undefined): AnyToolkit => {
  const wrap = (withHandler: Toolkit.WithHandler<any>): Toolkit.WithHandler<any> => {
    if (call !== undefined) safely(() => call.resolvedTools(Object.values(withHandler.tools)), undefined)
    return {
      tools: withHandler.tools,
      handle: (name, params) =>
        Effect.useSpan(
          String(name),
          {
            captureStackTrace: false,
            attributes: { [SpanAttributeKey.SPAN_TYPE]: "TOOL", [SpanAttributeKey.INPUTS]: params }
          },
          (span) =>
            mergeSpanInto(withHandler.handle(name, params), "Toolkit.handle", span).pipe(
              Effect.tap((result) => {
                if (!span.sampled) return
                span.attribute(SpanAttributeKey.OUTPUTS, result.encodedResult)
                if (result.isFailure) span.attribute("tool.is_failure", true)
              }),
              Effect.withParentSpan(span)
            )
        ).pipe(Effect.withTracerEnabled(tracing))
    }
  }
  return Effect.isEffect(toolkit) ? Effect.map(toolkit, wrap) : wrap(toolkit)
}

type CallOptions = LanguageModel.GenerateTextOptions<any> & { readonly objectName?: string; readonly schema?: any }

const withTracedToolkit = (options: CallOptions, tracing: boolean, call: LlmCall | undefined): CallOptions =>
  options.toolkit === undefined ? options : { ...options, toolkit: traceToolkit(options.toolkit, tracing, call) }

const spanOptions: Tracer.SpanOptions = { kind: "client", captureStackTrace: false }

const tracedCall = <A extends { readonly content: ReadonlyArray<{ readonly type: string }> }, E, R>(
  settings: LlmTraceSettings,
  method: string,
  options: CallOptions,
  invoke: (options: CallOptions) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.flatMap(
    Effect.zip(settings.parameters, tracerEnabled),
    ([parameters, tracing]) =>
      Effect.useSpan(`${settings.spanName}.${method}`, spanOptions, (span) => {
        const call = startCall(span, settings, parameters, options)
        const inner = invoke(withTracedToolkit(options, tracing, call))
        // the provider's own `LanguageModel.*` span is either switched off with everything under it
        // (no HTTP spans, no traceparent), or merged into ours (its HTTP spans and traceparent kept)
        return (settings.propagateTraceContext
          ? mergeSpanInto(inner, `LanguageModel.${method}`, span)
          : Effect.withTracerEnabled(inner, false)).pipe(
            Effect.tap((response) => {
              if (call !== undefined) safely(() => call.response(response.content), undefined)
            }),
            Effect.withParentSpan(span)
          )
      })
  )

const tracedStream = <A extends { readonly type: string }, E, R>(
  settings: LlmTraceSettings,
  options: CallOptions,
  invoke: (options: CallOptions) => Stream.Stream<A, E, R>
): Stream.Stream<A, E, R> =>
  streamInSpan(
    `${settings.spanName}.streamText`,
    spanOptions,
    (span) =>
      Effect.map(Effect.zip(settings.parameters, tracerEnabled), ([parameters, tracing]) => {
        const call = startCall(span, settings, parameters, options)
        const inner = invoke(withTracedToolkit(options, tracing, call))
        const observer: StreamObserver<A> = call === undefined ? {} : {
          onChunk: (items, now) => call.chunk(items, now),
          onEnd: (exit) => call.streamEnded(exit)
        }
        const own = settings.propagateTraceContext
          ? streamMergingSpanInto(inner, "LanguageModel.streamText", span)
          : streamWithTracerDisabled(inner)
        return [own, observer] as const
      })
  )

/**
 * A `LanguageModel` whose calls are CHAT_MODEL spans.
 *
 * @internal
 */
export const traceLanguageModel = (
  service: LanguageModel.Service,
  settings: LlmTraceSettings
): LanguageModel.Service => ({
  generateText:
    ((options: CallOptions) =>
      tracedCall(settings, "generateText", options, (o) => service.generateText(o as any))) as any,
  generateObject:
    ((options: CallOptions) =>
      tracedCall(settings, "generateObject", options, (o) => service.generateObject(o as any))) as any,
  streamText: ((options: CallOptions) => tracedStream(settings, options, (o) => service.streamText(o as any))) as any
})
