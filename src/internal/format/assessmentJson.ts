import { type Json, plainJson } from "../common/json.js"
import type * as Wire from "./wire.js"

/** Who made an assessment. */
export interface Source {
  readonly sourceType: "HUMAN" | "LLM_JUDGE" | "CODE"
  /** default `"default"` */
  readonly sourceId?: string | undefined
}

/** A JSON value of an assessment. */
export type Value = Json

/** Why a feedback has no value (a judge that failed). */
export interface FeedbackError {
  readonly errorCode: string
  readonly errorMessage: string | undefined
}

/** An assessment as stored. */
export interface Assessment {
  readonly assessmentId: string
  readonly name: string
  readonly traceId: string
  readonly spanId: string | undefined
  readonly source: Source
  readonly createTime: string | undefined
  readonly lastUpdateTime: string | undefined
  readonly feedback: { readonly value: Value | undefined; readonly error: FeedbackError | undefined } | undefined
  readonly expectation: { readonly value: Value } | undefined
  readonly rationale: string | undefined
  readonly metadata: Readonly<Record<string, string>>
  /** the id of the assessment this one replaces */
  readonly overrides: string | undefined
  /** `false` once overridden */
  readonly valid: boolean
}

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
