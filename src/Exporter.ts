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
  retryable: Schema.Boolean
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
  /** Stores finished traces. Must not fail for reasons other than the destination. */
  readonly export: (traces: ReadonlyArray<Trace>) => Effect.Effect<void, ExportError>
  /** Stores spans that ended after their trace was exported. */
  readonly exportLateSpans: (traceId: string, spans: ReadonlyArray<SpanData>) => Effect.Effect<void, ExportError>
}

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
  readonly exported: number
  readonly failed: number
  readonly dropped: number
  readonly lateSpans: number
}
