import * as Deferred from "effect/Deferred"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import type { SpanData, TraceState } from "../../Trace.js"
import { mlflowTraceId } from "../common/ids.js"
import { ownEntries, textEntries } from "./text.js"

/** A span still open in a trace, as the assembler sees it (the tracer's spans are these). */
export interface OpenSpan {
  readonly spanId: string
  /** ends the span now with an error status (trace timeout) */
  readonly forceEnd: (nowNanos: bigint, message: string) => void
}

/** Why the assembler dropped a trace before hand-off. */
export type AssemblyDrop = "bufferFull" | "bufferTtl"

/**
 * Trace-level values a program sets while its trace runs (`Mlflow.updateCurrentTrace`).
 *
 * @internal
 */
export interface TraceUpdates {
  tags: Record<string, string>
  metadata: Record<string, string>
  clientRequestId: string | undefined
  requestPreview: string | undefined
  responsePreview: string | undefined
  state: TraceState | undefined
}

/** @internal Trace-level values before anything was set. */
export const emptyUpdates = (): TraceUpdates => ({
  tags: {},
  metadata: {},
  clientRequestId: undefined,
  requestPreview: undefined,
  responsePreview: undefined,
  state: undefined
})

/**
 * A trace being recorded in this process.
 *
 * @internal
 */
export class TraceRecord {
  readonly spans: Array<SpanData> = []
  readonly updates: TraceUpdates = emptyUpdates()
  readonly open = new Set<OpenSpan>()
  root: OpenSpan | undefined = undefined
  rootEndedAtNanos: bigint | undefined = undefined
  handedOff = false
  evicted = false
  readonly mlflowTraceId: string
  /** completed once the trace is exported or dropped (synchronous logging only) */
  done: Deferred.Deferred<void> | undefined = undefined
  /** the caller's W3C `tracestate`, for a trace continued from another service */
  traceState: string | undefined = undefined

  constructor(
    readonly assembler: TraceAssembler,
    readonly otelTraceId: string,
    readonly startedAtNanos: bigint,
    readonly sampled: boolean
  ) {
    this.mlflowTraceId = mlflowTraceId(otelTraceId)
  }

  /** Scoped context (`Mlflow.withTraceContext`): tags and metadata for the whole trace. */
  applyContext(context: unknown): void {
    const fields = new Map(ownEntries(context))
    for (const [key, value] of textEntries(fields.get("tags"))) this.updates.tags[key] = value
    for (const [key, value] of textEntries(fields.get("metadata"))) this.updates.metadata[key] = value
  }
}

/**
 * A trace (or, with `late`, spans that ended after their trace was handed off) ready for export.
 *
 * @internal
 */
export interface CompletedTrace {
  readonly otelTraceId: string
  readonly rootSpanId: string
  readonly spans: ReadonlyArray<SpanData>
  readonly updates: TraceUpdates
  readonly late: boolean
  readonly record: TraceRecord | undefined
}

/** @internal */
export interface AssemblerOptions {
  readonly handoff: (trace: CompletedTrace) => void
  readonly onDrop: (reason: AssemblyDrop, traces: number) => void
  readonly onTimeout: (record: TraceRecord) => void
  /** how long a trace whose root ended waits for spans still open under it */
  readonly graceNanos: bigint
  /** traces in progress at once; the oldest is dropped past it */
  readonly maxInProgress: number
  /** a trace still in progress after this long is dropped */
  readonly ttlNanos: bigint
  /** a trace still in progress after this long is force-ended with ERROR and exported */
  readonly timeoutNanos: bigint | undefined
  /** give each trace a `done` signal (synchronous logging) */
  readonly awaitable: boolean
}

/**
 * Collects finished spans per trace and hands a trace off once its root and every span started
 * under it have ended, or once its root ended more than the grace period ago. Spans that end after
 * hand-off are handed off on their own as `late`. Traces in progress are bounded in count and age.
 * Synchronous and allocation-light: it runs inside `span.end()` on the user's fiber.
 *
 * @internal
 */
export class TraceAssembler {
  private readonly inflight = new Map<string, TraceRecord>()
  /** recorded spans started and ended so far */
  spansStarted = 0
  spansEnded = 0

  constructor(private readonly options: AssemblerOptions) {}

  get size(): number {
    return this.inflight.size
  }

  find(otelTraceId: string): TraceRecord | undefined {
    return this.inflight.get(otelTraceId)
  }

  open(otelTraceId: string, startedAtNanos: bigint, sampled: boolean): TraceRecord {
    const record = new TraceRecord(this, otelTraceId, startedAtNanos, sampled)
    if (!sampled) return record
    if (this.options.awaitable) record.done = Deferred.unsafeMake(FiberId.none)
    if (this.inflight.size >= this.options.maxInProgress) {
      const oldest = this.inflight.values().next().value
      if (oldest !== undefined) this.evict(oldest, "bufferFull")
    }
    this.inflight.set(otelTraceId, record)
    return record
  }

  spanStarted(record: TraceRecord, span: OpenSpan): void {
    this.spansStarted++
    if (record.root === undefined) record.root = span
    record.open.add(span)
  }

  spanEnded(record: TraceRecord, span: OpenSpan, data: SpanData): void {
    this.spansEnded++
    record.open.delete(span)
    if (record.evicted) return
    if (record.handedOff) {
      this.options.handoff({
        otelTraceId: record.otelTraceId,
        rootSpanId: record.root!.spanId,
        spans: [data],
        updates: record.updates,
        late: true,
        record
      })
      return
    }
    if (span === record.root) {
      record.spans.unshift(data)
      record.rootEndedAtNanos = data.endTimeUnixNano
    } else {
      record.spans.push(data)
    }
    if (record.rootEndedAtNanos !== undefined && record.open.size === 0) this.complete(record)
  }

  /** Applies the grace period, the trace timeout and the buffer TTL at `nowNanos`. */
  sweep(nowNanos: bigint): void {
    const { graceNanos, timeoutNanos, ttlNanos } = this.options
    for (const record of this.inflight.values()) {
      if (record.rootEndedAtNanos !== undefined) {
        if (nowNanos - record.rootEndedAtNanos >= graceNanos) this.complete(record)
      } else if (timeoutNanos !== undefined && nowNanos - record.startedAtNanos >= timeoutNanos) {
        this.forceEnd(record, nowNanos, timeoutNanos)
      } else if (nowNanos - record.startedAtNanos >= ttlNanos) {
        this.evict(record, "bufferTtl")
      }
    }
  }

  /** Hands off every trace whose root has ended (flush, layer release). */
  completeEnded(): void {
    for (const record of this.inflight.values()) {
      if (record.rootEndedAtNanos !== undefined) this.complete(record)
    }
  }

  private forceEnd(record: TraceRecord, nowNanos: bigint, timeoutNanos: bigint): void {
    const seconds = Number(timeoutNanos / 1_000_000n) / 1000
    // children first, so the root's data is the last to be added (and put first)
    const open = [...record.open].sort((a, b) => (a === record.root ? 1 : b === record.root ? -1 : 0))
    for (const span of open) span.forceEnd(nowNanos, `Trace timed out after ${seconds} seconds`)
    this.options.onTimeout(record)
    if (!record.handedOff) this.complete(record)
  }

  private evict(record: TraceRecord, reason: AssemblyDrop): void {
    record.evicted = true
    this.inflight.delete(record.otelTraceId)
    this.options.onDrop(reason, 1)
    if (record.done !== undefined) Deferred.unsafeDone(record.done, Exit.void)
  }

  private complete(record: TraceRecord): void {
    record.handedOff = true
    this.inflight.delete(record.otelTraceId)
    this.options.handoff({
      otelTraceId: record.otelTraceId,
      rootSpanId: record.root!.spanId,
      spans: record.spans,
      updates: record.updates,
      late: false,
      record
    })
  }
}
