import * as Prompt from "@effect/ai/Prompt"
import * as Tool from "@effect/ai/Tool"
import * as Encoding from "effect/Encoding"
import * as JSONSchema from "effect/JSONSchema"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import type * as Schema from "effect/Schema"
import type { TokenUsage } from "../Trace.js"

/**
 * Mapping of `@effect/ai` prompts, tools and response parts to the OpenAI chat format, which
 * MLflow's chat view renders (`mlflow.message.format = "openai"`).
 *
 * @internal
 */
export interface ChatMessage {
  readonly role: string
  readonly content: string | null | ReadonlyArray<Record<string, unknown>>
  readonly tool_calls?: ReadonlyArray<ToolCall>
  readonly tool_call_id?: string
  readonly name?: string
}

/** @internal */
export interface ToolCall {
  readonly id: string
  readonly type: "function"
  readonly function: { readonly name: string; readonly arguments: string }
}

const jsonText = (value: unknown): string => {
  if (typeof value === "string") return value
  try {
    return JSON.stringify(value, (_key, v) => typeof v === "bigint" ? v.toString() : v) ?? "null"
  } catch {
    return String(value)
  }
}

interface AnyPart {
  readonly type?: unknown
  readonly [key: string]: any
}

const fileUrl = (part: AnyPart): string => {
  const data: unknown = part.data
  if (data instanceof URL) return data.toString()
  if (typeof data === "string") {
    return /^(https?:|data:)/.test(data) ? data : `data:${part.mediaType};base64,${data}`
  }
  return data instanceof Uint8Array ? `data:${part.mediaType};base64,${Encoding.encodeBase64(data)}` : jsonText(data)
}

const contentPart = (part: AnyPart): Record<string, unknown> =>
  part.type === "text"
    ? { type: "text", text: part.text }
    : part.type !== "file"
    ? { type: String(part.type), value: jsonText(part) }
    : String(part.mediaType).startsWith("image/")
    ? { type: "image_url", image_url: { url: fileUrl(part) } }
    : { type: "file", file: { filename: part.fileName ?? null, file_data: fileUrl(part) } }

/** Text only: one string; anything else: OpenAI content parts. */
const userContent = (parts: ReadonlyArray<AnyPart>): ChatMessage["content"] =>
  parts.every((part) => part.type === "text")
    ? parts.map((part) => part.text).join("\n")
    : parts.map(contentPart)

const toolCall = (id: string, name: string, params: unknown): ToolCall => ({
  id,
  type: "function",
  function: { name, arguments: jsonText(params) }
})

/** A message of a prompt, decoded (`Prompt.Message`) or as written (`Prompt.MessageEncoded`). */
const messageOf = (message: { readonly role?: unknown; readonly content?: unknown }): ReadonlyArray<ChatMessage> => {
  const content = message.content
  const parts: ReadonlyArray<AnyPart> = typeof content === "string"
    ? [{ type: "text", text: content }]
    : Array.isArray(content)
    ? content
    : []
  switch (message.role) {
    case "system":
      return [{ role: "system", content: typeof content === "string" ? content : userContent(parts) }]
    case "user":
      return [{ role: "user", content: userContent(parts) }]
    case "assistant": {
      const text: Array<string> = []
      const calls: Array<ToolCall> = []
      for (const part of parts) {
        if (part.type === "text") text.push(part.text)
        else if (part.type === "tool-call") calls.push(toolCall(part.id, part.name, part.params))
      }
      const joined = text.length === 0 ? null : text.join("")
      return [
        calls.length === 0 ? { role: "assistant", content: joined } : {
          role: "assistant",
          content: joined,
          tool_calls: calls
        }
      ]
    }
    case "tool":
      return parts.map((part) => ({ role: "tool", tool_call_id: part.id, content: jsonText(part.result) }))
    default:
      return [{ role: String(message.role), content: jsonText(content) }]
  }
}

/**
 * A prompt (text, messages as written, or a `Prompt`) as OpenAI chat messages. It reads the
 * messages as they are, without decoding them again (the provider call does that, and reports
 * bad input); it never throws.
 *
 * @internal
 */
export const messages = (input: Prompt.RawInput): ReadonlyArray<ChatMessage> => {
  if (typeof input === "string") return [{ role: "user", content: input }]
  try {
    const list: Iterable<unknown> = Prompt.isPrompt(input) ? input.content : input
    return Array.from(list, (message) => messageOf(Predicate.isRecord(message) ? message : { content: message })).flat()
  } catch {
    return [{ role: "user", content: jsonText(input) }]
  }
}

/** @internal */
export interface ChatTool {
  readonly type: "function"
  readonly function: { readonly name: string; readonly description?: string; readonly parameters?: unknown }
}

/**
 * Tools as OpenAI function tools (what `mlflow.chat.tools` holds).
 *
 * @internal
 */
export const tools = (all: Iterable<Tool.Any>): ReadonlyArray<ChatTool> =>
  Array.from(all, (tool) => {
    const ast = tool.parametersSchema.ast
    let parameters: unknown = undefined
    try {
      parameters = Tool.getJsonSchemaFromSchemaAst(ast)
    } catch {
      // a schema without a JSON Schema form: the tool is still listed
    }
    const description = tool.description ?? Tool.getDescriptionFromSchemaAst(ast)
    return {
      type: "function",
      function: {
        name: tool.name,
        ...(description === undefined ? {} : { description }),
        ...(parameters === undefined ? {} : { parameters })
      }
    }
  })

/**
 * `LanguageModel` tool choice in OpenAI's form.
 *
 * @internal
 */
export const toolChoice = (choice: unknown): unknown => {
  if (typeof choice === "string" || choice === undefined) return choice
  if (typeof choice === "object" && choice !== null) {
    if ("tool" in choice) return { type: "function", function: { name: (choice as { tool: string }).tool } }
    if ("oneOf" in choice) {
      const { mode, oneOf } = choice as { mode?: string; oneOf: ReadonlyArray<string> }
      return {
        type: "allowed_tools",
        mode: mode ?? "auto",
        tools: oneOf.map((name) => ({ type: "function", function: { name } }))
      }
    }
  }
  return choice
}

/**
 * The `response_format` of a `generateObject` call.
 *
 * @internal
 */
export const responseFormat = (name: string, schema: Schema.Schema.Any): unknown => {
  let jsonSchema: unknown = undefined
  try {
    jsonSchema = JSONSchema.make(schema)
  } catch {
    // not every schema has a JSON Schema form
  }
  return { type: "json_schema", json_schema: jsonSchema === undefined ? { name } : { name, schema: jsonSchema } }
}

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
    total_tokens: total === undefined || anthropic !== undefined ? inputTokens + outputTokens : total + extra,
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
