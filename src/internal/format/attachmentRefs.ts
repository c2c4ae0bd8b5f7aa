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
