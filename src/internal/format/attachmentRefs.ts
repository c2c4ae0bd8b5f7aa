import type { SpanData, TraceAttachment } from "../../Trace.js"
import { type Json, mapJson } from "../common/json.js"
import { SpanAttributeKey } from "../common/keys.js"

/**
 * Attachment references as MLflow 3.18 writes them into span inputs and outputs, in place of the
 * inline content moved out: `mlflow-attachment://<id>?content_type=..&trace_id=..&size=..` (the
 * extraction is a step of the prepare stage, `prepare/attachments.ts`).
 */

/** @internal */
export const REF_SCHEME = "mlflow-attachment://"

/** @internal The span attributes whose inline content is moved into attachments. */
export const ATTACHMENT_KEYS = [SpanAttributeKey.INPUTS, SpanAttributeKey.OUTPUTS] as const

/** the keys of every structured shape MLflow extracts */
const SHAPE_KEYS = ["input_audio", "source", "b64_json", "audio", "image", "inline_data", "result"]

/**
 * Whether an extraction could change `value` (a read-only pass that allocates nothing, so values
 * without inline content, the common case, are not copied): a `data:` URI, or an object with a
 * shape's key. It tells whether the extraction (loaded only then) is needed at all.
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
  ATTACHMENT_KEYS.some((key) => {
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
    for (const key of ATTACHMENT_KEYS) {
      const value = span.attributes[key]
      const restored = value === undefined ? value : restore(value)
      if (restored !== value) (attributes ??= { ...span.attributes })[key] = restored!
    }
    return attributes === undefined ? span : { ...span, attributes }
  })
}
