/**
 * Mapping of `@effect/ai` prompts and tools to the OpenAI chat format, which MLflow's chat view
 * renders (`mlflow.message.format = "openai"`).
 */
import * as Prompt from "@effect/ai/Prompt"
import * as Tool from "@effect/ai/Tool"
import * as Encoding from "effect/Encoding"
import * as JSONSchema from "effect/JSONSchema"
import * as Predicate from "effect/Predicate"
import type * as Schema from "effect/Schema"
import { snapshot } from "../tracing/snapshot.js"

/** @internal */
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

/**
 * A value as compact JSON text (tool arguments, tool results), through the tracer's snapshot:
 * never throws, and cycles, `bigint` and `Redacted` values come out safe.
 *
 * @internal
 */
export const jsonText = (value: unknown): string => typeof value === "string" ? value : JSON.stringify(snapshot(value))

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

/** @internal */
export const toolCall = (id: string, name: string, params: unknown): ToolCall => ({
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
