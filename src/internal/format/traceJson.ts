import type { SpanData, SpanEvent, SpanLink, Trace, TraceInfo } from "../../Trace.js"
import { utf8Length } from "../common/bytes.js"
import { hexToBase64 } from "../common/ids.js"
import type { Json } from "../common/json.js"
import { SpanAttributeKey, TRUNCATED_ATTRIBUTE } from "../common/keys.js"
import { measured, measureJson, textSize } from "./jsonSize.js"
import { dumps } from "./pythonJson.js"

/**
 * MLflow's JSON encodings of traces: `Span.to_dict` (the `traces.json` artifact), `TraceInfo.to_dict`
 * and `Trace.to_json` (our local store files, readable by `mlflow.entities.Trace.from_json`), and the
 * proto JSON of `TraceInfoV3` sent to `StartTraceV3`. Written by hand because nanosecond times are
 * integers above 2^53 that `JSON.stringify` cannot write.
 *
 * @internal
 */

const KIND: Record<SpanData["kind"], string> = {
  internal: "SPAN_KIND_INTERNAL",
  server: "SPAN_KIND_SERVER",
  client: "SPAN_KIND_CLIENT",
  producer: "SPAN_KIND_PRODUCER",
  consumer: "SPAN_KIND_CONSUMER"
}

const str = (value: string): string => JSON.stringify(value)

const isPrimitive = (value: Json): boolean => value === null || typeof value !== "object"

const eventToJson = (event: SpanEvent): string => {
  const attributes: Record<string, Json> = {}
  for (const key in event.attributes) {
    const value = event.attributes[key]
    attributes[key] = isPrimitive(value) ? value : JSON.stringify(value)
  }
  return `{"name": ${str(event.name)}, "time_unix_nano": ${event.timeUnixNano}, "attributes": ${
    JSON.stringify(attributes)
  }}`
}

/**
 * `Span.to_dict()` as JSON text: attribute values are JSON strings (readers `json.loads` them, so
 * the compact native encoding is used), ids base64.
 *
 * @internal
 */
export const spanToJson = (span: SpanData): string => {
  const attributes: Record<string, string> = {}
  for (const key in span.attributes) attributes[key] = JSON.stringify(span.attributes[key])
  return "{" + [
    `"trace_id": ${str(hexToBase64(span.traceId))}`,
    `"span_id": ${str(hexToBase64(span.spanId))}`,
    `"parent_span_id": ${span.parentSpanId === null ? "null" : str(hexToBase64(span.parentSpanId))}`,
    `"name": ${str(span.name)}`,
    `"kind": ${str(KIND[span.kind])}`,
    `"start_time_unix_nano": ${span.startTimeUnixNano}`,
    `"end_time_unix_nano": ${span.endTimeUnixNano}`,
    `"events": [${span.events.map(eventToJson).join(", ")}]`,
    `"status": {"code": ${str(`STATUS_CODE_${span.status.code}`)}, "message": ${str(span.status.message)}}`,
    `"attributes": ${JSON.stringify(attributes)}`,
    `"links": [${(span.links ?? []).map(linkToJson).join(", ")}]`
  ].join(", ") + "}"
}

/** MLflow's `Link.to_dict`: the linked trace by its MLflow id, its attributes as they are (or null). */
const linkToJson = (link: SpanLink): string =>
  `{"trace_id": ${str(`tr-${link.traceId}`)}, "span_id": ${str(link.spanId)}, "attributes": ${
    Object.keys(link.attributes).length === 0 ? "null" : dumps(link.attributes as Json)
  }}`

const utf8 = utf8Length

/** Attributes that identify a span rather than carry its payload: outside the payload budgets. */
export const BOOKKEEPING_ATTRIBUTES: ReadonlySet<string> = new Set([
  SpanAttributeKey.REQUEST_ID,
  SpanAttributeKey.SPAN_TYPE,
  SpanAttributeKey.LOG_LEVEL,
  TRUNCATED_ATTRIBUTE
])

/** Sizes of a span, measured in one pass over its attributes. */
export interface SpanMeasure {
  /** the UTF-8 size of `spanToJson(span)` (MLflow's size stats) */
  readonly json: number
  /** the JSON size of its payload attributes (all but the bookkeeping ones), for the budgets */
  readonly payload: number
  /** the JSON size of its largest payload attribute */
  readonly largest: number
}

// measured once per (immutable) span, shared by the payload budgets and the size stats
const measures = new WeakMap<SpanData, SpanMeasure>()

/** @internal */
export const measureSpan = (span: SpanData): SpanMeasure => {
  const known = measures.get(span)
  if (known !== undefined) return known
  emptySpanSize ??= utf8(spanToJson(EMPTY_SPAN))
  let json = emptySpanSize +
    utf8(JSON.stringify(span.name)) - 2 +
    (span.parentSpanId === null ? 0 : 10) +
    String(span.startTimeUnixNano).length - 1 +
    String(span.endTimeUnixNano).length - 1 +
    KIND[span.kind].length - KIND.internal.length +
    span.status.code.length - 2 +
    utf8(JSON.stringify(span.status.message)) - 2
  let payload = 0
  let largest = 0
  let first = true
  for (const key in span.attributes) {
    measureJson(span.attributes[key])
    const size = measured.bytes
    // the value is itself a JSON string inside the attributes object: quoted, its quotes and backslashes escaped
    json += (first ? 0 : 1) + textSize(key) + 1 + size + 2 + measured.escapes
    first = false
    if (BOOKKEEPING_ATTRIBUTES.has(key)) continue
    payload += size
    if (size > largest) largest = size
  }
  for (let i = 0; i < span.events.length; i++) json += (i === 0 ? 0 : 2) + utf8(eventToJson(span.events[i]))
  const links = span.links ?? []
  for (let i = 0; i < links.length; i++) json += (i === 0 ? 0 : 2) + utf8(linkToJson(links[i]))
  const measure = { json, payload, largest }
  measures.set(span, measure)
  return measure
}

const EMPTY_SPAN: SpanData = {
  traceId: "00000000000000000000000000000001",
  spanId: "0000000000000001",
  parentSpanId: null,
  name: "",
  kind: "internal",
  startTimeUnixNano: 0n,
  endTimeUnixNano: 0n,
  status: { code: "OK", message: "" },
  attributes: {},
  events: []
}
let emptySpanSize: number | undefined

/**
 * The UTF-8 size of `spanToJson(span)`, computed without building it (size stats run for every
 * exported span).
 *
 * @internal
 */
export const spanJsonSize = (span: SpanData): number => measureSpan(span).json

/** @internal The `traces.json` artifact: `{"spans": [...]}`. */
export const traceDataToJson = (spans: ReadonlyArray<SpanData>): string =>
  `{"spans": [${spans.map(spanToJson).join(", ")}]}`

/** @internal RFC 3339 timestamp with milliseconds, as protobuf JSON writes `Timestamp`. */
export const timestamp = (ms: number): string => new Date(ms).toISOString()

/** @internal protobuf JSON `Duration`: seconds with a fraction. */
export const duration = (ms: number): string => `${(ms / 1000).toFixed(3)}s`

const location = (experimentId: string | undefined): Json => ({
  type: "MLFLOW_EXPERIMENT",
  mlflow_experiment: { experiment_id: experimentId ?? "0" }
})

const commonInfo = (info: TraceInfo): Record<string, Json> => {
  const out: Record<string, Json> = {
    trace_id: info.traceId,
    trace_location: location(info.experimentId),
    request_time: timestamp(info.requestTimeMs),
    state: info.state,
    trace_metadata: info.metadata,
    tags: info.tags
  }
  if (info.requestPreview !== undefined) out.request_preview = info.requestPreview
  if (info.responsePreview !== undefined) out.response_preview = info.responsePreview
  if (info.clientRequestId !== undefined) out.client_request_id = info.clientRequestId
  return out
}

/** @internal `TraceInfo.to_dict()` (file form: `execution_duration_ms`). */
export const traceInfoToDict = (info: TraceInfo): Json => ({
  ...commonInfo(info),
  execution_duration_ms: info.executionDurationMs
})

/** @internal `TraceInfoV3` in proto JSON, the body of `StartTraceV3`. */
export const traceInfoToProtoJson = (info: TraceInfo): Json => ({
  ...commonInfo(info),
  execution_duration: duration(info.executionDurationMs)
})

/** @internal `Trace.to_json()`: `{"info": ..., "data": {"spans": [...]}}`. */
export const traceToJson = (trace: Trace): string =>
  `{"info": ${dumps(traceInfoToDict(trace.info))}, "data": ${traceDataToJson(trace.spans)}}`
