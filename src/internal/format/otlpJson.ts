import type { SpanData, SpanEvent } from "../../Trace.js"
import type { Json } from "../common/json.js"
import { depthMarker, KIND, maxMessageDepth, type Resource, scopeName, SPAN_DEPTH, STATUS } from "./otlp.js"

/**
 * Encodes spans as an OTLP/JSON `ExportTraceServiceRequest` (the protobuf JSON mapping with the
 * OTLP exceptions: ids in hex, enums as numbers, 64-bit integers as decimal strings).
 */
export const encodeTraceRequestJson = (spans: ReadonlyArray<SpanData>, resource: Resource): string =>
  JSON.stringify({
    resourceSpans: [{
      resource: { attributes: keyValues(resource.attributes, 2) },
      scopeSpans: [{ scope: { name: scopeName }, spans: spans.map(span) }]
    }]
  })

const span = (data: SpanData) => ({
  traceId: data.traceId,
  spanId: data.spanId,
  ...(data.parentSpanId === null ? {} : { parentSpanId: data.parentSpanId }),
  name: data.name,
  kind: KIND[data.kind],
  startTimeUnixNano: data.startTimeUnixNano.toString(),
  endTimeUnixNano: data.endTimeUnixNano.toString(),
  attributes: keyValues(data.attributes, SPAN_DEPTH),
  events: data.events.map(event),
  ...(data.links === undefined ? {} : {
    links: data.links.map((link) => ({
      traceId: link.traceId,
      spanId: link.spanId,
      attributes: keyValues(link.attributes, SPAN_DEPTH + 1)
    }))
  }),
  status: {
    ...(data.status.message === undefined ? {} : { message: data.status.message }),
    code: STATUS[data.status.code]
  }
})

const event = (data: SpanEvent) => ({
  timeUnixNano: data.timeUnixNano.toString(),
  name: data.name,
  attributes: keyValues(data.attributes, SPAN_DEPTH + 1)
})

/** `depth`: how deep the message holding these attributes is (as in the protobuf encoder) */
const keyValues = (attributes: Readonly<Record<string, Json>>, depth: number): Array<unknown> => {
  const out: Array<unknown> = []
  for (const key in attributes) out.push({ key, value: anyValue(attributes[key], depth + 2) })
  return out
}

const anyValue = (value: Json, depth: number): unknown => {
  if (value === null) return {}
  switch (typeof value) {
    case "string":
      return { stringValue: value }
    case "boolean":
      return { boolValue: value }
    case "number":
      return Number.isSafeInteger(value) ? { intValue: String(value) } : { doubleValue: jsonDouble(value) }
  }
  if (depth + (Array.isArray(value) ? 2 : 3) > maxMessageDepth) {
    return { stringValue: depthMarker + JSON.stringify(value) }
  }
  if (Array.isArray(value)) return { arrayValue: { values: value.map((item) => anyValue(item, depth + 2)) } }
  return { kvlistValue: { values: keyValues(value as Readonly<Record<string, Json>>, depth + 1) } }
}

/** the protobuf JSON mapping writes non-finite doubles as strings */
const jsonDouble = (value: number): number | string =>
  Number.isFinite(value) ? value : Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity"
