/**
 * OTLP encoding of finished spans (`ExportTraceServiceRequest`, protobuf), with attribute values as
 * native `AnyValue`s, as MLflow's `/v1/traces` endpoint and OTel collectors expect.
 *
 * @since 0.1.0
 */
import * as Internal from "./internal/format/otlp.js"
import type { SpanData } from "./Trace.js"

/**
 * The instrumentation scope name written into every OTLP request.
 *
 * @since 0.1.0
 * @category constants
 */
export const scopeName: string = Internal.scopeName

/**
 * Resource of the exported spans.
 *
 * @since 0.1.0
 * @category models
 */
export interface Resource extends Internal.Resource {}

/**
 * The deepest message nesting the encoder writes. MLflow parses requests with Python protobuf, whose
 * recursion limit is 100 nested messages (measured on MLflow 3.18: 99 levels are stored, 102 are
 * not); a request past it is rejected whole ("Invalid OpenTelemetry format"). Deeper values are
 * written as the JSON text of what is left, behind a `[MaxDepth]` marker, so the data is kept and
 * the request stays parseable.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxMessageDepth: number = Internal.maxMessageDepth

/**
 * The marker before the JSON text of a value nested too deep for OTLP.
 *
 * @since 0.1.0
 * @category constants
 */
export const depthMarker: string = Internal.depthMarker

/**
 * Encodes spans as an OTLP `ExportTraceServiceRequest` protobuf message.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeTraceRequest: (spans: ReadonlyArray<SpanData>, resource: Resource) => Uint8Array =
  Internal.encodeTraceRequest
