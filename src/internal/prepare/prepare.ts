import * as Effect from "effect/Effect"
import type { SpanData, Trace, TraceAttachment } from "../../Trace.js"
import { mlflowTraceId } from "../common/ids.js"
import { TRUNCATION_METADATA } from "../common/keys.js"
import { lazyModule } from "../common/lazy.js"
import { forEachInSlices } from "../common/slices.js"
import { spanMayHold } from "../format/attachmentRefs.js"
import { dumps } from "../format/pythonJson.js"
import { spanJsonSize } from "../format/traceJson.js"
import type { CompletedTrace } from "../tracing/assembler.js"
import type { AttachmentOptions } from "./attachments.js"
import { applyBudgets, type Budgets } from "./budget.js"
import { finalize } from "./finalize.js"
import { process, type SpanProcessor } from "./processors.js"

/** Turns what the assembler handed off into what a sink stores: processors, budgets, finalization. */
export interface Prepare {
  readonly trace: (item: CompletedTrace) => Trace
  /**
   * `trace`, as an effect that yields to the event loop between slices of the work: a trace of
   * thousands of spans does not hold it for the whole of its preparation
   */
  readonly traceYielding: (item: CompletedTrace) => Effect.Effect<Trace>
  readonly lateSpans: (item: CompletedTrace) => CompletedTrace
  /** reports the span processors that failed since the last call (once per reason) */
  readonly reportFailures: Effect.Effect<void>
  /** loads what `trace` may need (the extraction of attachments), so that it runs synchronously */
  readonly readyForSync: Effect.Effect<void>
}

/** The extraction of attachments, loaded by the first trace whose spans may hold inline content. */
const loadAttachments = lazyModule(() => import("./attachments.js"))

const withAttachments = (trace: Trace, attachments: Trace["attachments"]): Trace =>
  attachments === undefined || attachments.length === 0 ? trace : { ...trace, attachments }

/**
 * From this many spans, a trace prepared in slices also has its spans' JSON sizes measured in
 * slices (MLflow's size stats), where a smaller one leaves them to be measured when first read.
 */
const MEASURED_AHEAD_SPANS = 1000

export const make = (
  options: {
    readonly processors: ReadonlyArray<SpanProcessor>
    readonly budgets: Budgets
    /** for a destination that stores attachments: inline content of inputs and outputs goes into them */
    readonly attachments?: AttachmentOptions | undefined
    readonly environment: Readonly<Record<string, string>>
  },
  /** tells the user of a failure once per reason (the export stage's reports) */
  reportOnce: (what: string, detail: string) => Effect.Effect<void>
): Prepare => {
  let failures: Array<unknown> = []
  const processSpan = (span: SpanData): SpanData => {
    const result = process(span, options.processors)
    if (result.error !== undefined) failures.push(result.error)
    return result.span
  }
  const processSpans = (spans: ReadonlyArray<SpanData>): ReadonlyArray<SpanData> => spans.map(processSpan)

  const prepareTrace = (item: CompletedTrace, yielding: boolean): Effect.Effect<Trace> =>
    Effect.gen(function*() {
      const spans: Array<SpanData> = new Array(item.spans.length)
      yield* forEachInSlices(item.spans, (span, i) => spans[i] = processSpan(span), yielding)
      const attachmentOptions = options.attachments
      const attachments: Array<TraceAttachment> = []
      if (attachmentOptions !== undefined) {
        // a span that cannot hold inline content is left as it is by the extraction
        const holding: Array<number> = []
        yield* forEachInSlices(spans, (span, i) => {
          if (spanMayHold(span)) holding.push(i)
        }, yielding)
        if (holding.length > 0) {
          const { extractFromSpan } = yield* loadAttachments
          const traceId = mlflowTraceId(item.otelTraceId)
          yield* forEachInSlices(
            holding,
            (i) => spans[i] = extractFromSpan(spans[i], traceId, attachmentOptions, attachments),
            yielding
          )
        }
      }
      const budgeted = applyBudgets(spans, item.rootSpanId, options.budgets)
      let sizes: Array<number> | undefined
      if (yielding && budgeted.spans.length >= MEASURED_AHEAD_SPANS) {
        const measured: Array<number> = new Array(budgeted.spans.length)
        yield* forEachInSlices(budgeted.spans, (span, i) => measured[i] = spanJsonSize(span), yielding)
        sizes = measured
      }
      const finalized = withAttachments(
        finalize({ ...item, spans: budgeted.spans }, options.environment, undefined, sizes),
        attachments
      )
      if (budgeted.truncation === undefined) return finalized
      const { attributes, bytesRemoved, spansDropped } = budgeted.truncation
      // copied with its property descriptors: the size stats stay measured on first read
      const metadata: Record<string, string> = Object.defineProperties(
        {},
        Object.getOwnPropertyDescriptors(finalized.info.metadata)
      )
      metadata[TRUNCATION_METADATA] = dumps({
        attributes_truncated: attributes,
        bytes_removed: bytesRemoved,
        spans_dropped: spansDropped
      })
      return { ...finalized, info: { ...finalized.info, metadata } }
    })

  // synchronous once `readyForSync` has run (a trace with inline content needs the extraction loaded)
  const trace = (item: CompletedTrace): Trace => Effect.runSync(prepareTrace(item, false))
  const traceYielding = (item: CompletedTrace): Effect.Effect<Trace> => prepareTrace(item, true)

  const lateSpans = (item: CompletedTrace): CompletedTrace => ({
    ...item,
    spans: applyBudgets(processSpans(item.spans), "", options.budgets).spans
  })

  const reportFailures = Effect.suspend(() => {
    if (failures.length === 0) return Effect.void
    const [first] = failures
    const count = failures.length
    failures = []
    const detail = first instanceof Error ? `${first.name}: ${first.message}` : String(first)
    return reportOnce(
      "a span processor failed; the content of the span(s) it failed on was masked",
      `${detail} (${count} span(s))`
    )
  })

  const readyForSync = options.attachments === undefined ? Effect.void : Effect.asVoid(loadAttachments)

  return { trace, traceYielding, lateSpans, reportFailures, readyForSync }
}
