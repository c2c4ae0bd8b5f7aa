import type { CompletedTrace, TraceUpdates } from "../../src/internal/tracing/assembler.js"
import { emptyUpdates } from "../../src/internal/tracing/assembler.js"
import type { SpanData } from "../../src/Trace.js"

/** A trace as the assembler hands it to finalization: its spans (the first is the root) and updates. */
export const completedTrace = (
  spans: ReadonlyArray<SpanData>,
  updates: TraceUpdates = emptyUpdates()
): CompletedTrace => ({
  otelTraceId: spans[0].traceId,
  rootSpanId: spans[0].spanId,
  spans: [...spans],
  late: false,
  record: undefined,
  updates
})
