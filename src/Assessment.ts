/**
 * Assessments: feedback on a trace or span (from a human, an LLM judge or code) and expectations
 * (ground truth), as MLflow stores them.
 *
 * @since 0.1.0
 */

import * as Effect from "effect/Effect"
import { encodeSource } from "./internal/assessmentJson.js"
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
export type Value = string | number | boolean | null | ReadonlyArray<Value> | { readonly [key: string]: Value }

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

const feedbackBody = (value: Value | undefined, error: FeedbackError | Error | string | undefined) => {
  const out: Record<string, unknown> = {}
  if (value !== undefined) out.value = value
  if (error !== undefined) {
    out.error = typeof error === "string"
      ? { error_code: "ERROR", error_message: error }
      : error instanceof Error
      ? { error_code: error.name, error_message: error.message, stack_trace: error.stack }
      : { error_code: error.errorCode, error_message: error.errorMessage }
  }
  return out
}

const common = (options: {
  readonly traceId: string
  readonly name: string
  readonly source: Source
  readonly rationale?: string | undefined
  readonly metadata?: Readonly<Record<string, string>> | undefined
  readonly spanId?: string | undefined
}) => ({
  trace_id: options.traceId,
  assessment_name: options.name,
  source: encodeSource(options.source),
  ...(options.rationale === undefined ? {} : { rationale: options.rationale }),
  ...(options.metadata === undefined ? {} : { metadata: options.metadata }),
  ...(options.spanId === undefined ? {} : { span_id: options.spanId })
})

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
  Effect.flatMap(MlflowClient, (client) =>
    client.createAssessment({
      ...common({ ...options, name: options.name ?? "feedback", source: options.source ?? { sourceType: "CODE" } }),
      feedback: feedbackBody(options.value, options.error)
    }))

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
  Effect.flatMap(MlflowClient, (client) =>
    client.createAssessment({
      ...common({ ...options, source: options.source ?? { sourceType: "HUMAN" } }),
      expectation: { value: options.value }
    }))

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
    const current = yield* client.getAssessment(traceId, assessmentId)
    const body: Record<string, unknown> = { assessment_name: current.name }
    const mask: Array<string> = []
    if (update.value !== undefined) {
      const field = current.expectation !== undefined ? "expectation" : "feedback"
      body[field] = { value: update.value }
      mask.push(field)
    }
    if (update.rationale !== undefined) {
      body.rationale = update.rationale
      mask.push("rationale")
    }
    if (update.metadata !== undefined) {
      body.metadata = update.metadata
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
    const old = yield* client.getAssessment(options.traceId, options.assessmentId)
    return yield* client.createAssessment({
      ...common({
        traceId: options.traceId,
        name: old.name,
        source: options.source ?? { sourceType: "HUMAN" },
        rationale: options.rationale,
        metadata: options.metadata,
        spanId: old.spanId
      }),
      feedback: { value: options.value },
      overrides: options.assessmentId
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
