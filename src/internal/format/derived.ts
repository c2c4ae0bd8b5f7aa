import type { SpanData, TraceState } from "../../Trace.js"
import type { Json } from "../common/json.js"
import { SpanAttributeKey } from "../common/keys.js"

/**
 * What MLflow computes from a trace's spans: the previews of its root's inputs and outputs, and its
 * token usage. Shared by finalization (our trace info) and the MLflow sink (which tells whether the
 * server would derive the same from the spans alone).
 */

/** @internal MLflow OSS preview length. */
export const PREVIEW_MAX_LENGTH = 1000
/** @internal MLflow's metadata value limit (keys and values). */
export const METADATA_MAX_LENGTH = 250
/** @internal MLflow's tag key limit. */
export const TAG_KEY_MAX_LENGTH = 250
/** @internal MLflow's `client_request_id` column size. */
export const CLIENT_REQUEST_ID_MAX_LENGTH = 50
/** @internal MLflow's tag value limit. */
export const TAG_VALUE_MAX_LENGTH = 4096

const SUFFIX = "..."

/** @internal Cuts `value` to `max` characters, the last three being `...` (MLflow's rule). */
export const truncate = (value: string, max: number): string =>
  value.length <= max ? value : value.slice(0, max - SUFFIX.length) + SUFFIX

type JsonObject = { readonly [key: string]: Json }

const isObject = (value: Json | undefined): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const isMessage = (value: Json): value is JsonObject => isObject(value) && "role" in value && "content" in value

/**
 * The messages of a chat-shaped payload: OpenAI Chat Completions requests (`messages`) and
 * responses (`choices[0].message`), Responses API requests (`input`) and responses (`output`), and
 * `{ request: ... }` wrappers.
 */
const extractMessages = (value: Json | undefined): ReadonlyArray<JsonObject> | undefined => {
  if (!isObject(value)) return undefined
  const messages = value.messages
  if (Array.isArray(messages) && messages.length > 0) return messages.filter(isMessage)
  const choices = value.choices
  if (Array.isArray(choices) && choices.length > 0 && isObject(choices[0])) {
    const message = choices[0].message
    if (message !== undefined && isMessage(message)) return [message]
  }
  const input = value.input
  if (Array.isArray(input) && input.length > 0) return input.filter(isMessage)
  const output = value.output
  if (Array.isArray(output) && output.length > 0) return output.filter(isMessage)
  if ("request" in value) return extractMessages(value.request)
  return undefined
}

const textOf = (message: JsonObject): string => {
  const content = message.content
  if (typeof content === "string") return content
  if (Array.isArray(content)) {
    for (const part of content) {
      if (typeof part === "string") return part
      if (isObject(part) && (part.type === "text" || part.type === "output_text")) {
        return typeof part.text === "string" ? part.text : ""
      }
    }
  }
  return ""
}

/** MLflow's chat-aware preview: the last message of `role` if the payload is a chat, else its JSON. */
export const preview = (value: Json | undefined, json: string | undefined, role: string): string | undefined => {
  if (json === undefined) return undefined
  let content: string | undefined
  const messages = extractMessages(value)
  if (messages !== undefined && messages.length > 0) {
    const last = [...messages].reverse().find((message) => message.role === role) ?? messages[messages.length - 1]
    content = textOf(last)
  }
  const text = (content || json).replaceAll("\u0000", "\ufffd")
  return truncate(text, PREVIEW_MAX_LENGTH)
}

const USAGE_KEYS = ["input_tokens", "output_tokens", "total_tokens"] as const
const OPTIONAL_USAGE_KEYS = ["cache_read_input_tokens", "cache_creation_input_tokens"] as const

/**
 * Sums `mlflow.chat.tokenUsage` over the top-most spans that carry it in each subtree, so a parent
 * that already reports its children's usage is not counted twice.
 *
 * @internal
 */
export const aggregateTokenUsage = (spans: ReadonlyArray<SpanData>): Record<string, number> | undefined => {
  // most traces carry no usage at all: no tree to build
  if (!spans.some((span) => isObject(span.attributes[SpanAttributeKey.CHAT_USAGE]))) return undefined
  const ids = new Set(spans.map((span) => span.spanId))
  const children = new Map<string, Array<SpanData>>()
  const roots: Array<SpanData> = []
  for (const span of spans) {
    if (span.parentSpanId !== null && ids.has(span.parentSpanId)) {
      const list = children.get(span.parentSpanId)
      if (list === undefined) children.set(span.parentSpanId, [span])
      else list.push(span)
    } else {
      roots.push(span)
    }
  }
  const totals: Record<string, number> = { input_tokens: 0, output_tokens: 0, total_tokens: 0 }
  let found = false
  const stack = [...roots]
  while (stack.length > 0) {
    const span = stack.pop()!
    const usage = span.attributes[SpanAttributeKey.CHAT_USAGE]
    if (isObject(usage)) {
      found = true
      for (const key of USAGE_KEYS) totals[key] += numberOr0(usage[key])
      for (const key of OPTIONAL_USAGE_KEYS) {
        if (key in usage) totals[key] = (totals[key] ?? 0) + numberOr0(usage[key])
      }
      continue
    }
    const list = children.get(span.spanId)
    if (list !== undefined) stack.push(...list)
  }
  return found ? totals : undefined
}

const numberOr0 = (value: Json | undefined): number => typeof value === "number" && Number.isFinite(value) ? value : 0

/** @internal The trace's state from its root span, as MLflow derives it (UNSET counts as OK). */
export const stateOf = (root: SpanData): TraceState => root.status.code === "ERROR" ? "ERROR" : "OK"
