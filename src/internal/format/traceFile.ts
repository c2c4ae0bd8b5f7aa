import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { Trace } from "../../Trace.js"
import { parseBigJson } from "./bigJson.js"
import { decodeDictSpan, decodeTraceInfo, rootFirst } from "./traceRead.js"
import * as Wire from "./wire.js"

/**
 * Trace files: MLflow's `Trace.to_json()` (what the local store and the spool write, and what
 * `mlflow.entities.Trace.from_json` reads) read back into a `Trace`.
 *
 * @internal
 */

const TraceFile = Schema.Struct({
  info: Wire.TraceInfo,
  data: Schema.optional(Wire.TraceData),
  /** what only effect-mlflow writes (the spool): ignored by MLflow's reader */
  effect_mlflow: Schema.optional(Schema.Struct({
    /** the ids of the trace's attachments, in the order extraction finds them (inlined in the file) */
    attachment_ids: Schema.optional(Schema.Array(Schema.String))
  }))
})

/** A trace file read back: the trace, and the attachment ids recorded with it. */
export interface TraceFileContent {
  readonly trace: Trace
  readonly attachmentIds: ReadonlyArray<string>
}

/** Reads a trace file's text; `Left` says what is wrong with it. */
export const readTraceFile = (text: string): Either.Either<TraceFileContent, string> => {
  let raw: unknown
  try {
    raw = parseBigJson(text)
  } catch (error) {
    return Either.left(`not JSON: ${error instanceof Error ? error.message : String(error)}`)
  }
  return Schema.decodeUnknownEither(TraceFile)(raw).pipe(
    Either.mapLeft((error) => `not an MLflow trace file: ${ParseResult.TreeFormatter.formatErrorSync(error)}`),
    Either.map((file) => {
      const { assessments: _, ...info } = decodeTraceInfo(file.info)
      return {
        trace: { info, spans: rootFirst((file.data?.spans ?? []).map(decodeDictSpan)) },
        attachmentIds: file.effect_mlflow?.attachment_ids ?? []
      }
    })
  )
}
