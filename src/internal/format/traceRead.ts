import type * as Assessment from "../../Assessment.js"
import type { SpanData, SpanEvent, StatusCode, Trace, TraceInfo, TraceState } from "../../Trace.js"
import { base64ToBytes, bytesToHex } from "../common/bytes.js"
import { type Json, setOwn } from "../common/json.js"
import * as AssessmentJson from "./assessmentJson.js"

/**
 * Decoding of traces as MLflow's REST API returns them (proto JSON) and as `traces.json` holds
 * them (`Span.to_dict`).
 *
 * @internal
 */

const base64ToHex = (value: unknown): string =>
  typeof value === "string" && value !== "" ? bytesToHex(base64ToBytes(value)) : ""

const nanos = (value: unknown): bigint =>
  typeof value === "bigint" ? value : typeof value === "number" ? BigInt(Math.trunc(value)) : BigInt(String(value ?? 0))

const statusCode = (value: unknown): StatusCode => {
  const text = String(value ?? "UNSET").replace(/^STATUS_CODE_/, "")
  return text === "OK" || text === "ERROR" ? text : "UNSET"
}

const kind = (value: unknown): SpanData["kind"] => {
  const text = String(value ?? "SPAN_KIND_INTERNAL").replace(/^SPAN_KIND_/, "").toLowerCase()
  return text === "server" || text === "client" || text === "producer" || text === "consumer" ? text : "internal"
}

/** A JSON value with bigints (from the bigint-safe parser) made plain. */
const plain = (value: unknown): Json => {
  if (typeof value === "bigint") return Number(value)
  if (Array.isArray(value)) return value.map(plain)
  if (typeof value === "object" && value !== null) {
    const out: Record<string, Json> = {}
    for (const key in value) setOwn(out, key, plain((value as Record<string, unknown>)[key]))
    return out
  }
  return value as Json
}

const anyValue = (value: any): Json => {
  if (value === undefined || value === null) return null
  if ("string_value" in value) return value.string_value
  if ("bool_value" in value) return value.bool_value
  if ("int_value" in value) return Number(value.int_value)
  if ("double_value" in value) return Number(value.double_value)
  if ("array_value" in value) return (value.array_value?.values ?? []).map(anyValue)
  if ("kvlist_value" in value) return keyValues(value.kvlist_value?.values)
  if ("bytes_value" in value) return value.bytes_value
  return null
}

const keyValues = (list: any): Record<string, Json> => {
  const out: Record<string, Json> = {}
  for (const kv of list ?? []) setOwn(out, kv.key, anyValue(kv.value))
  return out
}

/** Attribute values in `traces.json` are JSON strings; a value that is not JSON is kept raw. */
const jsonString = (value: unknown): Json => {
  if (typeof value !== "string") return plain(value)
  try {
    return JSON.parse(value)
  } catch {
    return value
  }
}

const decodeSpan = (
  raw: any,
  attributes: (raw: any) => Record<string, Json>,
  eventAttributes: (raw: any) => Record<string, Json>
): SpanData => ({
  traceId: base64ToHex(raw.trace_id),
  spanId: base64ToHex(raw.span_id),
  parentSpanId: base64ToHex(raw.parent_span_id) || null,
  name: String(raw.name ?? ""),
  kind: kind(raw.kind),
  startTimeUnixNano: nanos(raw.start_time_unix_nano),
  endTimeUnixNano: nanos(raw.end_time_unix_nano),
  status: { code: statusCode(raw.status?.code), message: String(raw.status?.message ?? "") },
  attributes: attributes(raw.attributes),
  events: (raw.events ?? []).map((event: any): SpanEvent => ({
    name: String(event.name ?? ""),
    timeUnixNano: nanos(event.time_unix_nano),
    attributes: eventAttributes(event.attributes)
  }))
})

/** @internal A span of a `GetTrace` / `BatchGetTraces` answer (OTel proto JSON, `AnyValue` attributes). */
export const decodeProtoSpan = (raw: any): SpanData => decodeSpan(raw, keyValues, keyValues)

const jsonStrings = (raw: any): Record<string, Json> => {
  const out: Record<string, Json> = {}
  for (const key in raw ?? {}) setOwn(out, key, jsonString(raw[key]))
  return out
}

/** @internal A span of `traces.json` (`Span.to_dict`: attribute values are JSON strings). */
export const decodeDictSpan = (raw: any): SpanData =>
  decodeSpan(raw, jsonStrings, (attributes) => plain(attributes ?? {}) as Record<string, Json>)

const durationMs = (value: unknown): number => {
  if (typeof value === "string") return Math.round(Number.parseFloat(value) * 1000)
  return Number(value ?? 0)
}

/** @internal A stored trace's info (proto JSON), with its assessments. */
export const decodeTraceInfo = (
  raw: any
): TraceInfo & { readonly assessments: ReadonlyArray<Assessment.Assessment> } => ({
  traceId: String(raw.trace_id),
  experimentId: raw.trace_location?.mlflow_experiment?.experiment_id,
  requestTimeMs: raw.request_time === undefined ? 0 : Date.parse(raw.request_time),
  executionDurationMs: raw.execution_duration_ms !== undefined
    ? Number(raw.execution_duration_ms)
    : durationMs(raw.execution_duration),
  state: (raw.state ?? "STATE_UNSPECIFIED") as TraceState,
  requestPreview: raw.request_preview,
  responsePreview: raw.response_preview,
  clientRequestId: raw.client_request_id,
  metadata: raw.trace_metadata ?? {},
  tags: raw.tags ?? {},
  assessments: (raw.assessments ?? []).map(AssessmentJson.decode)
})

/**
 * A trace read back from MLflow: its info (with assessments) and spans, root first.
 *
 * @internal
 */
export type StoredTrace = Trace & { readonly info: ReturnType<typeof decodeTraceInfo> }

/** @internal Orders spans root first, then by start time. */
export const rootFirst = (spans: ReadonlyArray<SpanData>): ReadonlyArray<SpanData> => {
  const ids = new Set(spans.map((span) => span.spanId))
  return [...spans].sort((a, b) => {
    const aRoot = a.parentSpanId === null || !ids.has(a.parentSpanId)
    const bRoot = b.parentSpanId === null || !ids.has(b.parentSpanId)
    if (aRoot !== bRoot) return aRoot ? -1 : 1
    return a.startTimeUnixNano < b.startTimeUnixNano ? -1 : a.startTimeUnixNano > b.startTimeUnixNano ? 1 : 0
  })
}
