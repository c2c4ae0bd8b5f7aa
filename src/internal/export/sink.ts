import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { SpanData, Trace } from "../../Trace.js"

/**
 * A sink failed to store traces.
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
 */
export interface Sink {
  /**
   * Stores finished traces. Must not fail for reasons other than the destination. A failure is
   * about the whole batch (retried when `retryable`); traces the destination refuses one by one
   * while it stores the others are answered as `rejected`, and are counted as failed.
   */
  readonly export: (
    traces: ReadonlyArray<Trace>,
    context?: ExportContext
  ) => Effect.Effect<void | ExportOutcome, ExportError>
  /** Stores spans that ended after their trace was exported. */
  readonly exportLateSpans: (traceId: string, spans: ReadonlyArray<SpanData>) => Effect.Effect<void, ExportError>
  /**
   * How many of `traces`, given up on, the destination holds in part (a sink that stores a trace
   * in more than one request, and resumes where a failed attempt stopped).
   */
  readonly partiallyStored?: ((traces: ReadonlyArray<Trace>) => number) | undefined
  /**
   * At shutdown, what the destination holds of `traces`, whose export was cut off: what the sink
   * knows from the answers it got, and for a trace with a request sent but not answered, what the
   * destination says when asked, within `millis` (`unknown` when it could not answer in time).
   * Without it, such a trace counts as not stored (and, if `partiallyStored` says so, incomplete).
   */
  readonly heldAfterCutOff?:
    | ((traces: ReadonlyArray<Trace>, millis: number) => Effect.Effect<ReadonlyArray<Held>>)
    | undefined
  /**
   * Whether the destination is back, asked while it is down: when it was found away (no answer, or
   * an answer that says "slow down") and then back, every export waiting out a backoff is retried
   * at once. A destination that answers while exports fail is not back from anything.
   */
  readonly probe?: Effect.Effect<boolean> | undefined
  /**
   * Whether the destination stores trace attachments: then inline content (base64 images and audio)
   * of span inputs and outputs reaches `export` moved into `Trace.attachments`, else it stays inline.
   */
  readonly storesAttachments?: boolean | undefined
  /**
   * Of these trace ids, those the destination already holds whole: a trace taken from the durable
   * spool is not sent again when it is there (sent by a process that stopped before it could remove
   * it from the spool). Without it, such a trace is sent again, which must then store it once.
   */
  readonly holds?: ((traceIds: ReadonlyArray<string>) => Effect.Effect<ReadonlySet<string>, ExportError>) | undefined
}

/**
 * What a destination holds of a trace whose export was cut off at shutdown: all of it (`whole`; or
 * `abridged`, whole in the form the sink chose when behind), its spans without its trace info
 * (`part`), nothing (`none`), or it could not be told (`unknown`: a request went unanswered and the
 * destination could not be asked in time).
 */
export type Held = "whole" | "abridged" | "part" | "none" | "unknown"

/**
 * What the exporter tells a sink about the batch it hands over.
 */
export interface ExportContext {
  /**
   * Traces are waiting behind this batch, or the exporter is draining at shutdown: a sink that can
   * store a trace more cheaply at the cost of detail the destination can do without should.
   */
  readonly backlogged: boolean
  /**
   * Whether the exporter is behind now, asked again while the sink works on the batch: traces
   * queued since the hand-over may make the cheaper way the better one for the rest of it.
   */
  readonly behindNow?: (() => boolean) | undefined
}

/**
 * What a sink did with a batch, when it stored only part of it or stored some traces abridged.
 */
export interface ExportOutcome {
  /** traces refused for themselves (not stored, not to be retried), with why */
  readonly rejected: ReadonlyArray<{ readonly traceId: string; readonly error: ExportError }>
  /** spans the destination said it rejected (an OTLP partial success), whatever traces they were of */
  readonly rejectedSpans?: number | undefined
  /**
   * Of the traces stored, how many without the detail the sink leaves out when cheaper (MLflow:
   * stored from their spans alone, without the source, git and size metadata)
   */
  readonly abridged?: number | undefined
}
