import type { SpanData, Trace, TraceInfo } from "../../Trace.js"
import { mlflowTraceId } from "../common/ids.js"
import { SpanAttributeKey, TraceMetadataKey, TraceTagKey } from "../common/keys.js"
import { jsonSize } from "../format/jsonSize.js"
import { dumps } from "../format/pythonJson.js"
import { spanJsonSize, traceInfoToDict } from "../format/traceJson.js"
import type { CompletedTrace } from "../tracing/assembler.js"
import {
  aggregateTokenUsage,
  CLIENT_REQUEST_ID_MAX_LENGTH,
  jsonHead,
  METADATA_MAX_LENGTH,
  preview,
  PREVIEW_MAX_LENGTH,
  replaceNul,
  stateOf,
  TAG_KEY_MAX_LENGTH,
  TAG_VALUE_MAX_LENGTH,
  truncate
} from "./derived.js"

/**
 * Finalizes a completed trace as MLflow's processor does when the root span ends. `spanSizes`: the
 * JSON size of each span, when measured already (see `withSizeStats`).
 *
 * @internal
 */
export const finalize = (
  completed: CompletedTrace,
  environment: Readonly<Record<string, string>>,
  experimentId: string | undefined,
  spanSizes?: ReadonlyArray<number>
): Trace => {
  const spans = completed.spans
  const root = spans.find((span) => span.spanId === completed.rootSpanId) ?? spans[0]
  const updates = completed.updates
  const inputs = root.attributes[SpanAttributeKey.INPUTS]
  const outputs = root.attributes[SpanAttributeKey.OUTPUTS]
  // previews and legacy metadata keep at most PREVIEW_MAX_LENGTH characters of the JSON
  const inputsJson = inputs === undefined ? undefined : jsonHead(inputs)
  const outputsJson = outputs === undefined ? undefined : jsonHead(outputs)
  const metadata: Record<string, string> = {
    ...environment,
    [TraceMetadataKey.SCHEMA_VERSION]: "3",
    [TraceMetadataKey.INPUTS]: truncate(inputsJson ?? "", METADATA_MAX_LENGTH),
    [TraceMetadataKey.OUTPUTS]: truncate(outputsJson ?? "", METADATA_MAX_LENGTH)
  }
  const usage = aggregateTokenUsage(spans)
  if (usage !== undefined) metadata[TraceMetadataKey.TOKEN_USAGE] = dumps(usage)
  for (const key in updates.metadata) {
    metadata[truncate(key, METADATA_MAX_LENGTH)] = truncate(updates.metadata[key], METADATA_MAX_LENGTH)
  }
  const tags: Record<string, string> = { [TraceTagKey.TRACE_NAME]: truncate(root.name, TAG_VALUE_MAX_LENGTH) }
  for (const key in updates.tags) {
    tags[truncate(key, TAG_KEY_MAX_LENGTH)] = truncate(updates.tags[key], TAG_VALUE_MAX_LENGTH)
  }
  const info: TraceInfo = {
    traceId: mlflowTraceId(completed.otelTraceId),
    experimentId,
    requestTimeMs: Number(root.startTimeUnixNano / 1_000_000n),
    executionDurationMs: Number((root.endTimeUnixNano - root.startTimeUnixNano) / 1_000_000n),
    state: updates.state ?? stateOf(root),
    // as MLflow's client: a preview set by hand wins unless empty (the server's column holds 1000)
    requestPreview: updates.requestPreview === undefined || updates.requestPreview === ""
      ? preview(inputs, inputsJson, "user")
      : truncate(replaceNul(updates.requestPreview), PREVIEW_MAX_LENGTH),
    responsePreview: updates.responsePreview === undefined || updates.responsePreview === ""
      ? preview(outputs, outputsJson, "assistant")
      : truncate(replaceNul(updates.responsePreview), PREVIEW_MAX_LENGTH),
    clientRequestId: updates.clientRequestId === undefined
      ? undefined
      : updates.clientRequestId.slice(0, CLIENT_REQUEST_ID_MAX_LENGTH),
    metadata,
    tags
  }
  return { info: withSizeStats(info, spans, spanSizes), spans }
}

const percentile = (sorted: ReadonlyArray<number>, p: number): number => {
  if (sorted.length === 0) return 0
  const index = p * (sorted.length - 1)
  const lower = Math.floor(index)
  if (lower + 1 >= sorted.length) return sorted[sorted.length - 1]
  return sorted[lower] + (sorted[lower + 1] - sorted[lower]) * (index - lower)
}

/**
 * MLflow's `mlflow.trace.sizeStats` / `mlflow.trace.sizeBytes`: sizes of the spans' JSON. They are
 * metadata like any other to whoever reads them, but measured on first read: measuring reads every
 * character of every attribute, and a trace stored from its spans alone (or sent over OTLP) never
 * needs them.
 */
const withSizeStats = (
  info: TraceInfo,
  spans: ReadonlyArray<SpanData>,
  spanSizes: ReadonlyArray<number> | undefined
): TraceInfo => {
  const metadata: Record<string, string> = { ...info.metadata }
  let measured: { readonly stats: string; readonly bytes: string } | undefined
  const measure = () => measured ??= sizeStats(info, spanSizes ?? spans.map(spanJsonSize))
  Object.defineProperty(metadata, TraceMetadataKey.SIZE_STATS, {
    configurable: true,
    enumerable: true,
    get: () => measure().stats
  })
  Object.defineProperty(metadata, TraceMetadataKey.SIZE_BYTES, {
    configurable: true,
    enumerable: true,
    get: () => measure().bytes
  })
  return { ...info, metadata }
}

const sizeStats = (info: TraceInfo, spanSizes: ReadonlyArray<number>) => {
  const sizes = [...spanSizes].sort((a, b) => a - b)
  // the info's size is measured compactly: a close approximation of MLflow's figure, as MLflow's own is
  const total = sizes.reduce((a, b) => a + b, 0) + jsonSize(traceInfoToDict(info)).bytes +
    Math.max(0, sizes.length - 1) * 2
  const stats = {
    total_size_bytes: total,
    num_spans: sizes.length,
    max: sizes[sizes.length - 1] ?? 0,
    p25: Math.floor(percentile(sizes, 0.25)),
    p50: Math.floor(percentile(sizes, 0.5)),
    p75: Math.floor(percentile(sizes, 0.75))
  }
  return { stats: dumps(stats), bytes: String(total) }
}
