import * as Effect from "effect/Effect"
import type { JsonValue, SpanData, SpanEvent, StatusCode } from "../../Trace.js"
import { hexToBytes } from "../common/bytes.js"
import type { Json } from "../common/json.js"
import { forEachInSlices } from "../common/slices.js"
import { ProtoWriter } from "./protobuf.js"

/** The instrumentation scope name written into every OTLP request. */
export const scopeName = "effect-mlflow"

/** Resource of the exported spans. */
export interface Resource {
  readonly attributes: Readonly<Record<string, JsonValue>>
}

/** The deepest message nesting the encoder writes (see the public `Otlp.maxMessageDepth`). */
export const maxMessageDepth = 96

/** The marker before the JSON text of a value nested too deep for OTLP. */
export const depthMarker = "[MaxDepth] "

export const KIND: Record<SpanData["kind"], number> = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 }
export const STATUS: Record<StatusCode, number> = { UNSET: 0, OK: 1, ERROR: 2 }

/** Encodes spans as an OTLP `ExportTraceServiceRequest` protobuf message. */
export const encodeTraceRequest = (spans: ReadonlyArray<SpanData>, resource: Resource): Uint8Array =>
  withSpans(resource, (scopeSpans) => {
    for (const span of spans) scopeSpans.message(2, (w) => writeSpan(w, span))
  })

/** The request, its spans written by `write` into its `ScopeSpans` message. */
const withSpans = (resource: Resource, write: (scopeSpans: ProtoWriter) => void): Uint8Array =>
  new ProtoWriter()
    .message(1, (resourceSpans) =>
      resourceSpans
        .message(1, (res) => writeAttributes(res, 1, resource.attributes, 2))
        .message(2, (scopeSpans) => {
          scopeSpans.message(1, (scope) => scope.string(1, scopeName))
          write(scopeSpans)
        }))
    .finish()

/** Spans from which encoding is done in slices. */
const SLICED_FROM_SPANS = 256
/** The size of the parts a request is encoded in before they are put together. */
const PART_BYTES = 1024 * 1024

/**
 * `encodeTraceRequest`, as an effect that yields to the event loop between slices of the spans: a
 * request of thousands of spans does not hold it for the whole encoding. Each slice of spans is
 * written whole into a part (the repeated `spans` fields of `ScopeSpans`, concatenated), then the
 * parts are copied into the request.
 */
export const encodeTraceRequestYielding = (
  spans: ReadonlyArray<SpanData>,
  resource: Resource
): Effect.Effect<Uint8Array> => {
  if (spans.length < SLICED_FROM_SPANS) return Effect.sync(() => encodeTraceRequest(spans, resource))
  const parts: Array<Uint8Array> = []
  let writer: ProtoWriter | undefined
  return forEachInSlices(spans, (span, i) => {
    writer ??= new ProtoWriter()
    writer.message(2, (w) => writeSpan(w, span))
    if (writer.length() >= PART_BYTES || i === spans.length - 1) {
      parts.push(writer.finish())
      writer = undefined
    }
  }, true).pipe(
    Effect.zipRight(Effect.sync(() =>
      withSpans(resource, (scopeSpans) => {
        for (const part of parts) scopeSpans.raw(part)
      })
    ))
  )
}

const writeSpan = (w: ProtoWriter, span: SpanData): void => {
  w.bytes(1, hexToBytes(span.traceId))
  w.bytes(2, hexToBytes(span.spanId))
  if (span.parentSpanId !== null) w.bytes(4, hexToBytes(span.parentSpanId))
  w.string(5, span.name)
  w.uint32(6, KIND[span.kind])
  w.fixed64(7, span.startTimeUnixNano)
  w.fixed64(8, span.endTimeUnixNano)
  writeAttributes(w, 9, span.attributes, SPAN_DEPTH)
  for (const event of span.events) w.message(11, (e) => writeEvent(e, event))
  for (const link of span.links ?? []) {
    w.message(13, (l) => {
      l.bytes(1, hexToBytes(link.traceId)).bytes(2, hexToBytes(link.spanId))
      writeAttributes(l, 4, link.attributes, SPAN_DEPTH + 1)
    })
  }
  w.message(15, (status) => status.optionalString(2, span.status.message).uint32(3, STATUS[span.status.code]))
}

const writeEvent = (w: ProtoWriter, event: SpanEvent): void => {
  w.fixed64(1, event.timeUnixNano)
  w.string(2, event.name)
  writeAttributes(w, 3, event.attributes, SPAN_DEPTH + 1)
}

/** nesting of the messages that hold a span's attributes: request > resource spans > scope spans > span */
export const SPAN_DEPTH = 4

/** `depth`: how deep the messages that hold these attributes are */
const writeAttributes = (
  w: ProtoWriter,
  field: number,
  attributes: Readonly<Record<string, Json>>,
  depth: number
): void => {
  for (const key in attributes) {
    const value = attributes[key]
    // KeyValue at depth + 1, its AnyValue at depth + 2
    w.message(field, (kv) => kv.string(1, key).message(2, (any) => writeAnyValue(any, value, depth + 2)))
  }
}

/** `depth`: the nesting of the AnyValue message being written */
const writeAnyValue = (w: ProtoWriter, value: Json, depth: number): void => {
  if (value === null) return
  switch (typeof value) {
    case "string":
      w.string(1, value)
      return
    case "boolean":
      w.bool(2, value)
      return
    case "number":
      if (Number.isSafeInteger(value)) w.int64(3, BigInt(value))
      else w.double(4, value)
      return
  }
  // an array's items are AnyValues two levels down, an object's three (KeyValueList > KeyValue > AnyValue)
  if (depth + (Array.isArray(value) ? 2 : 3) > maxMessageDepth) {
    w.string(1, depthMarker + JSON.stringify(value))
    return
  }
  if (Array.isArray(value)) {
    w.message(5, (array) => {
      for (const item of value) array.message(1, (any) => writeAnyValue(any, item, depth + 2))
    })
    return
  }
  w.message(6, (list) => writeAttributes(list, 1, value as Readonly<Record<string, Json>>, depth + 1))
}
