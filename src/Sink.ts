/**
 * Where finished traces go: the `Sink` interface, its errors, and the exporter's statistics.
 *
 * @since 0.1.0
 */
import type * as Ledger from "./internal/export/ledger.js"
import * as Internal from "./internal/export/sink.js"

/**
 * A sink failed to store traces.
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
export interface Sink extends Internal.Sink {}

/**
 * What a destination holds of a trace whose export was cut off at shutdown (see `Sink.heldAfterCutOff`).
 *
 * @since 0.2.0
 * @category models
 */
export type Held = Internal.Held

/**
 * What the exporter tells a sink about the batch it hands over (whether traces wait behind it).
 *
 * @since 0.1.0
 * @category models
 */
export interface ExportContext extends Internal.ExportContext {}

/**
 * What a sink did with a batch, when it stored only part of it or stored some traces abridged.
 *
 * @since 0.1.0
 * @category models
 */
export interface ExportOutcome extends Internal.ExportOutcome {}

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
export type DropReason = Ledger.DropReason

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
export interface Stats extends Ledger.Stats {}
