import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleIntervals from "effect/ScheduleIntervals"
import * as Scheduler from "effect/Scheduler"
import type * as Scope from "effect/Scope"
import type { Trace } from "../../Trace.js"
import { mlflowTraceId } from "../common/ids.js"
import { lazyModule } from "../common/lazy.js"
import type { AttachmentOptions } from "../prepare/attachments.js"
import type { Budgets } from "../prepare/budget.js"
import * as Prepare from "../prepare/prepare.js"
import type { SpanProcessor } from "../prepare/processors.js"
import type { CompletedTrace } from "../tracing/assembler.js"
import * as Health from "./health.js"
import * as Ledger from "./ledger.js"
import * as Pending from "./pending.js"
import * as Reports from "./reports.js"
import * as Retry from "./retry.js"
import { type ExportContext, ExportError, type Sink } from "./sink.js"
import { type Spool, toEntry } from "./spool.js"
import * as TraceQueue from "./traceQueue.js"
import * as Watchdog from "./watchdog.js"
import * as Watermark from "./watermark.js"

export interface ExporterOptions {
  readonly capacity: number
  /** `sliding` drops the oldest queued trace when full, `dropping` the newest */
  readonly strategy: "sliding" | "dropping"
  readonly workers: number
  readonly batchSize: number
  readonly environment: Readonly<Record<string, string>>
  readonly retry: Retry.RetryOptions
  /** one export attempt (all the requests of one batch) */
  readonly attemptTimeout: Duration.Duration
  /** while the destination is down, how often it is asked whether it is back */
  readonly probeInterval: Duration.Duration
  /** drop warnings are logged at most this often */
  readonly warnInterval: Duration.Duration
  readonly processors: ReadonlyArray<SpanProcessor>
  readonly budgets: Budgets
  readonly attachments?: AttachmentOptions | undefined
  /** with more than one destination: its name, in metric labels and messages */
  readonly destination?: string | undefined
  /**
   * The exporter is done with a trace (stored, failed or dropped); by default whoever waits on it
   * is released. With several destinations, the caller releases it when all are done with it.
   */
  readonly settled?: ((item: CompletedTrace) => void) | undefined
  /**
   * The durable spool: traces that would be lost while the destination is away (queue full, retry
   * budget spent, queued or in flight at shutdown) are written there, and sent from there when the
   * destination answers again
   */
  readonly spool?: Spool | undefined
}

/** Releases whoever waits on a trace's export (synchronous logging, tags). */
export const releaseWaiters = (item: CompletedTrace): void => {
  if (!item.late && item.record?.done !== undefined) Deferred.unsafeDone(item.record.done, Exit.void)
}

export interface Exporter {
  /** Synchronous hand-off from `span.end()`: never blocks, never fails, runs no effect. */
  readonly offer: (trace: CompletedTrace) => void
  /** Counts traces dropped before they reach the queue. */
  readonly drop: (reason: Ledger.DropReason, traces: number) => void
  readonly timedOut: () => void
  /** Waits until every trace offered before the call is exported, failed or dropped (not those offered while it waits); `false` on timeout. */
  readonly flush: (millis: number) => Effect.Effect<boolean>
  readonly stats: (inProgress: number, spans: Ledger.Stats["spans"]) => Effect.Effect<Ledger.Stats>
  /** See `Pending.tag`: a trace being exported is waited for. */
  readonly tagPending: (traceId: string, key: string, value: string | undefined) => Effect.Effect<"applied" | "stored">
  /**
   * Closes the exporter at shutdown: traces still queued are counted as dropped (`shutdown`), and so
   * is anything offered later (a root span that ends after release) or interrupted in flight.
   */
  readonly close: Effect.Effect<void>
  /**
   * Shutdown begins: retries waiting out a backoff try at once, later ones wait briefly. By
   * `deadline` (clock millis) the destination has been asked about traces cut off in flight.
   */
  readonly drain: (deadline?: number) => void
}

/**
 * The export fibers run as macrotasks (after pending I/O and timers), yielding every few hundred
 * operations, so that preparing and encoding traces never holds the event loop for long: the
 * program's own work comes first.
 */
const defer: (task: () => void) => void = typeof setImmediate === "function"
  ? (task) => void setImmediate(task)
  : (task) => void setTimeout(task, 0)
const backgroundScheduler = Scheduler.make(
  (task) => defer(task),
  (fiber) => fiber.currentOpCount > 256 ? 0 : false
)

/** Lets an effect be interrupted within an uninterruptible region (`Effect.uninterruptibleMask`). */
type Restore = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>

/** The replay of the spool, loaded when there is one. */
const loadReplay = lazyModule(() => import("./replay.js"))

/** A trace that waited longer than this in the queue means the destination does not keep up. */
const BACKLOG_WAIT_MILLIS = 1000

/**
 * A bounded queue drained by a pool of worker fibers that export batches with retries. Workers
 * run with tracing disabled so the export's own effects never become spans.
 */
export const make = (sink: Sink, options: ExporterOptions): Effect.Effect<Exporter, never, Scope.Scope> =>
  Effect.gen(function*() {
    const queue = yield* TraceQueue.make<CompletedTrace>(options.capacity, options.strategy)
    const ledger = Ledger.make(options.destination)
    const watermark = Watermark.make<CompletedTrace>()
    const pending = Pending.make()
    const reports = Reports.make(options.warnInterval, options.destination)
    const settled = options.settled ?? releaseWaiters
    const prepare = Prepare.make(
      options,
      (what, detail) => reports.once(what, new ExportError({ detail, retryable: false }))
    )
    // a trace spooled when the queue is full or at shutdown is prepared synchronously
    if (options.spool !== undefined) yield* prepare.readyForSync
    const health = yield* Health.make(sink.probe, {
      interval: options.probeInterval,
      drainWait: Duration.millis(250),
      maxRetryAfter: options.retry.budget
    })
    const policy = Retry.policy(options.retry)
    const watchdog = yield* Watchdog.make(options.attemptTimeout)
    // added before the workers start, so it runs after they are interrupted and what they held is
    // counted: drops not warned about yet are told once more at release, with the totals
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        if (ledger.takeUnwarnedDrops().length === 0) return Effect.void
        const { dropped } = ledger.snapshot(0, 0, { started: 0, ended: 0 })
        const totals = Object.entries(dropped).filter(([, n]) => n > 0) as Array<[Ledger.DropReason, number]>
        return Reports.dropWarning(totals, true, options.destination)
      }).pipe(Effect.withTracerEnabled(false))
    )
    let draining = false
    // by when traces cut off at shutdown are asked about (set when the drain begins)
    let drainDeadline = Number.POSITIVE_INFINITY
    const queuedAt = new WeakMap<CompletedTrace, number>()
    /**
     * The exporter is behind when a full batch still waits after a worker took its own (the workers
     * do not keep up), a batch's oldest trace waited long in the queue, or shutdown drains more than
     * one batch's worth (queued and in flight; the last batch of a drain goes complete): then a sink
     * may choose the cheaper way to store a trace.
     */
    const behindNow = (): boolean =>
      (draining && queue.size() + ledger.inFlightNow() > options.batchSize) || queue.size() >= options.batchSize
    const behind = (batch: ReadonlyArray<CompletedTrace>): boolean =>
      behindNow() || Date.now() - (queuedAt.get(batch[0]) ?? Date.now()) > BACKLOG_WAIT_MILLIS

    const countIncomplete = (traces: ReadonlyArray<Trace>) => {
      if (sink.partiallyStored !== undefined) ledger.incomplete(sink.partiallyStored(traces))
    }

    /** The item is done with: whoever waits on it (sync logging, tags, flush) is released. */
    const release = (items: ReadonlyArray<CompletedTrace>) => {
      for (const item of items) {
        settled(item)
        pending.forget(item)
      }
      watermark.settle(items)
    }

    /** Items that will not be exported because the exporter shuts down: traces, and late spans. */
    const dropAtShutdown = (items: ReadonlyArray<CompletedTrace>) => {
      let traces = 0
      let lateSpans = 0
      for (const item of items) {
        if (item.late) lateSpans += item.spans.length
        else traces++
      }
      if (traces > 0) ledger.dropped("shutdown", traces)
      if (lateSpans > 0) ledger.dropped("lateSpan", lateSpans)
    }

    // traces pushed out of a full queue, on their way to the spool (bounded like the queue)
    const spoolQueue = options.spool === undefined
      ? undefined
      : yield* TraceQueue.make<CompletedTrace>(options.capacity, "dropping")

    /** Counts traces dropped for `reason`, unless the spool takes them: then they are written there. */
    const lose = (items: ReadonlyArray<CompletedTrace>, reason: "queueFull"): void => {
      if (spoolQueue === undefined) {
        ledger.dropped(reason, items.length)
        release(items)
        return
      }
      for (const item of items) {
        if (spoolQueue.offer(item)._tag !== "Queued") {
          ledger.dropped(reason, 1)
          release([item])
        }
      }
    }

    /**
     * Writes prepared traces to the spool; those it could not write (all of them without a spool,
     * those after a failure, reported), the caller counts as it would have without one.
     */
    const spoolTraces = (traces: ReadonlyArray<Trace>): Effect.Effect<ReadonlyArray<Trace>> => {
      const spool = options.spool
      if (spool === undefined || traces.length === 0) return Effect.succeed(traces)
      const notWritten = (error: ExportError, rest: ReadonlyArray<Trace>) =>
        Effect.as(reports.once("cannot write to the spool", error), rest)
      return spool.write(traces.map(toEntry)).pipe(
        Effect.flatMap((written) => {
          ledger.spooled(written.written)
          if (written.evicted > 0) ledger.dropped("spoolFull", written.evicted)
          if (written.expired > 0) ledger.dropped("spoolExpired", written.expired)
          return written.unwritten === undefined
            ? Effect.succeed([])
            : notWritten(written.unwritten.error, traces.slice(written.written))
        }),
        Effect.catchAll((error) => notWritten(error, traces)),
        Effect.uninterruptible
      )
    }

    /**
     * Items that would be lost for `reason`: the whole traces go to the spool when there is one, or
     * are counted as dropped; late spans are counted as dropped (the spool keeps whole traces).
     */
    const spoolOrDrop = (
      items: ReadonlyArray<CompletedTrace>,
      reason: "queueFull" | "shutdown",
      prepared?: ReadonlyMap<CompletedTrace, Trace>
    ): Effect.Effect<void> =>
      Effect.suspend(() => {
        const whole = items.filter((item) => !item.late)
        const late = items.filter((item) => item.late)
        if (late.length > 0) {
          if (reason === "shutdown") dropAtShutdown(late)
          else ledger.dropped(reason, late.length)
        }
        if (options.spool === undefined || whole.length === 0) {
          if (whole.length > 0) ledger.dropped(reason, whole.length)
          return Effect.void
        }
        return Effect.map(spoolTraces(whole.map((item) => prepared?.get(item) ?? prepare.trace(item))), (rest) => {
          if (rest.length > 0) ledger.dropped(reason, rest.length)
        })
      })

    const offer = (trace: CompletedTrace): void => {
      const offered = queue.offer(trace)
      switch (offered._tag) {
        case "Closed": {
          // no worker drains the queue any more
          dropAtShutdown([trace])
          release([trace])
          return
        }
        case "Refused": {
          ledger.queued()
          lose([trace], "queueFull")
          return
        }
        case "Evicted":
        case "Queued": {
          ledger.queued()
          queuedAt.set(trace, Date.now())
          watermark.offered(trace)
          pending.add(trace)
          if (offered._tag === "Evicted") lose([offered.oldest], "queueFull")
        }
      }
    }

    /**
     * Runs `effect`, retrying transient failures as the retry policy says; each backoff is waited
     * out through the shared health, which cuts it short when the destination is back from an outage.
     */
    const retrying = <A>(effect: Effect.Effect<A, ExportError>): Effect.Effect<A, ExportError> =>
      Effect.gen(function*() {
        let state = policy.initial
        for (;;) {
          const exit = yield* Effect.exit(effect)
          if (exit._tag === "Success") return exit.value
          const failure = Cause.failureOption(exit.cause)
          if (failure._tag === "None") return yield* exit
          const error = failure.value
          if (error.retryable) health.markDown(error)
          const now = yield* Clock.currentTimeMillis
          const [next, , decision] = yield* policy.step(now, error, state)
          if (ScheduleDecision.isDone(decision)) return yield* Effect.fail(error)
          state = next
          yield* health.wait(Math.max(0, ScheduleIntervals.start(decision.intervals) - now))
        }
      })

    const timedOutError = Watchdog.timedOutError(options.attemptTimeout)
    const retryWarning = `export failed, retrying for up to ${Duration.format(options.retry.budget)}`

    const attempt = <A>(effect: Effect.Effect<A, ExportError>, within: Watchdog.Runner) =>
      Effect.suspend(() => {
        let tries = 0
        return Effect.suspend(() => {
          if (tries++ > 0) ledger.retried()
          // no attempt before the destination's `Retry-After`, whichever batch it was told to
          return Effect.zipRight(health.ready, within(effect, () => timedOutError)).pipe(
            Effect.tapError((error) => error.retryable ? reports.throttled(retryWarning, error) : Effect.void)
          )
        }).pipe(retrying)
      })

    const exportTraces = (
      traces: ReadonlyArray<Trace>,
      context: ExportContext,
      within: Watchdog.Runner,
      restore: Restore
    ) =>
      restore(attempt(sink.export(traces, context), within)).pipe(
        Effect.matchEffect({
          onFailure: (error) =>
            Effect.flatMap(
              error.retryable ? spoolTraces(traces) : Effect.succeed(traces),
              (given) =>
                given.length === 0 ? Effect.void : Effect.zipRight(
                  Effect.sync(() => {
                    ledger.failed(given.length)
                    countIncomplete(given)
                  }),
                  error.retryable
                    ? reports.throttled("gave up exporting trace(s) after retrying", error)
                    : reports.once("cannot export traces", error)
                )
            ),
          onSuccess: (outcome) => {
            const rejected = outcome?.rejected ?? []
            ledger.exported(traces.length - rejected.length)
            if (outcome?.abridged !== undefined && outcome.abridged > 0) ledger.abridged(outcome.abridged)
            if (outcome?.rejectedSpans !== undefined && outcome.rejectedSpans > 0) {
              ledger.rejectedSpans(outcome.rejectedSpans)
            }
            if (rejected.length === 0) return Effect.void
            ledger.failed(rejected.length)
            const refused = new Set(rejected.map(({ traceId }) => traceId))
            countIncomplete(traces.filter((trace) => refused.has(trace.info.traceId)))
            return Effect.forEach(
              rejected,
              ({ error }) =>
                reports.once("the destination refused a trace (the others of its batch were stored)", error),
              { discard: true }
            )
          }
        })
      )

    const exportLate = (item: CompletedTrace, within: Watchdog.Runner, restore: Restore) =>
      restore(attempt(sink.exportLateSpans(mlflowTraceId(item.otelTraceId), item.spans), within)).pipe(
        Effect.matchEffect({
          onFailure: (error) =>
            Effect.zipRight(
              Effect.sync(() => ledger.dropped("lateSpan", item.spans.length)),
              error.retryable ? Effect.void : reports.once("cannot export a span that ended after its trace", error)
            ),
          onSuccess: () => Effect.sync(() => ledger.lateSpansExported(item.spans.length))
        })
      )

    /**
     * Exports a batch; `uncounted` holds the items not yet counted (exported, failed or dropped),
     * which an interruption at shutdown counts as dropped.
     */
    const process = (
      batch: ReadonlyArray<CompletedTrace>,
      uncounted: Set<CompletedTrace>,
      context: ExportContext,
      within: Watchdog.Runner,
      prepared: Map<CompletedTrace, Trace>
    ) => {
      const traces: Array<Trace> = []
      const late: Array<readonly [CompletedTrace, CompletedTrace]> = []
      // prepared in slices, yielding between them: a trace of thousands of spans is a long piece of work
      const prepareAll = Effect.forEach(batch, (item) =>
        item.late
          ? Effect.sync(() => void late.push([item, prepare.lateSpans(item)]))
          : Effect.map(prepare.traceYielding(item), (trace) => {
            prepared.set(item, trace)
            traces.push(trace)
          }), { discard: true })
      /**
       * Interruptible only while it waits on the destination: once answered, what became of the items
       * (stored, spooled, given up) is counted with them, so that shutdown does not count or spool them again.
       */
      const counted = (items: ReadonlyArray<CompletedTrace>, exported: (restore: Restore) => Effect.Effect<void>) =>
        Effect.uninterruptibleMask((restore) =>
          Effect.zipRight(exported(restore), Effect.sync(() => items.forEach((item) => uncounted.delete(item))))
        )
      const whole = batch.filter((item) => !item.late)
      const exportWhole = Effect.suspend(() =>
        traces.length === 0
          ? Effect.void
          : counted(whole, (restore) => exportTraces(traces, context, within, restore)).pipe(
            // spooled instead, they are completed from there
            Effect.onInterrupt(() =>
              Effect.sync(() =>
                options.spool === undefined && sink.heldAfterCutOff === undefined && countIncomplete(traces)
              )
            )
          )
      )
      const exportLateSpans = Effect.forEach(
        late,
        ([item, budgeted]) => counted([item], (restore) => exportLate(budgeted, within, restore)),
        { discard: true }
      )
      return Effect.zipRight(
        Effect.zipRight(prepareAll, prepare.reportFailures),
        Effect.zipRight(exportWhole, exportLateSpans)
      )
    }

    /**
     * A batch cut off at shutdown: the traces the destination holds whole are counted exported;
     * without a spool (which completes the others later), those it holds in part are incomplete and
     * those it could not tell about are unconfirmed. Each is taken out of `uncounted`; the rest are
     * not stored.
     */
    const countCutOff = (uncounted: Set<CompletedTrace>, prepared: ReadonlyMap<CompletedTrace, Trace>) =>
      Effect.clockWith((clock) => {
        const items = [...uncounted].filter((item) => prepared.has(item))
        if (sink.heldAfterCutOff === undefined || items.length === 0) return Effect.void
        const millis = Math.min(
          drainDeadline - clock.unsafeCurrentTimeMillis(),
          Duration.toMillis(options.attemptTimeout)
        )
        const spooling = options.spool !== undefined
        // asked from the exit of an interrupted worker, which is uninterruptible: in a fiber of its own that
        // is interruptible, so that the sink's deadline can cut off a question the destination does not answer
        const asked = Effect.disconnect(
          Effect.interruptible(sink.heldAfterCutOff(items.map((item) => prepared.get(item)!), millis))
        )
        return Effect.map(
          asked,
          (held) =>
            items.forEach((item, i) => {
              switch (held[i]) {
                case "whole":
                case "abridged": {
                  ledger.exported(1)
                  if (held[i] === "abridged") ledger.abridged(1)
                  break
                }
                case "part": {
                  if (spooling) return
                  ledger.incomplete(1)
                  break
                }
                case "unknown": {
                  if (spooling) return
                  ledger.unconfirmed(1)
                  break
                }
                case "none":
                  return
              }
              uncounted.delete(item)
            })
        )
      }).pipe(Effect.catchAllCause((cause) => Effect.logError("effect-mlflow: exporter defect", cause)))

    const worker = (within: Watchdog.Runner) =>
      queue.takeBetween(1, options.batchSize).pipe(
        Effect.flatMap((chunk) => {
          const batch = Array.from(chunk)
          ledger.inFlight(batch.length)
          for (const item of batch) pending.taken(item)
          const uncounted = new Set(batch)
          const prepared = new Map<CompletedTrace, Trace>()
          const context: ExportContext = { backlogged: behind(batch), behindNow }
          return process(batch, uncounted, context, within, prepared).pipe(
            Effect.catchAllCause((cause) => Effect.logError("effect-mlflow: exporter defect", cause)),
            Effect.onExit((exit) =>
              Effect.zipRight(
                // interrupted: the pool is shutting down before this batch was stored
                Exit.isInterrupted(exit)
                  ? Effect.zipRight(
                    countCutOff(uncounted, prepared),
                    Effect.suspend(() => spoolOrDrop([...uncounted], "shutdown", prepared))
                  )
                  : Effect.void,
                Effect.sync(() => {
                  ledger.inFlight(-batch.length)
                  release(batch)
                })
              )
            )
          )
        }),
        Effect.forever,
        Effect.withTracerEnabled(false),
        Effect.withScheduler(backgroundScheduler)
      )
    for (let i = 0; i < options.workers; i++) yield* Effect.forkScoped(worker(watchdog.runner()))

    if (spoolQueue !== undefined) {
      // traces pushed out of the full queue are written to the spool, off the hot path
      yield* spoolQueue.takeBetween(1, options.batchSize).pipe(
        Effect.flatMap((chunk) => {
          const items = Array.from(chunk)
          return Effect.ensuring(spoolOrDrop(items, "queueFull"), Effect.sync(() => release(items))).pipe(
            Effect.uninterruptible
          )
        }),
        Effect.forever,
        Effect.withTracerEnabled(false),
        Effect.withScheduler(backgroundScheduler),
        Effect.forkScoped
      )
    }
    if (options.spool !== undefined) {
      const Replay = yield* loadReplay
      yield* Replay.run({
        spool: options.spool,
        sink,
        ledger,
        health,
        reports,
        within: watchdog.runner(),
        batchSize: options.batchSize,
        interval: options.probeInterval,
        room: () => !draining && queue.size() < options.batchSize,
        attachments: options.attachments,
        timedOut: timedOutError
      }).pipe(Effect.withTracerEnabled(false), Effect.withScheduler(backgroundScheduler), Effect.forkScoped)
    }

    // throttled warning about drops: at most one line per interval
    yield* Effect.suspend(() => Reports.dropWarning(ledger.takeUnwarnedDrops(), false, options.destination)).pipe(
      Effect.repeat(Schedule.spaced(options.warnInterval)),
      Effect.withTracerEnabled(false),
      Effect.forkScoped
    )

    const close = Effect.gen(function*() {
      const items = yield* queue.close
      const victims = spoolQueue === undefined ? [] : yield* spoolQueue.close
      if (items.length > 0) yield* Effect.ensuring(spoolOrDrop(items, "shutdown"), Effect.sync(() => release(items)))
      if (victims.length > 0) {
        yield* Effect.ensuring(spoolOrDrop(victims, "queueFull"), Effect.sync(() => release(victims)))
      }
    })
    return {
      offer,
      close,
      drain: (deadline) => {
        draining = true
        if (deadline !== undefined) drainDeadline = deadline
        health.wakeAll()
      },
      tagPending: pending.tag,
      drop: ledger.dropped,
      timedOut: ledger.timedOut,
      flush: watermark.flush,
      stats: (inProgress, spans) => Effect.sync(() => ledger.snapshot(queue.size(), inProgress, spans))
    }
  })
