import * as Effect from "effect/Effect"
import type { SpanData, Trace } from "../../Trace.js"
import { mlflowTraceId } from "../common/ids.js"
import { dumps } from "../common/json.js"
import { TRUNCATION_METADATA } from "../common/keys.js"
import { type AttachmentOptions, extractAttachments } from "../format/attachments.js"
import type { CompletedTrace } from "../tracing/assembler.js"
import { applyBudgets, type Budgets } from "./budget.js"
import { finalize } from "./finalize.js"
import { process, type SpanProcessor } from "./processors.js"
import type { Reports } from "./reports.js"
import { ExportError } from "./sink.js"

/** Turns what the assembler handed off into what a sink stores: processors, budgets, finalization. */
export interface Prepare {
  readonly trace: (item: CompletedTrace) => Trace
  readonly lateSpans: (item: CompletedTrace) => CompletedTrace
  /** reports the span processors that failed since the last call (once per reason) */
  readonly reportFailures: Effect.Effect<void>
}

const withAttachments = (trace: Trace, attachments: Trace["attachments"]): Trace =>
  attachments === undefined || attachments.length === 0 ? trace : { ...trace, attachments }

export const make = (
  options: {
    readonly processors: ReadonlyArray<SpanProcessor>
    readonly budgets: Budgets
    /** for a destination that stores attachments: inline content of inputs and outputs goes into them */
    readonly attachments?: AttachmentOptions | undefined
    readonly environment: Readonly<Record<string, string>>
  },
  reports: Reports
): Prepare => {
  let failures: Array<unknown> = []
  const processSpans = (spans: ReadonlyArray<SpanData>): ReadonlyArray<SpanData> =>
    spans.map((span) => {
      const result = process(span, options.processors)
      if (result.error !== undefined) failures.push(result.error)
      return result.span
    })

  const trace = (item: CompletedTrace): Trace => {
    const processed = processSpans(item.spans)
    const extracted = options.attachments === undefined
      ? undefined
      : extractAttachments(processed, mlflowTraceId(item.otelTraceId), options.attachments)
    const budgeted = applyBudgets(extracted?.spans ?? processed, item.rootSpanId, options.budgets)
    const finalized = withAttachments(
      finalize({ ...item, spans: budgeted.spans }, options.environment, undefined),
      extracted?.attachments
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
  }

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
    return reports.once(
      "a span processor failed; the content of the span(s) it failed on was masked",
      new ExportError({ detail: `${detail} (${count} span(s))`, retryable: false })
    )
  })

  return { trace, lateSpans, reportFailures }
}
