/**
 * What a model call answered, folded from its response parts into an OpenAI `chat.completion`
 * and MLflow's token usage.
 */
import * as Option from "effect/Option"
import type { TokenUsage } from "../../Trace.js"
import { jsonText, type ToolCall, toolCall } from "./chatFormat.js"

const FINISH_REASONS: Record<string, string> = {
  "tool-calls": "tool_calls",
  "content-filter": "content_filter"
}

const numberOr = (value: unknown): number | undefined => typeof value === "number" ? value : undefined

const optionValue = (value: unknown): unknown => Option.isOption(value) ? Option.getOrUndefined(value) : value

/**
 * Token usage in MLflow's shape from a finish part. Anthropic counts cached tokens outside
 * `input_tokens`; like MLflow's own Anthropic integration, they are added back so that input
 * tokens mean the same for every provider.
 *
 * @internal
 */
export const tokenUsage = (usage: unknown, metadata: unknown): TokenUsage | undefined => {
  const u = usage as Record<string, unknown> | undefined
  const input = numberOr(u?.inputTokens)
  const output = numberOr(u?.outputTokens)
  if (input === undefined && output === undefined) return undefined
  const anthropic = (metadata as { anthropic?: { usage?: Record<string, unknown> } } | undefined)?.anthropic?.usage
  const cacheRead = numberOr(anthropic?.cache_read_input_tokens) ?? numberOr(u?.cachedInputTokens)
  const cacheCreation = numberOr(anthropic?.cache_creation_input_tokens)
  const extra = anthropic === undefined ? 0 : (cacheRead ?? 0) + (cacheCreation ?? 0)
  const inputTokens = (input ?? 0) + extra
  const outputTokens = output ?? 0
  const total = numberOr(u?.totalTokens)
  return {
    input_tokens: inputTokens,
    output_tokens: outputTokens,
    // Anthropic's own total leaves the cache out too
    total_tokens: total === undefined || anthropic !== undefined ? inputTokens + outputTokens : total,
    ...(cacheRead === undefined ? {} : { cache_read_input_tokens: cacheRead }),
    ...(cacheCreation === undefined ? {} : { cache_creation_input_tokens: cacheCreation })
  }
}

/**
 * What a model call answered, gathered from its response parts (whole or streamed).
 *
 * @internal
 */
export interface Completion {
  /** an OpenAI `chat.completion` object, what the span's outputs hold */
  readonly output: Record<string, unknown>
  readonly usage: TokenUsage | undefined
  readonly model: string | undefined
  /** the message of an error part, when the provider reported one inside a response */
  readonly error: string | undefined
}

const errorText = (error: unknown): string => {
  const e = error as { message?: unknown; error?: { message?: unknown } } | undefined
  if (typeof e?.message === "string") return e.message
  if (typeof e?.error?.message === "string") return e.error.message
  return jsonText(error)
}

/**
 * Folds response parts (`generateText` parts or `streamText` stream parts, one at a time) into
 * one completion; only what the completion needs is kept, so a long stream stays small.
 *
 * @internal
 */
export class CompletionBuilder {
  private id: unknown = undefined
  private model: string | undefined = undefined
  private created: number | undefined = undefined
  private finish: { reason?: string; usage?: unknown; metadata?: unknown } | undefined = undefined
  private error: string | undefined = undefined
  private readonly text: Array<string> = []
  private readonly calls: Array<ToolCall> = []

  add(part: { readonly type: string }): void {
    const p = part as Record<string, any>
    switch (p.type) {
      case "text":
        this.text.push(p.text)
        break
      case "text-delta":
        this.text.push(p.delta)
        break
      case "tool-call":
        if (p.providerExecuted !== true) this.calls.push(toolCall(p.id, p.name, p.params))
        break
      case "response-metadata": {
        this.id = optionValue(p.id) ?? this.id
        const modelId = optionValue(p.modelId)
        if (typeof modelId === "string") this.model = modelId
        const timestamp = optionValue(p.timestamp) as { epochMillis?: unknown } | string | undefined
        const millis = typeof timestamp === "string" ? Date.parse(timestamp) : timestamp?.epochMillis
        if (typeof millis === "number" && Number.isFinite(millis)) this.created = Math.floor(millis / 1000)
        break
      }
      case "finish":
        this.finish = p
        break
      case "error":
        this.error = errorText(p.error)
        break
    }
  }

  /** `model` names the model when no response part does */
  build(model?: string): Completion {
    const finish = this.finish
    const usage = finish === undefined ? undefined : tokenUsage(finish.usage, finish.metadata)
    const message: Record<string, unknown> = {
      role: "assistant",
      content: this.text.length === 0 ? null : this.text.join("")
    }
    if (this.calls.length > 0) message.tool_calls = this.calls
    const reason = finish?.reason
    const modelName = this.model ?? model
    const output: Record<string, unknown> = {
      ...(this.id === undefined ? {} : { id: this.id }),
      object: "chat.completion",
      created: this.created ?? Math.floor(Date.now() / 1000),
      ...(modelName === undefined ? {} : { model: modelName }),
      choices: [{
        index: 0,
        message,
        finish_reason: reason === undefined ? null : FINISH_REASONS[reason] ?? reason
      }]
    }
    if (usage !== undefined) {
      output.usage = {
        prompt_tokens: usage.input_tokens,
        completion_tokens: usage.output_tokens,
        total_tokens: usage.total_tokens,
        ...(usage.cache_read_input_tokens === undefined
          ? {}
          : { prompt_tokens_details: { cached_tokens: usage.cache_read_input_tokens } })
      }
    }
    return { output, usage, model: this.model, error: this.error }
  }
}

/**
 * One completion from all the parts of a response.
 *
 * @internal
 */
export const completion = (parts: ReadonlyArray<{ readonly type: string }>): Completion => {
  const builder = new CompletionBuilder()
  for (const part of parts) builder.add(part)
  return builder.build()
}

/**
 * A stream part as the `mlflow.chunk.value` of a chunk event: its own fields as JSON, without
 * `@effect/ai`'s internal symbol keys.
 *
 * @internal
 */
export const chunkValue = (part: object): string => {
  const fields: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(part)) {
    if (!key.startsWith("~effect/")) fields[key] = optionValue(value)
  }
  return jsonText(fields)
}
