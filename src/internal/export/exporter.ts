import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleIntervals from "effect/ScheduleIntervals"
import type * as Scope from "effect/Scope"
import { type DropReason, ExportError, type Sink, type Stats } from "../../Exporter.js"
import * as Redaction from "../../Redaction.js"
import type { SpanData, Trace } from "../../Trace.js"
import type { CompletedTrace } from "../tracing/assembler.js"
import { applyBudgets, type Budgets, TRUNCATION_METADATA } from "./budget.js"
import { finalize } from "./finalize.js"
import * as Health from "./health.js"
import { mlflowTraceId } from "../tracing/ids.js"
import { dumps } from "../common/json.js"
import * as Retry from "./retry.js"

/** reasons remembered for de-duplicated and throttled reports */
const MAX_REMEMBERED = 256

/** @internal */
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
  readonly processors: ReadonlyArray<Redaction.SpanProcessor>
  readonly budgets: Budgets
}

/** @internal */
export interface Exporter {
  /** Synchronous hand-off from `span.end()`: never blocks, never fails. */
  readonly offer: (trace: CompletedTrace) => void
  /** Counts traces dropped before they reach the queue. */
  readonly drop: (reason: DropReason, traces: number) => void
  readonly timedOut: () => void
  /** Waits until every trace offered before the call is exported, failed or dropped (not those offered while it waits); `false` on timeout. */
  readonly flush: (millis: number) => Effect.Effect<boolean>
  readonly stats: (inProgress: number, spans: Stats["spans"]) => Effect.Effect<Stats>
  /**
   * Sets (or, with `undefined`, removes) a tag of a trace waiting in the queue. Answers `"applied"`
   * when the trace will be exported with it, `"stored"` when the trace is (now) stored and the tag
   * must be set on the server: a trace being exported is waited for.
   */
  readonly tagPending: (traceId: string, key: string, value: string | undefined) => Effect.Effect<"applied" | "stored">
  /**
   * Closes the exporter at shutdown: traces still queued are counted as dropped (`shutdown`), and so
   * is anything offered later (a root span that ends after release) or interrupted in flight.
   */
  readonly close: Effect.Effect<void>
  /** Shutdown begins: retries waiting out a backoff try at once, later ones wait briefly. */
  readonly drain: () => void
}

/**
 * @internal The exporter's metrics (effect `Metric`s, so any metrics exporter can read them).
 */
export const metrics = {
  queued: Metric.counter("effect_mlflow_traces_queued", { description: "traces handed to the export queue" }),
  exported: Metric.counter("effect_mlflow_traces_exported", { description: "traces stored by the sink" }),
  retried: Metric.counter("effect_mlflow_export_retries", { description: "export attempts retried" }),
  failed: Metric.counter("effect_mlflow_traces_failed", { description: "traces given up on" }),
  dropped: Metric.counter("effect_mlflow_traces_dropped", { description: "traces dropped, by reason" })
}

const reasonLabels: Record<DropReason, ReadonlyArray<MetricLabel.MetricLabel>> = {
  queueFull: [MetricLabel.make("reason", "queueFull")],
  bufferFull: [MetricLabel.make("reason", "bufferFull")],
  bufferTtl: [MetricLabel.make("reason", "bufferTtl")],
  lateSpan: [MetricLabel.make("reason", "lateSpan")],
  shutdown: [MetricLabel.make("reason", "shutdown")]
}

/**
 * A bounded queue drained by a pool of worker fibers that export batches with retries. Workers
 * run with tracing disabled so the export's own effects never become spans.
 *
 * @internal
 */
export const make = (sink: Sink, options: ExporterOptions): Effect.Effect<Exporter, never, Scope.Scope> =>
  Effect.gen(function*() {
    const queue = options.strategy === "sliding"
      ? yield* Queue.sliding<CompletedTrace>(options.capacity)
      : yield* Queue.dropping<CompletedTrace>(options.capacity)
    const counters = { inFlight: 0, exported: 0, failed: 0, retried: 0, lateSpans: 0, timedOut: 0, incomplete: 0 }
    const countIncomplete = (traces: ReadonlyArray<Trace>) => {
      if (sink.partiallyStored !== undefined) counters.incomplete += sink.partiallyStored(traces)
    }
    const zero = (): Record<DropReason, number> => ({
      queueFull: 0,
      bufferFull: 0,
      bufferTtl: 0,
      lateSpan: 0,
      shutdown: 0
    })
    const dropped = zero()
    const unwarned = zero()
    // errors already reported, by reason: bounded, the oldest forgotten first
    const reported = new Set<string>()
    // when each reason of a transient failure was last warned about
    const warned = new Map<string, number>()

    // traces offered and not yet exported, failed or dropped; flush waits for zero
    // Each offered trace gets a sequence number; `low` is the lowest one not yet settled (exported,
    // failed or dropped). A flush waits for the traces offered before it: until `low` passes them.
    let offered = 0
    let low = 1
    const unsettled = new Map<CompletedTrace, number>()
    const unsettledSeqs = new Set<number>()
    let waiters: Array<{ readonly upTo: number; readonly done: Deferred.Deferred<void> }> = []
    const settle = (items: ReadonlyArray<CompletedTrace>) => {
      for (const item of items) {
        const seq = unsettled.get(item)
        if (seq === undefined) continue
        unsettled.delete(item)
        unsettledSeqs.delete(seq)
      }
      while (low <= offered && !unsettledSeqs.has(low)) low++
      if (waiters.length > 0 && waiters[0].upTo < low) {
        const ready = waiters.filter((waiter) => waiter.upTo < low)
        waiters = waiters.filter((waiter) => waiter.upTo >= low)
        for (const waiter of ready) Deferred.unsafeDone(waiter.done, Exit.void)
      }
    }
    // traces handed off and not yet exported, by MLflow trace id (for tags set after the fact)
    const pendingTraces = new Map<
      string,
      { readonly item: CompletedTrace; inFlight: boolean; waiters: Array<Deferred.Deferred<void>> }
    >()
    const forget = (item: CompletedTrace) => {
      if (item.late) return
      const id = mlflowTraceId(item.otelTraceId)
      const entry = pendingTraces.get(id)
      if (entry?.item !== item) return
      pendingTraces.delete(id)
      for (const waiter of entry.waiters) Deferred.unsafeDone(waiter, Exit.void)
    }
    const signalDone = (item: CompletedTrace) => {
      if (!item.late && item.record?.done !== undefined) Deferred.unsafeDone(item.record.done, Exit.void)
    }

    const drop = (reason: DropReason, traces: number) => {
      dropped[reason] += traces
      unwarned[reason] += traces
      metrics.dropped.unsafeUpdate(traces, reasonLabels[reason])
    }

    /** Items that will not be exported because the exporter shuts down: traces, and late spans. */
    const dropAtShutdown = (items: ReadonlyArray<CompletedTrace>) => {
      let traces = 0
      let lateSpans = 0
      for (const item of items) {
        if (item.late) lateSpans += item.spans.length
        else traces++
      }
      if (traces > 0) drop("shutdown", traces)
      if (lateSpans > 0) drop("lateSpan", lateSpans)
    }

    let closed = false
    const offer = (trace: CompletedTrace): void => {
      if (closed) {
        // no worker drains the queue any more
        dropAtShutdown([trace])
        signalDone(trace)
        return
      }
      const seq = ++offered
      unsettled.set(trace, seq)
      unsettledSeqs.add(seq)
      metrics.queued.unsafeUpdate(1, [])
      if (!trace.late) {
        pendingTraces.set(mlflowTraceId(trace.otelTraceId), { item: trace, inFlight: false, waiters: [] })
      }
      if (Queue.unsafeOffer(queue, trace)) return
      drop("queueFull", 1)
      if (options.strategy === "sliding") {
        // `unsafeOffer` does not apply the sliding strategy; `offer` does, dropping the oldest
        const oldest = Effect.runSync(Queue.poll(queue))
        Effect.runSync(Queue.offer(queue, trace))
        if (oldest._tag === "Some") {
          signalDone(oldest.value)
          forget(oldest.value)
          settle([oldest.value])
        }
      } else {
        signalDone(trace)
        forget(trace)
        settle([trace])
      }
    }

    const tagPending = (traceId: string, key: string, value: string | undefined) =>
      Effect.suspend((): Effect.Effect<"applied" | "stored"> => {
        const entry = pendingTraces.get(traceId)
        if (entry === undefined) return Effect.succeed("stored")
        if (!entry.inFlight) {
          // finalized only when a worker takes it: the tag goes out with the trace
          if (value === undefined) delete entry.item.updates.tags[key]
          else entry.item.updates.tags[key] = value
          return Effect.succeed("applied")
        }
        const waiter = Deferred.unsafeMake<void>(FiberId.none)
        entry.waiters.push(waiter)
        return Effect.as(Deferred.await(waiter), "stored")
      })

    const reasonOf = (error: ExportError) => error.reason ?? error.detail.slice(0, 200)

    /** A non-retryable error is logged the first time its reason is seen; later ones are only counted. */
    const reportOnce = (what: string, error: ExportError) => {
      const key = `${what}|${reasonOf(error)}`
      if (reported.has(key)) return Effect.void
      if (reported.size >= MAX_REMEMBERED) reported.delete(reported.values().next().value!)
      reported.add(key)
      return Effect.logError(`effect-mlflow: ${what}: ${error.detail}`)
    }

    /** Transient failures are warned about at once, then at most once per reason per `warnInterval`. */
    const warnThrottled = (message: string, error: ExportError) =>
      Effect.clockWith((clock) => {
        const now = clock.unsafeCurrentTimeMillis()
        const key = `${message}|${reasonOf(error)}`
        const last = warned.get(key)
        if (last !== undefined && now - last < Duration.toMillis(options.warnInterval)) return Effect.void
        if (last === undefined && warned.size >= MAX_REMEMBERED) warned.delete(warned.keys().next().value!)
        warned.set(key, now)
        return Effect.logWarning(`effect-mlflow: ${message}: ${error.detail}`)
      })

    const health = yield* Health.make(sink.probe, {
      interval: options.probeInterval,
      drainWait: Duration.millis(250)
    })
    const policy = Retry.policy(options.retry)

    /**
     * Runs `effect`, retrying transient failures as the retry policy says; each backoff is waited
     * out through the shared health, which cuts it short when the destination is back.
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
          const now = yield* Clock.currentTimeMillis
          const [next, , decision] = yield* policy.step(now, error, state)
          if (ScheduleDecision.isDone(decision)) return yield* Effect.fail(error)
          state = next
          health.markDown()
          yield* health.wait(Math.max(0, ScheduleIntervals.start(decision.intervals) - now))
        }
      })

    const attempt = <A>(effect: Effect.Effect<A, ExportError>) =>
      Effect.suspend(() => {
        let tries = 0
        return Effect.suspend(() => {
          if (tries++ > 0) {
            counters.retried++
            metrics.retried.unsafeUpdate(1, [])
          }
          return Effect.timeoutFail(effect, {
            duration: options.attemptTimeout,
            onTimeout: () =>
              new ExportError({
                detail: `export timed out after ${Duration.format(options.attemptTimeout)}`,
                retryable: true,
                reason: "export timed out"
              })
          }).pipe(
            Effect.tapError((error) =>
              error.retryable
                ? warnThrottled(
                  `export failed, retrying for up to ${Duration.format(options.retry.budget)}`,
                  error
                )
                : Effect.void
            )
          )
        }).pipe(retrying)
      })

    const exportTraces = (traces: ReadonlyArray<Trace>) =>
      attempt(sink.export(traces)).pipe(
        Effect.matchEffect({
          onFailure: (error) =>
            Effect.zipRight(
              Effect.sync(() => {
                counters.failed += traces.length
                metrics.failed.unsafeUpdate(traces.length, [])
                countIncomplete(traces)
              }),
              error.retryable
                ? warnThrottled("gave up exporting trace(s) after retrying", error)
                : reportOnce(`cannot export traces`, error)
            ),
          onSuccess: (outcome) => {
            const rejected = outcome?.rejected ?? []
            const stored = traces.length - rejected.length
            counters.exported += stored
            metrics.exported.unsafeUpdate(stored, [])
            if (rejected.length === 0) return Effect.void
            counters.failed += rejected.length
            metrics.failed.unsafeUpdate(rejected.length, [])
            return Effect.forEach(
              rejected,
              ({ error }) => reportOnce("the destination refused a trace (the others of its batch were stored)", error),
              { discard: true }
            )
          }
        })
      )

    const exportLate = (item: CompletedTrace) =>
      attempt(sink.exportLateSpans(mlflowTraceId(item.otelTraceId), item.spans)).pipe(
        Effect.matchEffect({
          onFailure: (error) =>
            Effect.zipRight(
              Effect.sync(() => drop("lateSpan", item.spans.length)),
              error.retryable ? Effect.void : reportOnce("cannot export a span that ended after its trace", error)
            ),
          onSuccess: () => Effect.sync(() => counters.lateSpans += item.spans.length)
        })
      )

    let processorFailures: Array<unknown> = []
    const processSpans = (spans: ReadonlyArray<SpanData>): ReadonlyArray<SpanData> =>
      spans.map((span) => {
        const result = Redaction.process(span, options.processors)
        if (result.error !== undefined) processorFailures.push(result.error)
        return result.span
      })

    /** Span processors, then payload budgets, then MLflow's finalization. */
    const prepare = (item: CompletedTrace): Trace => {
      const budgeted = applyBudgets(processSpans(item.spans), item.rootSpanId, options.budgets)
      const trace = finalize({ ...item, spans: budgeted.spans }, options.environment, undefined)
      if (budgeted.truncation === undefined) return trace
      const { attributes, bytesRemoved, spansDropped } = budgeted.truncation
      const metadata = {
        ...trace.info.metadata,
        [TRUNCATION_METADATA]: dumps({
          attributes_truncated: attributes,
          bytes_removed: bytesRemoved,
          spans_dropped: spansDropped
        })
      }
      return { ...trace, info: { ...trace.info, metadata } }
    }

    const reportProcessorFailures = Effect.suspend(() => {
      if (processorFailures.length === 0) return Effect.void
      const [first] = processorFailures
      const count = processorFailures.length
      processorFailures = []
      const detail = first instanceof Error ? `${first.name}: ${first.message}` : String(first)
      return reportOnce(
        "a span processor failed; the content of the span(s) it failed on was masked",
        new ExportError({ detail: `${detail} (${count} span(s))`, retryable: false })
      )
    })

    /**
     * Exports a batch; `uncounted` holds the items not yet counted (exported, failed or dropped),
     * which an interruption at shutdown counts as dropped.
     */
    const process = (batch: ReadonlyArray<CompletedTrace>, uncounted: Set<CompletedTrace>) => {
      const traces: Array<Trace> = []
      const late: Array<readonly [CompletedTrace, CompletedTrace]> = []
      for (const item of batch) {
        if (item.late) {
          late.push([item, { ...item, spans: applyBudgets(processSpans(item.spans), "", options.budgets).spans }])
        } else traces.push(prepare(item))
      }
      const counted = (items: ReadonlyArray<CompletedTrace>) =>
        Effect.sync(() => items.forEach((item) => uncounted.delete(item)))
      const whole = batch.filter((item) => !item.late)
      return Effect.zipRight(
        reportProcessorFailures,
        Effect.zipRight(
          traces.length === 0 ? Effect.void : exportTraces(traces).pipe(
            Effect.zipRight(counted(whole)),
            Effect.onInterrupt(() => Effect.sync(() => countIncomplete(traces)))
          ),
          Effect.forEach(late, ([item, budgeted]) => Effect.zipRight(exportLate(budgeted), counted([item])), {
            discard: true
          })
        )
      )
    }

    const worker = Queue.takeBetween(queue, 1, options.batchSize).pipe(
      Effect.flatMap((chunk) => {
        const batch = Array.from(chunk)
        counters.inFlight += batch.length
        for (const item of batch) {
          const entry = item.late ? undefined : pendingTraces.get(mlflowTraceId(item.otelTraceId))
          if (entry?.item === item) entry.inFlight = true
        }
        const uncounted = new Set(batch)
        return process(batch, uncounted).pipe(
          Effect.catchAllCause((cause) => Effect.logError("effect-mlflow: exporter defect", cause)),
          Effect.onExit((exit) =>
            Effect.sync(() => {
              // interrupted: the pool is shutting down before this batch was stored
              if (Exit.isInterrupted(exit)) dropAtShutdown([...uncounted])
              counters.inFlight -= batch.length
              for (const item of batch) {
                signalDone(item)
                forget(item)
              }
              settle(batch)
            })
          )
        )
      }),
      Effect.forever,
      Effect.withTracerEnabled(false)
    )
    for (let i = 0; i < options.workers; i++) yield* Effect.forkScoped(worker)

    // throttled warning about drops: at most one line per reason per interval
    yield* Effect.suspend(() => {
      const lines = (Object.keys(unwarned) as Array<DropReason>).filter((reason) => unwarned[reason] > 0).map(
        (reason) => {
          const n = unwarned[reason]
          unwarned[reason] = 0
          return `${n} (${reason})`
        }
      )
      return lines.length === 0
        ? Effect.void
        : Effect.logWarning(
          `effect-mlflow: dropped traces: ${lines.join(", ")}; raise the queue or buffer size, or the workers`
        )
    }).pipe(
      Effect.repeat(Schedule.spaced(options.warnInterval)),
      Effect.withTracerEnabled(false),
      Effect.forkScoped
    )

    const flush = (millis: number) =>
      Effect.suspend(() => {
        // the traces offered so far, not those offered while waiting
        if (low > offered) return Effect.succeed(true)
        const waiter = Deferred.unsafeMake<void>(FiberId.none)
        waiters.push({ upTo: offered, done: waiter })
        // interruptible: layer release runs this in an uninterruptible finalizer, where the
        // timeout could not otherwise interrupt the wait and the deadline would be ignored
        return Effect.interruptible(Deferred.await(waiter)).pipe(
          Effect.timeoutTo({ duration: millis, onSuccess: () => true, onTimeout: () => false })
        )
      })
    const stats = (inProgress: number, spans: Stats["spans"]) =>
      // `Queue.size` is negative while workers wait in `take`
      Effect.map(Queue.size(queue), (size): Stats => ({
        queued: Math.max(0, size),
        inProgress,
        spans,
        ...counters,
        dropped: { ...dropped }
      }))
    const close = Effect.suspend(() => {
      closed = true
      return Effect.map(Queue.takeAll(queue), (left) => {
        const items = Array.from(left)
        if (items.length === 0) return
        dropAtShutdown(items)
        for (const item of items) {
          signalDone(item)
          forget(item)
        }
        settle(items)
      })
    })
    return {
      offer,
      close,
      drain: health.wakeAll,
      tagPending,
      drop,
      timedOut: () => counters.timedOut++,
      flush,
      stats
    }
  })
