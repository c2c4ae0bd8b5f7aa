/**
 * The trace domain model: finished spans, trace info and the reserved MLflow keys.
 *
 * Values here are what the exporter hands to a sink; attribute values are already snapshotted JSON
 * trees (see `Mlflow` for the serialization rules).
 *
 * @since 0.1.0
 */
import type { Json } from "./internal/common/json.js"
import * as Keys from "./internal/common/keys.js"

/**
 * A JSON-compatible value, as stored in span attributes and events.
 *
 * @since 0.1.0
 * @category models
 */
export type JsonValue = Json

/**
 * Span status codes, as OTel and MLflow define them.
 *
 * @since 0.1.0
 * @category models
 */
export type StatusCode = "UNSET" | "OK" | "ERROR"

/**
 * @since 0.1.0
 * @category models
 */
export interface SpanStatus {
  readonly code: StatusCode
  readonly message: string
}

/**
 * A span event (logs, exceptions, stream chunks).
 *
 * @since 0.1.0
 * @category models
 */
export interface SpanEvent {
  readonly name: string
  readonly timeUnixNano: bigint
  readonly attributes: Readonly<Record<string, JsonValue>>
}

/**
 * A finished span.
 *
 * @since 0.1.0
 * @category models
 */
export interface SpanData {
  /** 32 lowercase hex characters (the OTel trace id) */
  readonly traceId: string
  /** 16 lowercase hex characters */
  readonly spanId: string
  readonly parentSpanId: string | null
  readonly name: string
  readonly kind: "internal" | "server" | "client" | "producer" | "consumer"
  readonly startTimeUnixNano: bigint
  readonly endTimeUnixNano: bigint
  readonly status: SpanStatus
  /** decoded attribute values; MLflow keys (`mlflow.*`) hold their natural JSON value */
  readonly attributes: Readonly<Record<string, JsonValue>>
  readonly events: ReadonlyArray<SpanEvent>
  /** links to spans it relates to but does not descend from (`Effect.withSpan({ links })`, `addLinks`) */
  readonly links?: ReadonlyArray<SpanLink> | undefined
}

/**
 * A link from a span to another span (of this trace or another): a batch and the requests it
 * serves, an agent handing work to another. MLflow shows it with the linked trace and span.
 *
 * @since 0.1.0
 * @category models
 */
export interface SpanLink {
  /** 32 lowercase hex characters (the OTel trace id of the linked span) */
  readonly traceId: string
  /** 16 lowercase hex characters */
  readonly spanId: string
  readonly attributes: Readonly<Record<string, JsonValue>>
}

/**
 * Trace states.
 *
 * @since 0.1.0
 * @category models
 */
export type TraceState = "OK" | "ERROR" | "IN_PROGRESS" | "STATE_UNSPECIFIED"

/**
 * MLflow's TraceInfo V3, as the exporter computes it when the root span ends.
 *
 * @since 0.1.0
 * @category models
 */
export interface TraceInfo {
  /** `tr-` + 32 hex */
  readonly traceId: string
  /** filled by the sink when it resolves the experiment */
  readonly experimentId: string | undefined
  readonly requestTimeMs: number
  readonly executionDurationMs: number
  readonly state: TraceState
  readonly requestPreview: string | undefined
  readonly responsePreview: string | undefined
  readonly clientRequestId: string | undefined
  readonly metadata: Readonly<Record<string, string>>
  readonly tags: Readonly<Record<string, string>>
}

/**
 * A finished trace: its info and all of its spans, root first.
 *
 * @since 0.1.0
 * @category models
 */
export interface Trace {
  readonly info: TraceInfo
  readonly spans: ReadonlyArray<SpanData>
  /**
   * Inline content (base64 images, audio) moved out of span inputs and outputs, on its way to a
   * destination that stores attachments (the MLflow server); its spans hold the references
   */
  readonly attachments?: ReadonlyArray<TraceAttachment> | undefined
}

/**
 * Binary content of a span's inputs or outputs stored beside its trace, as MLflow 3.18 stores
 * attachments: the span holds `ref` (`mlflow-attachment://<id>?content_type=...&trace_id=...&size=...`)
 * where the content was, and the MLflow UI shows the content from the trace's artifacts.
 *
 * @since 0.2.0
 * @category models
 */
export interface TraceAttachment {
  /** a UUID, the file name under the trace's `attachments/` artifacts */
  readonly id: string
  /** the reference that stands for the content in the span */
  readonly ref: string
  readonly contentType: string
  /** bytes */
  readonly size: number
  /** the text the reference replaced: a `data:` URI, or the base64 text of a message part */
  readonly source: string
  /** the content, decoded when asked */
  readonly content: () => Uint8Array
}

/**
 * Reserved span attribute keys.
 *
 * @since 0.1.0
 * @category constants
 */
export const SpanAttributeKey = Keys.SpanAttributeKey

/**
 * Span log levels (`mlflow.spanLogLevel`), which the MLflow UI uses to filter spans by verbosity.
 *
 * @since 0.1.0
 * @category constants
 */
export const SpanLogLevel = Keys.SpanLogLevel

/**
 * Reserved trace metadata keys (immutable once logged).
 *
 * @since 0.1.0
 * @category constants
 */
export const TraceMetadataKey = Keys.TraceMetadataKey

/**
 * Reserved trace tag keys (mutable).
 *
 * @since 0.1.0
 * @category constants
 */
export const TraceTagKey = Keys.TraceTagKey

/**
 * Token usage as MLflow records it on spans (`mlflow.chat.tokenUsage`) and traces.
 *
 * @since 0.1.0
 * @category models
 */
export interface TokenUsage {
  readonly input_tokens: number
  readonly output_tokens: number
  readonly total_tokens: number
  readonly cache_read_input_tokens?: number
  readonly cache_creation_input_tokens?: number
}
