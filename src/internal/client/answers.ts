import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Wire from "../format/wire.js"
import { type MlflowError, MlflowTransportError } from "./errors.js"

import type { JsonObject } from "./model.js"

/** The answers of the REST calls the client makes, as far as it reads them. */

export const ExperimentAnswer = Schema.Struct({
  experiment: Schema.Struct({
    experiment_id: Schema.String,
    name: Schema.optional(Schema.String),
    artifact_location: Schema.optional(Schema.String),
    lifecycle_stage: Schema.optional(Schema.String)
  })
})

export const CreateExperimentAnswer = Schema.Struct({ experiment_id: Schema.String })

export const StartTraceAnswer = Schema.Struct({
  trace: Schema.optional(Schema.Struct({
    trace_info: Schema.optional(Schema.Struct({
      tags: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String }))
    }))
  }))
})

export const TraceInfoAnswer = Schema.Struct({ trace: Schema.Struct({ trace_info: Wire.TraceInfo }) })

export const TraceAnswer = Schema.Struct({
  trace: Schema.Struct({ trace_info: Wire.TraceInfo, spans: Schema.optional(Schema.Array(Wire.ProtoSpan)) })
})

export const SearchAnswer = Schema.Struct({
  traces: Schema.optional(Schema.Array(Wire.TraceInfo)),
  next_page_token: Schema.optional(Schema.String)
})

export const DeleteAnswer = Schema.Struct({ traces_deleted: Schema.optional(Wire.Integer) })

export const AssessmentAnswer = Schema.Struct({ assessment: Wire.Assessment })

export { TraceData } from "../format/wire.js"

/**
 * Checks an answer against its schema: an answer of another shape fails as `Decode`, saying where
 * it differs (the answer itself is not quoted: it may hold user data).
 */
export const decode = <A, I>(schema: Schema.Schema<A, I>, method: string, url: string) => {
  const parse = Schema.decodeUnknown(schema)
  return (body: JsonObject): Effect.Effect<A, MlflowError> =>
    Effect.mapError(
      parse(body),
      (error) =>
        new MlflowTransportError({
          reason: "Decode",
          method,
          url,
          detail: `the answer is not what the MLflow API answers: ${
            ParseResult.ArrayFormatter.formatErrorSync(error).slice(0, 3).map((issue) =>
              `${issue.path.join(".") || "(answer)"}: ${issue.message.slice(0, 160)}`
            ).join("; ")
          }`,
          description: "unexpected answer"
        })
    )
}
