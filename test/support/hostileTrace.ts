import type { SpanData, Trace } from "../../src/Trace.js"

/**
 * Terminal control sequences a trace may carry: write the clipboard (OSC 52), retitle the terminal
 * (OSC 0, ended by BEL), clear the screen, a carriage return that overwrites its row, a C1 CSI, DEL,
 * a bidi override and a zero-width space.
 */
export const HOSTILE = {
  clipboard: "\u001b]52;c;ZWNobyBwd25lZA==\u0007",
  title: "\u001b]0;owned\u0007",
  clear: "\u001b[2J",
  overwrite: "\rOK  all good",
  c1: "\u009b31m",
  del: "x\u007fy",
  bidi: "abc\u202edcba",
  zeroWidth: "a\u200bb"
} as const

const all = Object.values(HOSTILE).join("")

/** Any C0 or C1 control, DEL, bidi control or invisible character except the newline. */
export const UNPRINTABLE_BUT_NEWLINE =
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/

/** Output with the command's own colours (SGR sequences) taken out. */
export const withoutColours = (text: string): string => text.replace(/\u001b\[\d+(?:;\d+)*m/g, "")

const T0 = 1_700_000_000_000

/** A 2-span trace whose every printed field carries control sequences. */
export const hostileTrace = (traceHex: string, offsetMs = 0): Trace => {
  const span = (spanHex: string, parent: string | null, name: string, type: string, message: string): SpanData => ({
    traceId: traceHex,
    spanId: spanHex,
    parentSpanId: parent,
    name,
    kind: "internal",
    startTimeUnixNano: BigInt(T0 + offsetMs) * 1_000_000n,
    endTimeUnixNano: BigInt(T0 + offsetMs + 100) * 1_000_000n,
    status: { code: "ERROR", message },
    attributes: { "mlflow.spanType": type },
    events: []
  })
  return {
    info: {
      traceId: `tr-${traceHex}`,
      clientRequestId: undefined,
      experimentId: "0",
      requestTimeMs: T0 + offsetMs,
      executionDurationMs: 100,
      state: "ERROR",
      requestPreview: `{"q": "${HOSTILE.clipboard}${HOSTILE.overwrite}"}`,
      responsePreview: `"${HOSTILE.c1}"`,
      tags: { "mlflow.traceName": `root${HOSTILE.title}${HOSTILE.clear}`, env: all },
      metadata: { "mlflow.trace_schema.version": "3" }
    },
    spans: [
      span("00000000000000aa", null, `root${HOSTILE.title}${HOSTILE.clear}`, `CHAIN${HOSTILE.c1}`, all),
      span("00000000000000bb", "00000000000000aa", `child${HOSTILE.overwrite}${HOSTILE.bidi}`, HOSTILE.del, all)
    ]
  }
}
