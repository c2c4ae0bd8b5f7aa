import type { SpanProcessor, SpanView } from "../../Redaction.js"
import type { SpanData } from "../../Trace.js"
import type { Json } from "../common/json.js"
import { SpanAttributeKey } from "../common/keys.js"

// the contracts are the public module's
export type { SpanProcessor, SpanView } from "../../Redaction.js"

/** What a span's content becomes when a processor fails on it. */
const MASKED = "<redacted: a span processor failed>"

const IDENTIFIERS = new Set<string>([SpanAttributeKey.REQUEST_ID, SpanAttributeKey.SPAN_TYPE])

/** Whether the processors left the span as it was (compared with the span itself, not the view). */
const unchanged = (view: SpanView, span: SpanData, attributeCount: number): boolean => {
  if (view.inputs !== span.attributes[SpanAttributeKey.INPUTS]) return false
  if (view.outputs !== span.attributes[SpanAttributeKey.OUTPUTS]) return false
  let count = 0
  for (const key in view.attributes) {
    if (!(key in span.attributes) || view.attributes[key] !== span.attributes[key]) return false
    count++
  }
  if (count !== attributeCount) return false
  for (let i = 0; i < view.events.length; i++) {
    if (!sameAttributes(span.events[i].attributes, view.events[i].attributes)) return false
  }
  for (let i = 0; i < view.links.length; i++) {
    if (!sameAttributes(span.links![i].attributes, view.links[i].attributes)) return false
  }
  return true
}

const sameAttributes = (before: Readonly<Record<string, Json>>, after: Readonly<Record<string, Json>>): boolean => {
  if (Object.keys(after).length !== Object.keys(before).length) return false
  for (const key in after) if (after[key] !== before[key]) return false
  return true
}

/**
 * Runs processors over a span; answers the processed span and, when a processor threw, its error
 * (the span's content is then masked).
 */
export const process = (
  span: SpanData,
  processors: ReadonlyArray<SpanProcessor>
): { readonly span: SpanData; readonly error: unknown } => {
  if (processors.length === 0) return { span, error: undefined }
  const source = span.attributes
  const inputs = source[SpanAttributeKey.INPUTS]
  const outputs = source[SpanAttributeKey.OUTPUTS]
  const attributes: Record<string, Json> = {}
  let attributeCount = 0
  for (const key in source) {
    if (IDENTIFIERS.has(key) || key === SpanAttributeKey.INPUTS || key === SpanAttributeKey.OUTPUTS) continue
    attributes[key] = source[key]
    attributeCount++
  }
  const view: SpanView = {
    name: span.name,
    spanType: typeof span.attributes[SpanAttributeKey.SPAN_TYPE] === "string"
      ? span.attributes[SpanAttributeKey.SPAN_TYPE] as string
      : "UNKNOWN",
    status: span.status,
    inputs,
    outputs,
    attributes,
    events: span.events.length === 0
      ? []
      : span.events.map((event) => ({ name: event.name, attributes: { ...event.attributes } })),
    links: span.links === undefined
      ? []
      : span.links.map((link) => ({ traceId: link.traceId, spanId: link.spanId, attributes: { ...link.attributes } }))
  }
  let error: unknown = undefined
  for (const processor of processors) {
    try {
      processor(view)
    } catch (cause) {
      error = cause
      break
    }
  }
  if (error === undefined && unchanged(view, span, attributeCount)) return { span, error }
  if (error !== undefined) {
    const masked = (value: Json | undefined) => value === undefined ? undefined : MASKED
    view.inputs = masked(view.inputs)
    view.outputs = masked(view.outputs)
    for (const key in view.attributes) view.attributes[key] = MASKED
    for (const event of view.events) for (const key in event.attributes) event.attributes[key] = MASKED
    for (const link of view.links) for (const key in link.attributes) link.attributes[key] = MASKED
  }
  const out: Record<string, Json> = {}
  for (const key of IDENTIFIERS) if (key in span.attributes) out[key] = span.attributes[key]
  Object.assign(out, view.attributes)
  if (view.inputs !== undefined) out[SpanAttributeKey.INPUTS] = view.inputs
  if (view.outputs !== undefined) out[SpanAttributeKey.OUTPUTS] = view.outputs
  return {
    span: {
      ...span,
      attributes: out,
      events: span.events.map((event, i) => ({ ...event, attributes: view.events[i].attributes })),
      ...(span.links === undefined
        ? {}
        : { links: span.links.map((link, i) => ({ ...link, attributes: view.links[i].attributes })) })
    },
    error
  }
}
