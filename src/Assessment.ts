/**
 * Assessments: feedback on a trace or span (from a human, an LLM judge or code) and expectations
 * (ground truth), as MLflow stores them.
 *
 * @since 0.1.0
 */

import * as Effect from "effect/Effect"
import type { Json } from "./internal/common/json.js"
import * as AssessmentJson from "./internal/format/assessmentJson.js"
import { snapshot } from "./internal/tracing/snapshot.js"
import { optionalText, textEntries, toText } from "./internal/tracing/text.js"
import { MlflowClient, type MlflowError } from "./MlflowClient.js"

/**
 * Who made an assessment.
 *
 * @since 0.1.0
 * @category models
 */
export interface Source {
  readonly sourceType: "HUMAN" | "LLM_JUDGE" | "CODE"
  /** default `"default"` */
  readonly sourceId?: string | undefined
}

/**
 * A JSON value of an assessment.
 *
 * @since 0.1.0
 * @category models
 */
export type Value = Json

/**
 * An assessment as stored.
 *
 * @since 0.1.0
 * @category models
 */
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

/**
 * Why a feedback has no value (a judge that failed).
 *
 * @since 0.1.0
 * @category models
 */
export interface FeedbackError {
  readonly errorCode: string
  readonly errorMessage: string | undefined
}

/** Options from user code, read once through the never-throwing snapshot. */
const read = (options: unknown): Readonly<Record<string, Json>> => asRecord(snapshot(options))
const asRecord = (json: Json | undefined): Readonly<Record<string, Json>> =>
  typeof json === "object" && json !== null && !Array.isArray(json) ? json as Record<string, Json> : {}
const record = (value: Json | undefined): Record<string, string> | undefined =>
  value === undefined || value === null ? undefined : Object.fromEntries(textEntries(value))

/** A feedback error as given (text, `Error` or `FeedbackError`), in its snapshot form. */
const feedbackError = (error: Json) => {
  if (typeof error !== "object" || error === null || Array.isArray(error)) {
    return { error_code: "ERROR", error_message: toText(error) }
  }
  const fields = asRecord(error)
  if ("errorCode" in fields) {
    return { error_code: toText(fields.errorCode), error_message: optionalText(fields.errorMessage) }
  }
  return {
    error_code: optionalText(fields.name) ?? "ERROR",
    error_message: optionalText(fields.message),
    stack_trace: optionalText(fields.stack)
  }
}

const feedbackBody = (value: Json | undefined, error: Json | undefined) => {
  const out: Record<string, unknown> = {}
  if (value !== undefined) out.value = value
  if (error !== undefined && error !== null) out.error = feedbackError(error)
  return out
}

const source = (value: Json | undefined, fallback: Source["sourceType"]) => {
  const given = asRecord(value)
  return AssessmentJson.encodeSource({
    sourceType: (optionalText(given.sourceType) ?? fallback) as Source["sourceType"],
    sourceId: optionalText(given.sourceId)
  })
}

const common = (options: Readonly<Record<string, Json>>, name: string, fallbackSource: Source["sourceType"]) => {
  const rationale = optionalText(options.rationale)
  const metadata = record(options.metadata)
  const spanId = optionalText(options.spanId)
  return {
    trace_id: optionalText(options.traceId) ?? "",
    assessment_name: name,
    source: source(options.source, fallbackSource),
    ...(rationale === undefined ? {} : { rationale }),
    ...(metadata === undefined ? {} : { metadata }),
    ...(spanId === undefined ? {} : { span_id: spanId })
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface FeedbackOptions {
  readonly traceId: string
  /** default `"feedback"` */
  readonly name?: string | undefined
  /** the feedback; or give `error` when it could not be produced */
  readonly value?: Value | undefined
  readonly error?: FeedbackError | Error | string | undefined
  readonly rationale?: string | undefined
  /** default `{ sourceType: "CODE" }` */
  readonly source?: Source | undefined
  readonly metadata?: Readonly<Record<string, string>> | undefined
  /** to attach it to one span of the trace */
  readonly spanId?: string | undefined
}

/**
 * Logs feedback on a trace (a rating, a label, a judge's score...).
 *
 * @since 0.1.0
 * @category feedback
 */
export const logFeedback = (options: FeedbackOptions): Effect.Effect<Assessment, MlflowError, MlflowClient> =>
  Effect.flatMap(MlflowClient, (client) => {
    const given = read(options)
    return client.createAssessment({
      ...common(given, optionalText(given.name) ?? "feedback", "CODE"),
      feedback: feedbackBody(given.value, given.error)
    })
  })

/**
 * Logs an expectation (the expected answer) on a trace.
 *
 * @since 0.1.0
 * @category feedback
 */
export const logExpectation = (options: {
  readonly traceId: string
  readonly name: string
  readonly value: Value
  /** default `{ sourceType: "HUMAN" }` */
  readonly source?: Source | undefined
  readonly metadata?: Readonly<Record<string, string>> | undefined
  readonly spanId?: string | undefined
}): Effect.Effect<Assessment, MlflowError, MlflowClient> =>
  Effect.flatMap(MlflowClient, (client) => {
    const given = read(options)
    return client.createAssessment({
      ...common(given, optionalText(given.name) ?? "", "HUMAN"),
      expectation: { value: given.value ?? null }
    })
  })

/**
 * @since 0.1.0
 * @category feedback
 */
export const getAssessment = (
  traceId: string,
  assessmentId: string
): Effect.Effect<Assessment, MlflowError, MlflowClient> =>
  Effect.flatMap(MlflowClient, (client) => client.getAssessment(traceId, assessmentId))

/**
 * Changes an assessment in place: its value (feedback or expectation, whichever it is), rationale
 * or metadata.
 *
 * @since 0.1.0
 * @category feedback
 */
export const updateAssessment = (
  traceId: string,
  assessmentId: string,
  update: {
    readonly value?: Value | undefined
    readonly rationale?: string | undefined
    readonly metadata?: Readonly<Record<string, string>> | undefined
  }
): Effect.Effect<Assessment, MlflowError, MlflowClient> =>
  Effect.gen(function*() {
    const client = yield* MlflowClient
    const given = read(update)
    const current = yield* client.getAssessment(toText(traceId), toText(assessmentId))
    const body: Record<string, unknown> = { assessment_name: current.name }
    const mask: Array<string> = []
    if (given.value !== undefined) {
      const field = current.expectation !== undefined ? "expectation" : "feedback"
      body[field] = { value: given.value }
      mask.push(field)
    }
    const rationale = optionalText(given.rationale)
    if (rationale !== undefined) {
      body.rationale = rationale
      mask.push("rationale")
    }
    const metadata = record(given.metadata)
    if (metadata !== undefined) {
      body.metadata = metadata
      mask.push("metadata")
    }
    return yield* client.updateAssessment(traceId, assessmentId, body, mask)
  })

/**
 * Replaces a feedback with a corrected one: a new assessment that `overrides` the old, which
 * MLflow then marks invalid.
 *
 * @since 0.1.0
 * @category feedback
 */
export const overrideFeedback = (options: {
  readonly traceId: string
  readonly assessmentId: string
  readonly value: Value
  readonly rationale?: string | undefined
  /** default `{ sourceType: "HUMAN" }` */
  readonly source?: Source | undefined
  readonly metadata?: Readonly<Record<string, string>> | undefined
}): Effect.Effect<Assessment, MlflowError, MlflowClient> =>
  Effect.gen(function*() {
    const client = yield* MlflowClient
    const given = read(options)
    const traceId = optionalText(given.traceId) ?? ""
    const assessmentId = optionalText(given.assessmentId) ?? ""
    const old = yield* client.getAssessment(traceId, assessmentId)
    return yield* client.createAssessment({
      ...common({ ...given, traceId, spanId: old.spanId ?? null }, old.name, "HUMAN"),
      feedback: { value: given.value ?? null },
      overrides: assessmentId
    })
  })

/**
 * @since 0.1.0
 * @category feedback
 */
export const deleteAssessment = (
  traceId: string,
  assessmentId: string
): Effect.Effect<void, MlflowError, MlflowClient> =>
  Effect.flatMap(MlflowClient, (client) => client.deleteAssessment(traceId, assessmentId))
