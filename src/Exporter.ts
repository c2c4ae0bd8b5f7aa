/**
 * Where finished traces go: the `Sink` interface, its errors, and the exporter's statistics.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { SpanData, Trace } from "./Trace.js"

/**
 * A sink failed to store traces.
 *
 * @since 0.1.0
 * @category errors
 */
export class ExportError extends Schema.TaggedError<ExportError>()("ExportError", {
  detail: Schema.String,
  /** transient: the same export may succeed later */
  retryable: Schema.Boolean,
  /** the destination asked to wait this long (`Retry-After`) */
  retryAfterMillis: Schema.optional(Schema.Number),
  /** what kind of failure (such as `HTTP 403 PERMISSION_DENIED` or `connection refused`): errors are reported once per reason */
  reason: Schema.optional(Schema.String)
}) {
  get message(): string {
    return this.detail
  }
}

/**
 * A destination for finished traces: the MLflow server, the local store, memory in tests, an OTLP
 * collector.
 *
 * @since 0.1.0
 * @category models
 */
export interface Sink {
  /**
   * Stores finished traces. Must not fail for reasons other than the destination. A failure is
   * about the whole batch (retried when `retryable`); traces the destination refuses one by one
   * while it stores the others are answered as `rejected`, and are counted as failed.
   */
  readonly export: (traces: ReadonlyArray<Trace>) => Effect.Effect<void | ExportOutcome, ExportError>
  /** Stores spans that ended after their trace was exported. */
  readonly exportLateSpans: (traceId: string, spans: ReadonlyArray<SpanData>) => Effect.Effect<void, ExportError>
  /**
   * How many of `traces`, given up on, the destination holds in part (a sink that stores a trace
   * in more than one request, and resumes where a failed attempt stopped).
   */
  readonly partiallyStored?: ((traces: ReadonlyArray<Trace>) => number) | undefined
  /**
   * Whether the destination answers again, asked while it is down: when it is back, every export
   * waiting out a backoff is retried at once.
   */
  readonly probe?: Effect.Effect<boolean> | undefined
}

/**
 * What a sink did with a batch, when it stored only part of it.
 *
 * @since 0.1.0
 * @category models
 */
export interface ExportOutcome {
  /** traces refused for themselves (not stored, not to be retried), with why */
  readonly rejected: ReadonlyArray<{ readonly traceId: string; readonly error: ExportError }>
}

/**
 * Why traces were dropped.
 *
 * - `queueFull`: the export queue was full (the oldest, or with the dropping strategy the newest,
 *   trace was dropped);
 * - `bufferFull`: too many traces were in progress at once (the oldest in-progress trace was dropped);
 * - `bufferTtl`: a trace stayed in progress longer than the buffer TTL;
 * - `lateSpan`: a span ended after its trace was stored, on a destination that cannot add spans;
 * - `shutdown`: the layer was released before the queue drained (within the shutdown timeout).
 *
 * @since 0.1.0
 * @category models
 */
export type DropReason = "queueFull" | "bufferFull" | "bufferTtl" | "lateSpan" | "shutdown"

/**
 * What the exporter did so far.
 *
 * @since 0.1.0
 * @category models
 */
export interface Stats {
  /** traces waiting in the queue */
  readonly queued: number
  /** traces being exported right now */
  readonly inFlight: number
  /** traces in progress (root not ended yet) */
  readonly inProgress: number
  readonly exported: number
  /** traces given up on (non-retryable error, or retry budget spent) */
  readonly failed: number
  /** export attempts retried */
  readonly retried: number
  readonly dropped: Readonly<Record<DropReason, number>>
  /**
   * Of the traces failed or dropped at shutdown, those the destination holds in part (MLflow: its
   * spans were stored, its trace info was not, so it shows without its name, previews and metadata)
   */
  readonly incomplete: number
  readonly lateSpans: number
  /** traces force-ended by the trace timeout */
  readonly timedOut: number
  /** recorded spans started and ended so far (sampled traces only) */
  readonly spans: { readonly started: number; readonly ended: number }
}
