import type * as Effect from "effect/Effect"
import type { Trace } from "../../Trace.js"
import { inlineAttachments } from "../format/inlineContent.js"
import type { ExportError } from "./sink.js"

/**
 * The durable spool as the exporter sees it: traces it would otherwise lose because the destination
 * is away (queue full, retry budget spent, still queued or in flight at shutdown) are written there,
 * and sent later, by this process or any other using the same spool, once the destination answers.
 *
 * @internal
 */
export interface Spool {
  readonly directory: string
  /**
   * writes the entries for this destination, in order, then keeps the spool within its bounds; fails
   * when none could be written, and says how many of the last could not be when only the first were
   */
  readonly write: (entries: ReadonlyArray<SpoolEntry>) => Effect.Effect<SpoolWrite, ExportError>
  /** takes up to `max` waiting traces (oldest first) for this process alone */
  readonly claim: (max: number) => Effect.Effect<ReadonlyArray<Claimed>, ExportError>
}

/** A trace as the spool keeps it: content inline, with the ids its attachments had. */
export interface SpoolEntry {
  readonly trace: Trace
  readonly attachmentIds: ReadonlyArray<string>
}

/** What a write did: traces written, and traces removed to keep the spool within its bounds. */
export interface SpoolWrite {
  /** the first `written` entries are in the spool */
  readonly written: number
  /** the entries after those, not written (the disk filled up, say), and why */
  readonly unwritten?: { readonly count: number; readonly error: ExportError } | undefined
  /** the oldest waiting traces, removed because the spool was over its size */
  readonly evicted: number
  /** waiting traces older than the spool's age limit, removed */
  readonly expired: number
}

/** A trace claimed from the spool: until it is done, released or rejected, no one else sends it. */
export interface Claimed extends SpoolEntry {
  readonly file: string
  /** the destination stored it: removed from the spool */
  readonly done: Effect.Effect<void>
  /** not sent after all: waiting again, for anyone */
  readonly release: Effect.Effect<void>
  /** the destination refused it for itself: kept aside (`rejected/`), never sent again */
  readonly reject: Effect.Effect<void>
}

/**
 * A prepared trace as a spool entry: attachments moved out of its spans are put back inline (the
 * spool file is the only copy), and their ids kept, so that a replay extracts them under the same
 * references the previews already hold.
 */
export const toEntry = (trace: Trace): SpoolEntry => {
  const attachments = trace.attachments ?? []
  if (attachments.length === 0) return { trace, attachmentIds: [] }
  const { attachments: _, ...rest } = trace
  return {
    trace: { ...rest, spans: inlineAttachments(trace.spans, attachments) },
    attachmentIds: attachments.map((attachment) => attachment.id)
  }
}
