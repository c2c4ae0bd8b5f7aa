import type { SpanData } from "../../Trace.js"
import { utf8Length } from "../common/bytes.js"
import type { Json } from "../common/json.js"
import { TRUNCATED_ATTRIBUTE } from "../common/keys.js"
import { jsonSize, jsonSizeBound } from "../format/jsonSize.js"
import { BOOKKEEPING_ATTRIBUTES, measureSpan } from "../format/traceJson.js"

/** @internal */
export interface Budgets {
  readonly maxAttributeBytes: number
  readonly maxSpanBytes: number
  readonly maxTraceBytes: number
  readonly maxSpansPerTrace: number
}

/** @internal What a budget pass removed from a trace. */
export interface Truncation {
  readonly attributes: number
  readonly bytesRemoved: number
  readonly spansDropped: number
}

const utf8 = utf8Length

/** Replaces a value by the start of its JSON text, saying how much was cut. */
const cut = (json: string, size: number, keep: number): Json => {
  const head = json.slice(0, Math.max(0, keep))
  return `${head}...[truncated ${size - utf8(head)} of ${size} bytes]`
}

/** Upper bounds of a span's payload sizes, from string lengths alone. */
const boundSpan = (span: SpanData): { readonly payload: number; readonly largest: number } => {
  let payload = 0
  let largest = 0
  for (const key in span.attributes) {
    if (BOOKKEEPING_ATTRIBUTES.has(key)) continue
    const size = jsonSizeBound(span.attributes[key])
    payload += size
    if (size > largest) largest = size
  }
  return { payload, largest }
}

/**
 * Whether a trace is within every budget as it is (the common case: nothing to copy or cut), judged
 * by `measure`: upper bounds first, which settle it without reading the text when there is room.
 */
const withinBudgets = (
  spans: ReadonlyArray<SpanData>,
  budgets: Budgets,
  measure: (span: SpanData) => { readonly payload: number; readonly largest: number }
): boolean => {
  let traceTotal = 0
  for (const span of spans) {
    if (TRUNCATED_ATTRIBUTE in span.attributes) return false
    const { largest, payload } = measure(span)
    if (largest > budgets.maxAttributeBytes || payload > budgets.maxSpanBytes) return false
    traceTotal += payload
  }
  return traceTotal <= budgets.maxTraceBytes
}

/**
 * Applies the payload budgets to a trace: spans past `maxSpansPerTrace` are dropped (the root and
 * the earliest are kept); an attribute larger than `maxAttributeBytes` is cut; a span still over
 * `maxSpanBytes` has its largest attributes cut further; a trace still over `maxTraceBytes` has the
 * largest attributes of its latest spans cut. Every cut value is a string that ends with
 * `...[truncated N of M bytes]`. The span's `effect_mlflow.truncated` maps each cut key to what was
 * removed (bytes here; characters, items or bytes where the tracer's snapshot already cut a value),
 * and the trace's truncation counts both.
 *
 * @internal
 */
export const applyBudgets = (
  spans: ReadonlyArray<SpanData>,
  rootSpanId: string,
  budgets: Budgets
): { readonly spans: ReadonlyArray<SpanData>; readonly truncation: Truncation | undefined } => {
  let attributes = 0
  let bytesRemoved = 0
  let kept = spans
  let spansDropped = 0
  if (spans.length > budgets.maxSpansPerTrace) {
    const root = spans.find((span) => span.spanId === rootSpanId) ?? spans[0]
    const rest = spans.filter((span) => span !== root).sort((a, b) =>
      a.startTimeUnixNano < b.startTimeUnixNano ? -1 : a.startTimeUnixNano > b.startTimeUnixNano ? 1 : 0
    )
    kept = [root, ...rest.slice(0, budgets.maxSpansPerTrace - 1)]
    spansDropped = spans.length - kept.length
  }

  if (spansDropped === 0 && (withinBudgets(kept, budgets, boundSpan) || withinBudgets(kept, budgets, measureSpan))) {
    return { spans, truncation: undefined }
  }
  type Sized = {
    span: SpanData
    values: Record<string, Json>
    /** the JSON text (built only once the value has to be cut) and the size of each attribute */
    sizes: Map<string, [string | undefined, number]>
    cut: Record<string, number>
    changed?: boolean
  }
  // cuts the tracer's snapshot already made count too
  for (const span of kept) {
    const earlier = span.attributes[TRUNCATED_ATTRIBUTE]
    if (typeof earlier === "object" && earlier !== null && !Array.isArray(earlier)) {
      for (const key in earlier) {
        attributes++
        const removed = (earlier as Record<string, Json>)[key]
        if (typeof removed === "number") bytesRemoved += removed
      }
    }
  }
  const sized: Array<Sized> = kept.map((span) => {
    const sizes = new Map<string, [string | undefined, number]>()
    for (const key in span.attributes) {
      if (BOOKKEEPING_ATTRIBUTES.has(key)) continue
      sizes.set(key, [undefined, jsonSize(span.attributes[key]).bytes])
    }
    const earlier = span.attributes[TRUNCATED_ATTRIBUTE]
    const cut: Record<string, number> = typeof earlier === "object" && earlier !== null && !Array.isArray(earlier)
      ? { ...(earlier as Record<string, number>) }
      : {}
    return { span, values: { ...span.attributes }, sizes, cut }
  })
  const shrink = (entry: Sized, key: string, keep: number) => {
    const [known, size] = entry.sizes.get(key)!
    const value = cut(known ?? JSON.stringify(entry.values[key]), size, keep)
    const newJson = JSON.stringify(value)
    const removed = size - utf8(newJson)
    entry.values[key] = value
    entry.sizes.set(key, [newJson, utf8(newJson)])
    if (!(key in entry.cut)) attributes++
    entry.cut[key] = (entry.cut[key] ?? 0) + removed
    bytesRemoved += removed
    entry.changed = true
  }
  const spanSize = (entry: Sized) => {
    let total = 0
    for (const [, size] of entry.sizes.values()) total += size
    return total
  }
  const largestFirst = (entry: Sized) => [...entry.sizes.entries()].sort((a, b) => b[1][1] - a[1][1])

  for (const entry of sized) {
    for (const [key, [, size]] of entry.sizes) {
      if (size > budgets.maxAttributeBytes) shrink(entry, key, budgets.maxAttributeBytes - 64)
    }
    let total = spanSize(entry)
    for (const [key, [, size]] of largestFirst(entry)) {
      if (total <= budgets.maxSpanBytes) break
      const keep = Math.max(0, size - (total - budgets.maxSpanBytes) - 64)
      shrink(entry, key, keep)
      total = spanSize(entry)
    }
  }
  let traceTotal = sized.reduce((sum, entry) => sum + spanSize(entry), 0)
  for (let i = sized.length - 1; i >= 0 && traceTotal > budgets.maxTraceBytes; i--) {
    for (const [key, [, size]] of largestFirst(sized[i])) {
      if (traceTotal <= budgets.maxTraceBytes || size < 256) break
      const before = spanSize(sized[i])
      shrink(sized[i], key, Math.max(0, size - (traceTotal - budgets.maxTraceBytes) - 64))
      traceTotal -= before - spanSize(sized[i])
    }
  }

  if (attributes === 0 && spansDropped === 0) return { spans, truncation: undefined }
  return {
    spans: sized.map((entry) =>
      entry.changed === true
        ? { ...entry.span, attributes: { ...entry.values, [TRUNCATED_ATTRIBUTE]: entry.cut } }
        : entry.span
    ),
    truncation: { attributes, bytesRemoved, spansDropped }
  }
}
