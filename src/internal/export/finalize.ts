import type { SpanData, Trace, TraceInfo, TraceState } from "../../Trace.js"
import { utf8Length } from "../common/bytes.js"
import { mlflowTraceId } from "../common/ids.js"
import { dumps, type Json } from "../common/json.js"
import { SpanAttributeKey, TraceMetadataKey, TraceTagKey } from "../common/keys.js"
import { spanJsonSize, traceInfoToDict } from "../format/traceJson.js"
import type { CompletedTrace } from "../tracing/assembler.js"

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

/**
 * Finalizes a completed trace as MLflow's processor does when the root span ends.
 *
 * @internal
 */
export const finalize = (
  completed: CompletedTrace,
  environment: Readonly<Record<string, string>>,
  experimentId: string | undefined
): Trace => {
  const spans = completed.spans
  const root = spans.find((span) => span.spanId === completed.rootSpanId) ?? spans[0]
  const updates = completed.updates
  const inputs = root.attributes[SpanAttributeKey.INPUTS]
  const outputs = root.attributes[SpanAttributeKey.OUTPUTS]
  const inputsJson = inputs === undefined ? undefined : dumps(inputs)
  const outputsJson = outputs === undefined ? undefined : dumps(outputs)
  const metadata: Record<string, string> = {
    ...environment,
    [TraceMetadataKey.SCHEMA_VERSION]: "3",
    [TraceMetadataKey.INPUTS]: truncate(inputsJson ?? "", METADATA_MAX_LENGTH),
    [TraceMetadataKey.OUTPUTS]: truncate(outputsJson ?? "", METADATA_MAX_LENGTH)
  }
  const usage = aggregateTokenUsage(spans)
  if (usage !== undefined) metadata[TraceMetadataKey.TOKEN_USAGE] = dumps(usage)
  for (const key in updates.metadata) {
    metadata[truncate(key, METADATA_MAX_LENGTH)] = truncate(updates.metadata[key], METADATA_MAX_LENGTH)
  }
  const tags: Record<string, string> = { [TraceTagKey.TRACE_NAME]: truncate(root.name, TAG_VALUE_MAX_LENGTH) }
  for (const key in updates.tags) {
    tags[truncate(key, TAG_KEY_MAX_LENGTH)] = truncate(updates.tags[key], TAG_VALUE_MAX_LENGTH)
  }
  const info: TraceInfo = {
    traceId: mlflowTraceId(completed.otelTraceId),
    experimentId,
    requestTimeMs: Number(root.startTimeUnixNano / 1_000_000n),
    executionDurationMs: Number((root.endTimeUnixNano - root.startTimeUnixNano) / 1_000_000n),
    state: updates.state ?? stateOf(root),
    requestPreview: updates.requestPreview === undefined
      ? preview(inputs, inputsJson, "user")
      : truncate(updates.requestPreview, PREVIEW_MAX_LENGTH),
    responsePreview: updates.responsePreview === undefined
      ? preview(outputs, outputsJson, "assistant")
      : truncate(updates.responsePreview, PREVIEW_MAX_LENGTH),
    clientRequestId: updates.clientRequestId === undefined
      ? undefined
      : updates.clientRequestId.slice(0, CLIENT_REQUEST_ID_MAX_LENGTH),
    metadata,
    tags
  }
  return { info: withSizeStats(info, spans), spans }
}

const percentile = (sorted: ReadonlyArray<number>, p: number): number => {
  if (sorted.length === 0) return 0
  const index = p * (sorted.length - 1)
  const lower = Math.floor(index)
  if (lower + 1 >= sorted.length) return sorted[sorted.length - 1]
  return sorted[lower] + (sorted[lower + 1] - sorted[lower]) * (index - lower)
}

/** MLflow's `mlflow.trace.sizeStats` / `mlflow.trace.sizeBytes`: sizes of the spans' JSON. */
const withSizeStats = (info: TraceInfo, spans: ReadonlyArray<SpanData>): TraceInfo => {
  const sizes = spans.map(spanJsonSize).sort((a, b) => a - b)
  // the info's size is measured compactly: a close approximation of MLflow's figure, as MLflow's own is
  const total = sizes.reduce((a, b) => a + b, 0) + utf8Length(JSON.stringify(traceInfoToDict(info))) +
    Math.max(0, sizes.length - 1) * 2
  const stats = {
    total_size_bytes: total,
    num_spans: sizes.length,
    max: sizes[sizes.length - 1] ?? 0,
    p25: Math.floor(percentile(sizes, 0.25)),
    p50: Math.floor(percentile(sizes, 0.5)),
    p75: Math.floor(percentile(sizes, 0.75))
  }
  return {
    ...info,
    metadata: {
      ...info.metadata,
      [TraceMetadataKey.SIZE_STATS]: dumps(stats),
      [TraceMetadataKey.SIZE_BYTES]: String(total)
    }
  }
}

const stateOf = (root: SpanData): TraceState => root.status.code === "ERROR" ? "ERROR" : "OK"

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
const preview = (value: Json | undefined, json: string | undefined, role: string): string | undefined => {
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
