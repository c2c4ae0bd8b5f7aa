import type { Assessment, Source } from "../../Assessment.js"
import { plainJson } from "../common/json.js"
import type * as Wire from "./wire.js"

// the contracts are the public module's
export type { Assessment, FeedbackError, Source, Value } from "../../Assessment.js"

/** proto JSON of a source */
export const encodeSource = (source: Source) => ({
  source_type: source.sourceType,
  source_id: source.sourceId ?? "default"
})

const sourceType = (value: string | undefined): Source["sourceType"] =>
  value === "HUMAN" || value === "LLM_JUDGE" ? value : "CODE"

export const decode = (raw: typeof Wire.Assessment.Type): Assessment => ({
  assessmentId: raw.assessment_id ?? "",
  name: raw.assessment_name ?? "",
  traceId: raw.trace_id ?? "",
  spanId: raw.span_id || undefined,
  source: { sourceType: sourceType(raw.source?.source_type), sourceId: raw.source?.source_id ?? "default" },
  createTime: raw.create_time,
  lastUpdateTime: raw.last_update_time,
  feedback: raw.feedback === undefined ? undefined : {
    value: raw.feedback.value === undefined ? undefined : plainJson(raw.feedback.value),
    error: raw.feedback.error === undefined ? undefined : {
      errorCode: raw.feedback.error.error_code ?? "",
      errorMessage: raw.feedback.error.error_message
    }
  },
  expectation: raw.expectation === undefined ? undefined : { value: plainJson(raw.expectation.value) },
  rationale: raw.rationale,
  metadata: raw.metadata ?? {},
  overrides: raw.overrides || undefined,
  valid: raw.valid !== false
})
