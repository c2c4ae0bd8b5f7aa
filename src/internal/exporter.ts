import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type { ExportError, Sink, Stats } from "../Exporter.js"
import type { Trace } from "../Trace.js"
import type { CompletedTrace } from "./assembler.js"
import { finalize } from "./finalize.js"

/** @internal */
export interface ExporterOptions {
  readonly capacity: number
  readonly workers: number
  readonly batchSize: number
  readonly environment: Readonly<Record<string, string>>
}

/** @internal */
export interface Exporter {
  /** Synchronous hand-off from `span.end()`: never blocks, never fails. */
  readonly offer: (trace: CompletedTrace) => void
  /** Waits until everything offered so far is exported or failed; `false` on timeout. */
  readonly flush: (millis: number) => Effect.Effect<boolean>
  readonly stats: Effect.Effect<Stats>
}

/**
 * A sliding bounded queue drained by a pool of worker fibers. Workers run with tracing disabled
 * so the export's own effects never become spans.
 *
 * @internal
 */
export const make = (sink: Sink, options: ExporterOptions): Effect.Effect<Exporter, never, Scope.Scope> =>
  Effect.gen(function*() {
    const queue = yield* Queue.sliding<CompletedTrace>(options.capacity)
    const counters = { inFlight: 0, exported: 0, failed: 0, dropped: 0, lateSpans: 0 }
    // traces offered and not yet exported or failed; flush waits for it to reach zero
    let pending = 0
    let waiters: Array<Deferred.Deferred<void>> = []
    const settle = (n: number) => {
      pending -= n
      if (pending === 0 && waiters.length > 0) {
        for (const waiter of waiters) Deferred.unsafeDone(waiter, Exit.void)
        waiters = []
      }
    }

    const offer = (trace: CompletedTrace): void => {
      pending++
      if (Queue.unsafeOffer(queue, trace)) return
      // full: `unsafeOffer` does not apply the sliding strategy, `offer` does (drops the oldest)
      counters.dropped++
      Effect.runSync(Queue.offer(queue, trace))
      settle(1)
    }

    const report = (what: string, error: ExportError) => Effect.logWarning(`effect-mlflow: ${what}: ${error.detail}`)

    const process = (batch: ReadonlyArray<CompletedTrace>) => {
      const traces: Array<Trace> = []
      const late: Array<CompletedTrace> = []
      for (const item of batch) {
        if (item.late) late.push(item)
        else traces.push(finalize(item, options.environment, undefined))
      }
      const exportTraces = traces.length === 0 ? Effect.void : sink.export(traces).pipe(
        Effect.matchEffect({
          onFailure: (error) =>
            Effect.zipRight(
              Effect.sync(() => counters.failed += traces.length),
              report(`failed to export ${traces.length} trace(s)`, error)
            ),
          onSuccess: () => Effect.sync(() => counters.exported += traces.length)
        })
      )
      const exportLate = Effect.forEach(late, (item) =>
        sink.exportLateSpans(`tr-${item.otelTraceId}`, item.spans).pipe(
          Effect.matchEffect({
            onFailure: (error) => report("failed to export a late span", error),
            onSuccess: () => Effect.sync(() => counters.lateSpans += item.spans.length)
          })
        ), { discard: true })
      return Effect.zipRight(exportTraces, exportLate)
    }

    const worker = Queue.takeBetween(queue, 1, options.batchSize).pipe(
      Effect.tap((chunk) => Effect.sync(() => counters.inFlight += chunk.length)),
      Effect.flatMap((chunk) => {
        const batch = Array.from(chunk)
        return process(batch).pipe(
          Effect.catchAllCause((cause) => Effect.logError("effect-mlflow: exporter defect", cause)),
          Effect.ensuring(Effect.sync(() => {
            counters.inFlight -= batch.length
            settle(batch.length)
          }))
        )
      }),
      Effect.forever,
      Effect.withTracerEnabled(false)
    )
    for (let i = 0; i < options.workers; i++) yield* Effect.forkScoped(worker)

    const flush = (millis: number) =>
      Effect.suspend(() => {
        if (pending === 0) return Effect.succeed(true)
        const waiter = Deferred.unsafeMake<void>(FiberId.none)
        waiters.push(waiter)
        return Deferred.await(waiter).pipe(
          Effect.timeoutTo({ duration: millis, onSuccess: () => true, onTimeout: () => false })
        )
      })
    // `Queue.size` is negative while workers wait in `take`
    const stats = Effect.map(Queue.size(queue), (size): Stats => ({ queued: Math.max(0, size), ...counters }))
    return { offer, flush, stats }
  })
