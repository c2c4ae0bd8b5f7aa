import type { SpanData, Trace } from "../../src/Trace.js"

/** A span of 250 ms at 2023-11-14 22:13:20 UTC: `root`, or `child-<span id>` under `parent`. */
export const fixedSpan = (
  traceHex: string,
  spanHex: string,
  parent: string | null,
  attributes: SpanData["attributes"] = {}
): SpanData => ({
  traceId: traceHex,
  spanId: spanHex,
  parentSpanId: parent,
  name: parent === null ? "root" : `child-${spanHex}`,
  kind: "internal",
  startTimeUnixNano: 1_700_000_000_000_000_000n,
  endTimeUnixNano: 1_700_000_000_250_000_000n,
  status: { code: "OK", message: "" },
  attributes,
  events: []
})

/**
 * Trace number `n` (its id is `n` in hex), named `trace-<n>`, made at `requestTimeMs` (by default
 * `n` ms after the spans' start, so numbers sort as times do), with a root span and a child.
 */
export const numberedTrace = (n: number, info: Partial<Trace["info"]> = {}): Trace => {
  const hex = n.toString(16).padStart(32, "0")
  return {
    info: {
      traceId: `tr-${hex}`,
      clientRequestId: undefined,
      experimentId: "1",
      requestTimeMs: 1_700_000_000_000 + n,
      executionDurationMs: 250,
      state: "OK",
      requestPreview: "{\"q\": 1}",
      responsePreview: "\"a\"",
      tags: { "mlflow.traceName": `trace-${n}` },
      metadata: { "mlflow.trace_schema.version": "3" },
      ...info
    },
    spans: [fixedSpan(hex, "00000000000000aa", null), fixedSpan(hex, "00000000000000bb", "00000000000000aa")]
  }
}
