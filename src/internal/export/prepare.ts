import * as Effect from "effect/Effect"
import type { SpanData, Trace } from "../../Trace.js"
import { dumps } from "../common/json.js"
import { TRUNCATION_METADATA } from "../common/keys.js"
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

export const make = (
  options: {
    readonly processors: ReadonlyArray<SpanProcessor>
    readonly budgets: Budgets
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
    const budgeted = applyBudgets(processSpans(item.spans), item.rootSpanId, options.budgets)
    const finalized = finalize({ ...item, spans: budgeted.spans }, options.environment, undefined)
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
