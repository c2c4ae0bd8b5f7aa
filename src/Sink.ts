/**
 * Where finished traces go: the `Sink` interface, its errors, and the exporter's statistics.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as Internal from "./internal/export/sink.js"
import type { SpanData, Trace } from "./Trace.js"

/**
 * A sink failed to store traces: `detail` says what happened, `retryable` whether the same export
 * may succeed later, `retryAfterMillis` how long the destination asked to wait (`Retry-After`), and
 * `reason` what kind of failure it was (such as `HTTP 403 PERMISSION_DENIED` or `connection
 * refused`): errors are reported once per reason.
 *
 * @since 0.1.0
 * @category errors
 */
export const ExportError: typeof Internal.ExportError = Internal.ExportError

/**
 * @since 0.1.0
 * @category errors
 */
export type ExportError = Internal.ExportError

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
 *
 * @since 0.2.0
 * @category models
 */
export type Held = "whole" | "abridged" | "part" | "none" | "unknown"

/**
 * What the exporter tells a sink about the batch it hands over.
 *
 * @since 0.1.0
 * @category models
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
 *
 * @since 0.1.0
 * @category models
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

/**
 * Why traces were dropped.
 *
 * - `queueFull`: the export queue was full (the oldest, or with the dropping strategy the newest,
 *   trace was dropped);
 * - `bufferFull`: too many traces were in progress at once (the oldest in-progress trace was dropped);
 * - `bufferTtl`: a trace stayed in progress longer than the buffer TTL;
 * - `lateSpan`: a span ended after its trace was stored, on a destination that cannot add spans;
 * - `shutdown`: the layer was released before the queue drained (within the shutdown timeout), and
 *   nothing of the trace was sent, or the destination says it holds none of it (a trace cut off
 *   with a request unanswered is asked about: see `Stats.unconfirmed`);
 * - `spoolFull`: spooled traces removed, oldest first, to keep the spool within its size;
 * - `spoolExpired`: spooled traces removed because they waited longer than the spool's age limit.
 *
 * @since 0.1.0
 * @category models
 */
export type DropReason =
  | "queueFull"
  | "bufferFull"
  | "bufferTtl"
  | "lateSpan"
  | "shutdown"
  | "spoolFull"
  | "spoolExpired"

/**
 * What the exporter did so far. Each trace handed to the exporter ends as `exported`, `failed`,
 * `dropped` (by reason) or `spooled`, or, when its export was cut off at shutdown, as `incomplete`
 * (held in part; `incomplete` also counts, among the `failed`, those held in part) or `unconfirmed`
 * (a request went unanswered and the destination could not be asked in time). A trace cut off with
 * a request unanswered is asked about on the way out, within the shutdown timeout, so that what the
 * destination holds of the traces cut off is counted in `exported` and `incomplete` whenever it answered.
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
  /**
   * Of the traces exported, those stored abridged (MLflow: built by the server from the spans alone,
   * without the source, git and size metadata and the schema version; see `MlflowConfig.TraceInfoDelivery`)
   */
  readonly abridged: number
  /** traces given up on (non-retryable error, or retry budget spent) */
  readonly failed: number
  /** export attempts retried */
  readonly retried: number
  readonly dropped: Readonly<Record<DropReason, number>>
  /**
   * Traces the destination holds in part (MLflow: its spans were stored, its trace info was not, so
   * it shows without its name, previews and metadata): of those given up on (counted in `failed`
   * too), and of those whose export was cut off at shutdown (counted here only, not as dropped)
   */
  readonly incomplete: number
  /**
   * Traces whose export was cut off at shutdown with a request sent but not answered, which the
   * destination could not be asked about in time: they may or may not be stored (not counted as
   * exported or dropped)
   */
  readonly unconfirmed: number
  readonly lateSpans: number
  /**
   * Spans a destination took the request of but said it rejected (an OTLP collector's partial
   * success); their traces are counted failed
   */
  readonly rejectedSpans: number
  /**
   * Traces written to the durable spool (`MlflowConfig.Options.spoolDirectory`) instead of being
   * dropped or given up on while the destination was away
   */
  readonly spooled: number
  /** Traces this process took from the spool and the destination now holds (sent, or found stored already) */
  readonly replayed: number
  /** traces force-ended by the trace timeout */
  readonly timedOut: number
  /** recorded spans started and ended so far (sampled traces only) */
  readonly spans: { readonly started: number; readonly ended: number }
  /**
   * With more than one destination (OTLP dual export), the counts of each, by name (`mlflow`,
   * `otlp`); the counts above are those of the first, MLflow
   */
  readonly destinations?: Readonly<Record<string, Omit<Stats, "destinations">>> | undefined
}
