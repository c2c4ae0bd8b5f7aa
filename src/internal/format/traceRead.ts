import type { SpanData, SpanEvent, SpanLink, StatusCode, TraceInfo, TraceState } from "../../Trace.js"
import { base64ToBytes, bytesToHex } from "../common/bytes.js"
import { type Json, plainJson, setOwn } from "../common/json.js"
import * as AssessmentJson from "./assessmentJson.js"
import type * as Wire from "./wire.js"

// the contract is the public module's
export type { StoredTrace } from "../../Search.js"

/**
 * Traces as MLflow's REST API returns them (proto JSON) and as `traces.json` holds them
 * (`Span.to_dict`), already checked against their `Wire` shapes, made into our records.
 */

const base64ToHex = (value: string | null | undefined): string =>
  typeof value === "string" && value !== "" ? bytesToHex(base64ToBytes(value)) : ""

const nanos = (value: typeof Wire.Integer.Type | undefined): bigint => {
  if (typeof value === "bigint") return value
  if (typeof value === "number") return Number.isFinite(value) ? BigInt(Math.trunc(value)) : 0n
  try {
    return BigInt(value ?? 0)
  } catch {
    return 0n
  }
}

const statusCode = (value: string | number | undefined): StatusCode => {
  const text = String(value ?? "UNSET").replace(/^STATUS_CODE_/, "")
  return text === "OK" || text === "ERROR" ? text : value === 1 ? "OK" : value === 2 ? "ERROR" : "UNSET"
}

const kind = (value: string | number | undefined): SpanData["kind"] => {
  const text = String(value ?? "SPAN_KIND_INTERNAL").replace(/^SPAN_KIND_/, "").toLowerCase()
  return text === "server" || text === "client" || text === "producer" || text === "consumer" ? text : "internal"
}

const anyValue = (value: Wire.AnyValue | undefined): Json => {
  if (value === undefined) return null
  if (value.string_value !== undefined) return value.string_value
  if (value.bool_value !== undefined) return value.bool_value
  if (value.int_value !== undefined) return Number(value.int_value)
  if (value.double_value !== undefined) return Number(value.double_value)
  if (value.array_value !== undefined) return (value.array_value.values ?? []).map(anyValue)
  if (value.kvlist_value !== undefined) return keyValues(value.kvlist_value.values)
  if (value.bytes_value !== undefined) return value.bytes_value
  return null
}

const keyValues = (list: ReadonlyArray<Wire.KeyValue> | undefined): Record<string, Json> => {
  const out: Record<string, Json> = {}
  for (const kv of list ?? []) setOwn(out, kv.key, anyValue(kv.value))
  return out
}

/** Attribute values in `traces.json` are JSON strings; a value that is not JSON is kept raw. */
const jsonString = (value: unknown): Json => {
  if (typeof value !== "string") return plainJson(value)
  try {
    return JSON.parse(value)
  } catch {
    return value
  }
}

const jsonStrings = (raw: Readonly<Record<string, unknown>> | undefined): Record<string, Json> => {
  const out: Record<string, Json> = {}
  for (const key in raw ?? {}) setOwn(out, key, jsonString(raw![key]))
  return out
}

const plainRecord = (raw: Readonly<Record<string, unknown>> | undefined): Record<string, Json> => {
  const out: Record<string, Json> = {}
  for (const key in raw ?? {}) setOwn(out, key, plainJson(raw![key]))
  return out
}

type AnySpan = typeof Wire.ProtoSpan.Type | typeof Wire.DictSpan.Type

const decodeSpan = <S extends AnySpan>(
  raw: S,
  attributes: (raw: S["attributes"]) => Record<string, Json>,
  eventAttributes: (raw: NonNullable<S["events"]>[number]["attributes"]) => Record<string, Json>,
  link: (raw: NonNullable<S["links"]>[number]) => SpanLink
): SpanData => ({
  traceId: base64ToHex(raw.trace_id),
  spanId: base64ToHex(raw.span_id),
  parentSpanId: base64ToHex(raw.parent_span_id) || null,
  name: raw.name ?? "",
  kind: kind(raw.kind),
  startTimeUnixNano: nanos(raw.start_time_unix_nano),
  endTimeUnixNano: nanos(raw.end_time_unix_nano),
  status: { code: statusCode(raw.status?.code), message: raw.status?.message ?? "" },
  attributes: attributes(raw.attributes),
  events: (raw.events ?? []).map((event: NonNullable<S["events"]>[number]): SpanEvent => ({
    name: event.name ?? "",
    timeUnixNano: nanos(event.time_unix_nano),
    attributes: eventAttributes(event.attributes)
  })),
  ...(raw.links !== undefined && raw.links.length > 0
    ? { links: raw.links.map((l: NonNullable<S["links"]>[number]) => link(l)) }
    : {})
})

const protoLink = (raw: NonNullable<typeof Wire.ProtoSpan.Type["links"]>[number]): SpanLink => ({
  traceId: base64ToHex(raw.trace_id),
  spanId: base64ToHex(raw.span_id),
  attributes: keyValues(raw.attributes)
})

const dictLink = (raw: NonNullable<typeof Wire.DictSpan.Type["links"]>[number]): SpanLink => ({
  traceId: (raw.trace_id ?? "").replace(/^tr-/, ""),
  spanId: raw.span_id ?? "",
  attributes: plainRecord(raw.attributes ?? undefined)
})

/** A span of a `GetTrace` answer (OTel proto JSON, `AnyValue` attributes). */
export const decodeProtoSpan = (raw: typeof Wire.ProtoSpan.Type): SpanData =>
  decodeSpan(raw, keyValues, keyValues, protoLink)

/** A span of `traces.json` (`Span.to_dict`: attribute values are JSON strings). */
export const decodeDictSpan = (raw: typeof Wire.DictSpan.Type): SpanData =>
  decodeSpan(raw, jsonStrings, plainRecord, dictLink)

const durationMs = (value: string | undefined): number =>
  value === undefined ? 0 : Math.round(Number.parseFloat(value) * 1000)

const TRACE_STATES: ReadonlySet<string> = new Set<TraceState>(["OK", "ERROR", "IN_PROGRESS", "STATE_UNSPECIFIED"])

/** A stored trace's info, with its assessments. */
export interface StoredTraceInfo extends TraceInfo {
  readonly assessments: ReadonlyArray<AssessmentJson.Assessment>
}

/** A stored trace's info (proto JSON), with its assessments. */
export const decodeTraceInfo = (raw: typeof Wire.TraceInfo.Type): StoredTraceInfo => {
  const requestTime = raw.request_time === undefined ? 0 : Date.parse(raw.request_time)
  return {
    traceId: raw.trace_id,
    experimentId: raw.trace_location?.mlflow_experiment?.experiment_id,
    requestTimeMs: Number.isNaN(requestTime) ? 0 : requestTime,
    executionDurationMs: raw.execution_duration_ms !== undefined
      ? Number(raw.execution_duration_ms)
      : durationMs(raw.execution_duration),
    state: raw.state !== undefined && TRACE_STATES.has(raw.state) ? raw.state as TraceState : "STATE_UNSPECIFIED",
    requestPreview: raw.request_preview,
    responsePreview: raw.response_preview,
    clientRequestId: raw.client_request_id,
    metadata: raw.trace_metadata ?? {},
    tags: raw.tags ?? {},
    assessments: (raw.assessments ?? []).map(AssessmentJson.decode)
  }
}

/** Orders spans root first, then by start time. */
export const rootFirst = (spans: ReadonlyArray<SpanData>): ReadonlyArray<SpanData> => {
  const ids = new Set(spans.map((span) => span.spanId))
  return [...spans].sort((a, b) => {
    const aRoot = a.parentSpanId === null || !ids.has(a.parentSpanId)
    const bRoot = b.parentSpanId === null || !ids.has(b.parentSpanId)
    if (aRoot !== bRoot) return aRoot ? -1 : 1
    return a.startTimeUnixNano < b.startTimeUnixNano ? -1 : a.startTimeUnixNano > b.startTimeUnixNano ? 1 : 0
  })
}
