import type { Assessment, Source } from "../../Assessment.js"

/** @internal proto JSON of a source */
export const encodeSource = (source: Source) => ({
  source_type: source.sourceType,
  source_id: source.sourceId ?? "default"
})

/** @internal */
export const decode = (raw: any): Assessment => ({
  assessmentId: String(raw.assessment_id ?? ""),
  name: String(raw.assessment_name ?? ""),
  traceId: String(raw.trace_id ?? ""),
  spanId: raw.span_id || undefined,
  source: { sourceType: raw.source?.source_type ?? "CODE", sourceId: raw.source?.source_id ?? "default" },
  createTime: raw.create_time,
  lastUpdateTime: raw.last_update_time,
  feedback: raw.feedback === undefined ? undefined : {
    value: raw.feedback.value,
    error: raw.feedback.error === undefined ? undefined : {
      errorCode: String(raw.feedback.error.error_code ?? ""),
      errorMessage: raw.feedback.error.error_message
    }
  },
  expectation: raw.expectation === undefined ? undefined : { value: raw.expectation.value },
  rationale: raw.rationale,
  metadata: raw.metadata ?? {},
  overrides: raw.overrides || undefined,
  valid: raw.valid !== false
})
