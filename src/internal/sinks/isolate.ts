import * as Effect from "effect/Effect"
import type { Trace } from "../../Trace.js"
import type { ExportError, ExportOutcome } from "../export/sink.js"

type Rejected = ExportOutcome["rejected"][number]

/**
 * Sends `traces` in one request; when the destination refuses the request as a whole for what it
 * holds (`refused` answers why, for a 400 or 413 it will not take back), the batch is split and sent
 * again, halves first, so that only the traces refused on their own are left out, each with its
 * reason. `both` joins what two halves answered; a trace refused alone answers `alone`.
 */
export const isolating = <A, E>(options: {
  readonly send: (traces: ReadonlyArray<Trace>) => Effect.Effect<A, E>
  readonly refused: (error: E) => ExportError | undefined
  readonly both: (left: A, right: A) => A
  readonly alone: A
}) => {
  const go = (
    traces: ReadonlyArray<Trace>
  ): Effect.Effect<{ readonly value: A; readonly rejected: Array<Rejected> }, E> =>
    options.send(traces).pipe(
      Effect.map((value) => ({ value, rejected: [] as Array<Rejected> })),
      Effect.catchAll((error) => {
        const refusal = options.refused(error)
        if (refusal === undefined) return Effect.fail(error)
        if (traces.length === 1) {
          return Effect.succeed({
            value: options.alone,
            rejected: [{ traceId: traces[0].info.traceId, error: refusal }]
          })
        }
        const half = Math.ceil(traces.length / 2)
        return Effect.map(
          Effect.all([go(traces.slice(0, half)), go(traces.slice(half))]),
          ([left, right]) => ({
            value: options.both(left.value, right.value),
            rejected: [...left.rejected, ...right.rejected]
          })
        )
      })
    )
  return go
}
