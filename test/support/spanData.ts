import type { SpanData } from "../../src/Trace.js"

/** A finished span of one fixed trace, `id` and `parent` padded to span ids, 1.5 s long. */
export const spanData = (id: string, parent: string | null, attributes: Record<string, any> = {}): SpanData => ({
  traceId: "0af7651916cd43dd8448eb211c80319c",
  spanId: id.padStart(16, "0"),
  parentSpanId: parent === null ? null : parent.padStart(16, "0"),
  name: `span-${id}`,
  kind: "internal",
  startTimeUnixNano: 1_700_000_000_000_000_000n,
  endTimeUnixNano: 1_700_000_001_500_000_000n,
  status: { code: "OK", message: "" },
  attributes,
  events: []
})
