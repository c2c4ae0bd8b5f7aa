import type { SpanData, TraceState } from "../Trace.js"
import type { MlflowSpan } from "./tracer.js"

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

/**
 * A trace being recorded in this process.
 *
 * @internal
 */
export class TraceRecord {
  readonly spans: Array<SpanData> = []
  readonly updates: TraceUpdates = {
    tags: {},
    metadata: {},
    clientRequestId: undefined,
    requestPreview: undefined,
    responsePreview: undefined,
    state: undefined
  }
  openSpans = 0
  root: MlflowSpan | undefined = undefined
  rootEndedAtNanos: bigint | undefined = undefined
  handedOff = false
  readonly mlflowTraceId: string

  constructor(
    readonly assembler: TraceAssembler,
    readonly otelTraceId: string,
    readonly startedAtNanos: bigint,
    readonly sampled: boolean
  ) {
    this.mlflowTraceId = `tr-${otelTraceId}`
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
}

/**
 * Collects finished spans per trace and hands a trace off once its root and every span started
 * under it have ended, or once its root ended more than the grace period ago. Spans that end after
 * hand-off are handed off on their own as `late`. Synchronous and allocation-light: it runs inside
 * `span.end()` on the user's fiber.
 *
 * @internal
 */
export class TraceAssembler {
  private readonly inflight = new Map<string, TraceRecord>()

  constructor(
    private readonly handoff: (trace: CompletedTrace) => void,
    private readonly graceNanos: bigint
  ) {}

  get size(): number {
    return this.inflight.size
  }

  find(otelTraceId: string): TraceRecord | undefined {
    return this.inflight.get(otelTraceId)
  }

  open(otelTraceId: string, startedAtNanos: bigint, sampled: boolean): TraceRecord {
    const record = new TraceRecord(this, otelTraceId, startedAtNanos, sampled)
    if (sampled) this.inflight.set(otelTraceId, record)
    return record
  }

  spanStarted(record: TraceRecord, span: MlflowSpan): void {
    if (record.root === undefined) record.root = span
    record.openSpans++
  }

  spanEnded(record: TraceRecord, span: MlflowSpan, data: SpanData): void {
    record.openSpans--
    if (record.handedOff) {
      this.handoff({
        otelTraceId: record.otelTraceId,
        rootSpanId: record.root!.spanId,
        spans: [data],
        updates: record.updates,
        late: true
      })
      return
    }
    if (span === record.root) {
      record.spans.unshift(data)
      record.rootEndedAtNanos = data.endTimeUnixNano
    } else {
      record.spans.push(data)
    }
    if (record.rootEndedAtNanos !== undefined && record.openSpans === 0) this.complete(record)
  }

  /** Hands off traces whose root ended more than the grace period before `nowNanos`. */
  sweep(nowNanos: bigint): void {
    for (const record of this.inflight.values()) {
      if (record.rootEndedAtNanos !== undefined && nowNanos - record.rootEndedAtNanos >= this.graceNanos) {
        this.complete(record)
      }
    }
  }

  /** Hands off every trace whose root has ended (layer release). */
  completeEnded(): void {
    for (const record of this.inflight.values()) {
      if (record.rootEndedAtNanos !== undefined) this.complete(record)
    }
  }

  private complete(record: TraceRecord): void {
    record.handedOff = true
    this.inflight.delete(record.otelTraceId)
    this.handoff({
      otelTraceId: record.otelTraceId,
      rootSpanId: record.root!.spanId,
      spans: record.spans,
      updates: record.updates,
      late: false
    })
  }
}
