import type { SpanData, Trace } from "../Trace.js"
import { paint, printable } from "./terminal.js"

/**
 * A trace in the terminal: a header line, then its spans as a tree with a waterfall (each span's
 * bar placed and sized by its start and duration within the trace).
 *
 * @internal
 */

export interface RenderOptions {
  /** ANSI colours (a terminal that wants them) */
  readonly color: boolean
  /** width of the waterfall column, in characters */
  readonly barWidth?: number | undefined
  /** where the trace was read from, shown in the header */
  readonly source?: string | undefined
}

/** `123 ms`, `1.23 s`, `0.42 ms` */
export const formatDuration = (millis: number): string =>
  millis >= 1000
    ? `${(millis / 1000).toFixed(2)} s`
    : millis >= 1
    ? `${Math.round(millis)} ms`
    : `${millis.toFixed(2)} ms`

const spanMillis = (span: SpanData) => Number(span.endTimeUnixNano - span.startTimeUnixNano) / 1e6

const spanType = (span: SpanData): string => {
  const value = span.attributes["mlflow.spanType"]
  return typeof value === "string" ? printable(value) : ""
}

const usageText = (usage: unknown): string => {
  if (typeof usage === "string") {
    try {
      return usageText(JSON.parse(usage))
    } catch {
      return ""
    }
  }
  if (usage === null || typeof usage !== "object") return ""
  const { input_tokens, output_tokens, total_tokens } = usage as Record<string, unknown>
  const n = (value: unknown) => typeof value === "number" ? String(value) : "?"
  return input_tokens === undefined && output_tokens === undefined && total_tokens === undefined
    ? ""
    : `${n(input_tokens)}/${n(output_tokens)}/${n(total_tokens)}`
}

const cut = (text: string, width: number) => text.length <= width ? text : `${text.slice(0, width - 1)}…`

interface Row {
  readonly span: SpanData
  readonly prefix: string
  /** the span's name, printable */
  readonly name: string
}

/** Spans in tree order, each with the tree drawing before its name. */
const treeRows = (spans: ReadonlyArray<SpanData>): ReadonlyArray<Row> => {
  const ids = new Set(spans.map((span) => span.spanId))
  const children = new Map<string | null, Array<SpanData>>()
  for (const span of spans) {
    const parent = span.parentSpanId !== null && ids.has(span.parentSpanId) ? span.parentSpanId : null
    const list = children.get(parent) ?? []
    list.push(span)
    children.set(parent, list)
  }
  for (const list of children.values()) {
    list.sort((a, b) =>
      a.startTimeUnixNano < b.startTimeUnixNano ? -1 : a.startTimeUnixNano > b.startTimeUnixNano ? 1 : 0
    )
  }
  const rows: Array<Row> = []
  const walk = (span: SpanData, lead: string, branch: string, seen: Set<string>) => {
    if (seen.has(span.spanId)) return
    seen.add(span.spanId)
    rows.push({ span, prefix: lead + branch, name: printable(span.name) })
    const kids = children.get(span.spanId) ?? []
    const next = lead + (branch === "" ? "" : branch === "└─ " ? "   " : "│  ")
    kids.forEach((kid, i) => walk(kid, next, i === kids.length - 1 ? "└─ " : "├─ ", seen))
  }
  const seen = new Set<string>()
  for (const root of children.get(null) ?? []) walk(root, "", "", seen)
  return rows
}

/** The header and the span rows of a trace. */
export const renderTrace = (trace: Trace, options: RenderOptions): string => {
  const { color } = options
  const barWidth = options.barWidth ?? 32
  const { info, spans } = trace
  const state = paint(color, info.state === "ERROR" ? 31 : 32, printable(info.state))
  const usage = usageText(info.metadata["mlflow.trace.tokenUsage"])
  const header = [
    paint(color, 1, printable(info.traceId)),
    state,
    formatDuration(info.executionDurationMs),
    new Date(info.requestTimeMs).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z"),
    `${spans.length} span${spans.length === 1 ? "" : "s"}`,
    ...(usage === "" ? [] : [`tokens ${usage} (in/out/total)`]),
    ...(options.source === undefined ? [] : [`from ${printable(options.source)}`])
  ].join("  ")
  if (spans.length === 0) return `${header}\n  (no spans)\n`
  const start = spans.reduce(
    (min, span) => span.startTimeUnixNano < min ? span.startTimeUnixNano : min,
    spans[0].startTimeUnixNano
  )
  const end = spans.reduce(
    (max, span) => span.endTimeUnixNano > max ? span.endTimeUnixNano : max,
    spans[0].endTimeUnixNano
  )
  const total = Number(end - start) || 1
  const rows = treeRows(spans)
  const nameWidth = Math.min(48, Math.max(4, ...rows.map((row) => row.prefix.length + row.name.length)))
  const typeWidth = Math.max(4, ...rows.map((row) => spanType(row.span).length))
  const tokens = rows.map((row) => usageText(row.span.attributes["mlflow.chat.tokenUsage"]))
  const tokenWidth = Math.max(6, ...tokens.map((text) => text.length))
  const bar = (span: SpanData) => {
    const offset = Math.min(barWidth - 1, Math.floor((Number(span.startTimeUnixNano - start) / total) * barWidth))
    const length = Math.max(
      1,
      Math.min(
        barWidth - offset,
        Math.round((Number(span.endTimeUnixNano - span.startTimeUnixNano) / total) * barWidth)
      )
    )
    const drawn = " ".repeat(offset) + "█".repeat(length)
    return paint(color, span.status.code === "ERROR" ? 31 : 36, drawn) + " ".repeat(barWidth - offset - length)
  }
  const line = (cells: ReadonlyArray<string>) => cells.join("  ").trimEnd()
  const table = [
    line([
      "SPAN".padEnd(nameWidth),
      "TYPE".padEnd(typeWidth),
      "DURATION".padStart(9),
      "STATUS".padEnd(6),
      "TOKENS".padEnd(tokenWidth),
      "|" + "timeline".padEnd(barWidth) + "|"
    ]),
    ...rows.map((row, i) =>
      line([
        cut(row.prefix + row.name, nameWidth).padEnd(nameWidth),
        spanType(row.span).padEnd(typeWidth),
        formatDuration(spanMillis(row.span)).padStart(9),
        row.span.status.code === "ERROR" ? paint(color, 31, "ERROR ") : printable(row.span.status.code).padEnd(6),
        tokens[i].padEnd(tokenWidth),
        "|" + bar(row.span) + "|"
      ])
    )
  ]
  const errors = rows.filter((row) => row.span.status.code === "ERROR" && row.span.status.message !== "")
    .map((row) => `  ${row.name}: ${printable(row.span.status.message)}`)
  return [header, ...table.map((text) => `  ${text}`), ...errors].join("\n") + "\n"
}
