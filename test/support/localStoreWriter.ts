/**
 * A second process for the local store tests: splices `count` late spans, one write each, into
 * the trace file `traceId` of `directory`, as a process sharing the directory would.
 */
import { Effect } from "effect"
import * as LocalStore from "../../src/internal/sinks/localStore.js"
import type { SpanData } from "../../src/Trace.js"

const [directory, traceId, prefix, count] = process.argv.slice(2)

export const lateSpan = (traceIdHex: string, spanIdHex: string): SpanData => ({
  traceId: traceIdHex,
  spanId: spanIdHex,
  parentSpanId: null,
  name: `late-${spanIdHex}`,
  kind: "internal",
  startTimeUnixNano: 1n,
  endTimeUnixNano: 2n,
  status: { code: "OK", message: "" },
  attributes: {},
  events: []
})

if (directory !== undefined && traceId !== undefined) {
  const sink = await Effect.runPromise(LocalStore.makeSink(directory))
  await Promise.all(
    Array.from({ length: Number(count) }, (_, i) =>
      Effect.runPromise(
        sink.exportLateSpans(`tr-${traceId}`, [lateSpan(traceId, `${prefix}${String(i).padStart(15, "0")}`)])
      ))
  )
}
