import type { SpanData, TraceState } from "../../Trace.js"
import type { Json } from "../common/json.js"
import { SpanAttributeKey } from "../common/keys.js"
import { dumpsPrefix } from "../format/pythonJson.js"

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

const isHigh = (unit: number) => unit >= 0xd800 && unit <= 0xdbff
const isLow = (unit: number) => unit >= 0xdc00 && unit <= 0xdfff

/**
 * Cuts `value` to `max` characters, the last three being `...` (MLflow's rule), counting characters
 * as Python does (code points: an emoji is one, and is never cut in half).
 *
 * @internal
 */
export const truncate = (value: string, max: number): string => {
  // no more UTF-16 units than `max`: no more code points either
  if (value.length <= max) return value
  const keep = max - SUFFIX.length
  let cut = 0
  let points = 0
  for (let i = 0; i < value.length; points++) {
    if (points === keep) cut = i
    if (points === max) return value.slice(0, cut) + SUFFIX
    i += isHigh(value.charCodeAt(i)) && isLow(value.charCodeAt(i + 1)) ? 2 : 1
  }
  return value
}

/**
 * The start of a value's JSON, long enough to preview and to tell whether it needs cutting: more
 * than `PREVIEW_MAX_LENGTH` code points (each at most two UTF-16 units).
 *
 * @internal
 */
export const jsonHead = (value: Json): string => dumpsPrefix(value, 2 * (PREVIEW_MAX_LENGTH + 1))

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

/** @internal NUL as U+FFFD, as MLflow stores previews (PostgreSQL text holds no NUL). */
export const replaceNul = (text: string): string => text.replaceAll("\u0000", "\ufffd")

/** MLflow's chat-aware preview: the last message of `role` if the payload is a chat, else its JSON. */
export const preview = (value: Json | undefined, json: string | undefined, role: string): string | undefined => {
  if (json === undefined) return undefined
  let content: string | undefined
  const messages = extractMessages(value)
  if (messages !== undefined && messages.length > 0) {
    const last = [...messages].reverse().find((message) => message.role === role) ?? messages[messages.length - 1]
    content = textOf(last)
  }
  const text = replaceNul(content || json)
  return truncate(text, PREVIEW_MAX_LENGTH)
}

/** @internal the token counts MLflow 3.18 always sums */
export const USAGE_KEYS = ["input_tokens", "output_tokens", "total_tokens"] as const
/** @internal the token counts MLflow 3.18 sums where a span has them */
export const OPTIONAL_USAGE_KEYS = [
  "cache_read_input_tokens",
  "cache_creation_input_tokens",
  "cache_creation_input_tokens_above_1hr"
] as const

/** a usage MLflow cannot add up: it then records no token usage for the trace at all */
class Unsummable extends Error {}

/**
 * Sums `mlflow.chat.tokenUsage` over the top-most spans that carry it in each subtree, so a parent
 * that already reports its children's usage is not counted twice. As MLflow 3.18's client does: a
 * `null` usage counts as none; a usage that is not an object, or holds a count that is not a number
 * (booleans count as 0 and 1, as in Python), leaves the trace without token usage.
 *
 * @internal
 */
export const aggregateTokenUsage = (spans: ReadonlyArray<SpanData>): Record<string, number> | undefined => {
  try {
    return sumUsage(spans)
  } catch (error) {
    if (error instanceof Unsummable) return undefined
    throw error
  }
}

const sumUsage = (spans: ReadonlyArray<SpanData>): Record<string, number> | undefined => {
  // most traces carry no usage at all: no tree to build
  if (!spans.some((span) => hasUsage(span.attributes[SpanAttributeKey.CHAT_USAGE]))) return undefined
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
    if (hasUsage(usage)) {
      if (!isObject(usage)) throw new Unsummable()
      found = true
      for (const key of USAGE_KEYS) totals[key] += key in usage ? count(usage[key]) : 0
      for (const key of OPTIONAL_USAGE_KEYS) {
        if (key in usage) totals[key] = (totals[key] ?? 0) + count(usage[key])
      }
      continue
    }
    const list = children.get(span.spanId)
    if (list !== undefined) stack.push(...list)
  }
  return found ? totals : undefined
}

const hasUsage = (value: Json | undefined): boolean => value !== undefined && value !== null

const count = (value: Json | undefined): number => {
  if (typeof value === "number") return value
  if (typeof value === "boolean") return value ? 1 : 0
  throw new Unsummable()
}

/** @internal The trace's state from its root span, as MLflow derives it (UNSET counts as OK). */
export const stateOf = (root: SpanData): TraceState => root.status.code === "ERROR" ? "ERROR" : "OK"
