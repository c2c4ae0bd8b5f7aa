/** Keys MLflow reserves, and ours: shared by every stage (the public `Trace` module re-exports them). */

/** Reserved span attribute keys. */
export const SpanAttributeKey = {
  REQUEST_ID: "mlflow.traceRequestId",
  INPUTS: "mlflow.spanInputs",
  OUTPUTS: "mlflow.spanOutputs",
  SPAN_TYPE: "mlflow.spanType",
  FUNCTION_NAME: "mlflow.spanFunctionName",
  EXPERIMENT_ID: "mlflow.experimentId",
  CHAT_TOOLS: "mlflow.chat.tools",
  CHAT_USAGE: "mlflow.chat.tokenUsage",
  LLM_COST: "mlflow.llm.cost",
  MODEL: "mlflow.llm.model",
  PROVIDER: "mlflow.llm.provider",
  MESSAGE_FORMAT: "mlflow.message.format",
  LOG_LEVEL: "mlflow.spanLogLevel"
} as const

/** Span log levels (`mlflow.spanLogLevel`), which the MLflow UI uses to filter spans by verbosity. */
export const SpanLogLevel = {
  DEBUG: 10,
  INFO: 20,
  WARNING: 30,
  ERROR: 40,
  CRITICAL: 50
} as const

/** Reserved trace metadata keys (immutable once logged). */
export const TraceMetadataKey = {
  SCHEMA_VERSION: "mlflow.trace_schema.version",
  INPUTS: "mlflow.traceInputs",
  OUTPUTS: "mlflow.traceOutputs",
  TOKEN_USAGE: "mlflow.trace.tokenUsage",
  SIZE_STATS: "mlflow.trace.sizeStats",
  SIZE_BYTES: "mlflow.trace.sizeBytes",
  SESSION: "mlflow.trace.session",
  TRACE_USER: "mlflow.trace.user",
  USER: "mlflow.user",
  SOURCE_NAME: "mlflow.source.name",
  SOURCE_TYPE: "mlflow.source.type",
  SOURCE_RUN: "mlflow.sourceRun",
  MODEL_ID: "mlflow.modelId",
  /** set by the server when a `StartTraceV3` stored the trace's info */
  INFO_FINALIZED: "mlflow.trace.infoFinalized"
} as const

/** Reserved trace tag keys (mutable). */
export const TraceTagKey = {
  TRACE_NAME: "mlflow.traceName",
  ARTIFACT_LOCATION: "mlflow.artifactLocation",
  SPANS_LOCATION: "mlflow.trace.spansLocation"
} as const

/** The attribute saying which attributes of a span were cut, and by how much (`{key: removed}`). */
export const TRUNCATED_ATTRIBUTE = "effect_mlflow.truncated"

/** The metadata key saying what was removed from a trace. */
export const TRUNCATION_METADATA = "effect_mlflow.truncation"
