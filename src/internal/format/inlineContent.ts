import type { SpanData, TraceAttachment } from "../../Trace.js"
import { type Json, mapJson } from "../common/json.js"
import { SpanAttributeKey } from "../common/keys.js"

/**
 * What tells, without the extraction itself (`attachments.ts`, loaded only when a span may hold
 * inline content), whether a span's inputs or outputs may hold inline binary content; and the way
 * back, attachment references replaced by the content they stand for.
 */

/** @internal */
export const REF_SCHEME = "mlflow-attachment://"

/** the attributes whose values may hold inline content */
export const INLINE_CONTENT_KEYS = [SpanAttributeKey.INPUTS, SpanAttributeKey.OUTPUTS] as const

/** the keys of every structured shape MLflow extracts */
const SHAPE_KEYS = ["input_audio", "source", "b64_json", "audio", "image", "inline_data", "result"]

/**
 * Whether an extraction could change `value` (a read-only pass that allocates nothing, so values
 * without inline content, the common case, are not copied): a `data:` URI, or an object with a
 * shape's key.
 *
 * @internal
 */
export const mayHold = (value: Json): boolean => {
  if (typeof value === "string") return value.startsWith("data:")
  if (typeof value !== "object" || value === null) return false
  if (Array.isArray(value)) return value.some(mayHold)
  const record = value as { readonly [key: string]: Json }
  for (const key of SHAPE_KEYS) if (Object.hasOwn(record, key)) return true
  for (const key in record) if (mayHold(record[key])) return true
  return false
}

/**
 * Whether the inputs or outputs of a span may hold inline content.
 *
 * @internal
 */
export const spanMayHold = (span: SpanData): boolean =>
  INLINE_CONTENT_KEYS.some((key) => {
    const value = span.attributes[key]
    return value !== undefined && mayHold(value)
  })

/**
 * The spans with every attachment reference put back as the text it replaced (for a destination
 * that cannot store attachments).
 *
 * @internal
 */
export const inlineAttachments = (
  spans: ReadonlyArray<SpanData>,
  attachments: ReadonlyArray<TraceAttachment>
): ReadonlyArray<SpanData> => {
  if (attachments.length === 0) return spans
  const byRef = new Map(attachments.map((attachment) => [attachment.ref, attachment.source]))
  const restore = (value: Json): Json =>
    mapJson(value, (item) => typeof item === "string" ? byRef.get(item) ?? item : item)
  return spans.map((span) => {
    let attributes: Record<string, Json> | undefined
    for (const key of INLINE_CONTENT_KEYS) {
      const value = span.attributes[key]
      const restored = value === undefined ? value : restore(value)
      if (restored !== value) (attributes ??= { ...span.attributes })[key] = restored!
    }
    return attributes === undefined ? span : { ...span, attributes }
  })
}
