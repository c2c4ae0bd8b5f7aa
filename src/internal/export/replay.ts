import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { identity } from "effect/Function"
import type { Trace } from "../../Trace.js"
import { type AttachmentOptions, extractAttachments } from "../prepare/attachments.js"
import type { Health } from "./health.js"
import type { Ledger } from "./ledger.js"
import type { Reports } from "./reports.js"
import { ExportError, type Sink } from "./sink.js"
import type { Claimed, Spool } from "./spool.js"
import type { Runner } from "./watchdog.js"

// the exporter, which loads this module only with a spool, needs it in any case: it lives with the watchdog
export { timedOutError } from "./watchdog.js"

/**
 * Sends what the durable spool holds for this destination, in the background, while the
 * destination answers and the export queue has room: the live traffic comes first. A claimed trace
 * the destination already holds whole is removed without being sent again; one it refuses for itself
 * is set aside; one that fails for the destination's sake goes back to the spool.
 *
 * @internal
 */
export interface ReplayOptions {
  readonly spool: Spool
  readonly sink: Sink
  readonly ledger: Ledger
  readonly health: Health
  readonly reports: Reports
  readonly within: Runner
  readonly batchSize: number
  /** how often the spool is looked at when there was nothing to send, or no room */
  readonly interval: Duration.Duration
  /** whether live traffic leaves room for the spool now */
  readonly room: () => boolean
  readonly attachments?: AttachmentOptions | undefined
  readonly timedOut: ExportError
}

/** The trace as the sink takes it: inline content moved into attachments again, under the ids it had. */
const withAttachments = (claimed: Claimed, options: AttachmentOptions | undefined): Trace => {
  if (options === undefined) return claimed.trace
  const ids = claimed.attachmentIds
  let next = 0
  const extracted = extractAttachments(claimed.trace.spans, claimed.trace.info.traceId, {
    maxSize: options.maxSize,
    newId: () => ids[next++] ?? options.newId()
  })
  return extracted.attachments.length === 0
    ? claimed.trace
    : { ...claimed.trace, spans: extracted.spans, attachments: extracted.attachments }
}

/** How many files of a batch are removed, set aside or put back at once (each is one step of the file system). */
const SETTLE_CONCURRENCY = 16

/** What became of claimed traces that were delivered. */
export interface Delivered {
  /** sent, and stored by the destination */
  readonly sent: number
  /** found stored whole already: not sent again */
  readonly already: number
  /** refused by the destination for themselves (set aside) */
  readonly refused: ReadonlyArray<{ readonly traceId: string; readonly error: ExportError }>
}

/**
 * Sends claimed traces: those the destination holds whole already are removed without being sent,
 * the others are sent in one export (its answer is final: no retry here), then removed, or set aside
 * when refused. On failure, or interruption, what was not settled waits in the spool again.
 */
export const deliver = (
  claimed: ReadonlyArray<Claimed>,
  options: Pick<ReplayOptions, "sink" | "within" | "timedOut" | "attachments">,
  restore: <A, E>(effect: Effect.Effect<A, E>) => Effect.Effect<A, E> = identity
): Effect.Effect<Delivered, ExportError> => {
  const settled = new Set<Claimed>()
  const settle = (items: ReadonlyArray<Claimed>, how: "done" | "reject") =>
    Effect.forEach(items, (item) => Effect.zipRight(item[how], Effect.sync(() => settled.add(item))), {
      concurrency: SETTLE_CONCURRENCY,
      discard: true
    })
  const { sink } = options
  const body = Effect.gen(function*() {
    const held = sink.holds === undefined || claimed.length === 0
      ? new Set<string>()
      : yield* sink.holds(claimed.map((item) => item.trace.info.traceId))
    const already = claimed.filter((item) => held.has(item.trace.info.traceId))
    yield* settle(already, "done")
    const rest = claimed.filter((item) => !held.has(item.trace.info.traceId))
    if (rest.length === 0) return { sent: 0, already: already.length, refused: [] }
    const outcome = yield* options.within(
      sink.export(rest.map((item) => withAttachments(item, options.attachments)), { backlogged: false }),
      () => options.timedOut
    )
    const rejected = new Map((outcome?.rejected ?? []).map(({ error, traceId }) => [traceId, error]))
    const refused = rest.filter((item) => rejected.has(item.trace.info.traceId))
    yield* settle(rest.filter((item) => !rejected.has(item.trace.info.traceId)), "done")
    yield* settle(refused, "reject")
    return {
      sent: rest.length - refused.length,
      already: already.length,
      refused: refused.map((item) => ({
        traceId: item.trace.info.traceId,
        error: rejected.get(item.trace.info.traceId)!
      }))
    }
  })
  return restore(body).pipe(
    Effect.ensuring(
      Effect.suspend(() =>
        Effect.forEach(claimed.filter((item) => !settled.has(item)), (item) => item.release, {
          concurrency: SETTLE_CONCURRENCY,
          discard: true
        })
      )
    )
  )
}

/** One batch from the spool: how many traces were claimed. */
const replayBatch = (options: ReplayOptions): Effect.Effect<number> => {
  const { health, ledger, reports, spool } = options
  const counted = ({ already, refused, sent }: Delivered) => {
    ledger.replayed(sent + already)
    ledger.failed(refused.length)
    return Effect.forEach(
      refused,
      ({ error }) =>
        reports.once("the destination refused a spooled trace (set aside in the spool's rejected/ folder)", error),
      { discard: true }
    )
  }
  const failed = (error: ExportError) =>
    Effect.zipRight(
      Effect.sync(() => {
        if (error.retryable) health.markDown(error)
      }),
      reports.throttled("sending spooled traces failed; they stay in the spool", error)
    )
  // claimed files are this process's until settled or released: an interruption (the layer's
  // release) between the claim and the delivery must not leave them held for the whole lease
  return Effect.uninterruptibleMask((restore) =>
    spool.claim(options.batchSize).pipe(
      Effect.catchAll((error) => Effect.as(reports.once("cannot read the spool", error), [])),
      Effect.flatMap((claimed) =>
        claimed.length === 0 ? Effect.succeed(0) : deliver(claimed, options, restore).pipe(
          Effect.matchEffect({ onFailure: failed, onSuccess: counted }),
          Effect.as(claimed.length)
        )
      )
    )
  )
}

/** Runs for the life of the exporter. */
export const run = (options: ReplayOptions): Effect.Effect<never> =>
  Effect.suspend(() => options.health.isDown() || !options.room() ? Effect.succeed(0) : replayBatch(options)).pipe(
    Effect.flatMap((claimed) => claimed >= options.batchSize ? Effect.yieldNow() : Effect.sleep(options.interval)),
    Effect.forever
  )
