import type { SpanData } from "../../Trace.js"

/** Spans in the OpenTelemetry GenAI semantic conventions, as MLflow's OTLP export writes them. */
export const translateSpans = (spans: ReadonlyArray<SpanData>): ReadonlyArray<SpanData> => spans
