import type { SpanData, Trace } from "../../Trace.js"
import { SpanAttributeKey, TraceMetadataKey } from "../common/keys.js"
import { jsonHead, preview, stateOf } from "../prepare/derived.js"

/**
 * Storing a trace from its spans alone: MLflow 3.18's `/v1/traces` builds the trace record itself
 * (`_log_spans_once` in its SQL store), from the span with no parent: times and state, previews of
 * its inputs and outputs, token usage and cost, the session (`session.id`), the user (`user.id`), and
 * trace tags and name from its `mlflow.traceTag.<key>` attributes. What it cannot build is left out:
 * the metadata below, which describes where the trace was produced.
 */

/** Metadata a trace stored from its spans goes without (the server writes none of it). */
const LEFT_OUT = new Set<string>([
  TraceMetadataKey.SCHEMA_VERSION,
  TraceMetadataKey.INPUTS,
  TraceMetadataKey.OUTPUTS,
  TraceMetadataKey.SIZE_STATS,
  TraceMetadataKey.SIZE_BYTES,
  TraceMetadataKey.SOURCE_NAME,
  TraceMetadataKey.SOURCE_TYPE,
  TraceMetadataKey.USER
])
const LEFT_OUT_PREFIX = "mlflow.source.git."

/** Metadata the server derives from the spans (the session and user from the attributes added to the root). */
const DERIVED = new Set<string>([TraceMetadataKey.TOKEN_USAGE, TraceMetadataKey.SESSION, TraceMetadataKey.TRACE_USER])

const TAG_PREFIX = "mlflow.traceTag."
const SESSION_ID = "session.id"
const CONVERSATION_ID = "gen_ai.conversation.id"
const USER_ID = "user.id"

/** Tag keys MLflow's validator takes as they are (ASCII; MLflow's own rule is wider, never narrower). */
const PLAIN_TAG_KEY = /^[A-Za-z0-9_.\- :]+(\/[A-Za-z0-9_.\- :]+)*$/
const isPlainTagKey = (key: string): boolean =>
  PLAIN_TAG_KEY.test(key) && !key.split("/").some((segment) => segment === "." || segment === "..")

/**
 * Whether the spans can carry everything `trace` holds beyond the metadata left out: nothing set by
 * the user outside the spans (metadata, a client request id, previews or a state set by hand), a
 * root the server recognises (no parent), and nothing in the spans that the attributes added to the
 * root would contradict.
 *
 * @internal
 */
export const spansCarry = (trace: Trace): boolean => {
  const { info, spans } = trace
  const root = rootOf(trace)
  if (root === undefined || root.parentSpanId !== null) return false
  if (info.clientRequestId !== undefined || info.state !== stateOf(root)) return false
  for (const key in info.metadata) {
    if (!LEFT_OUT.has(key) && !DERIVED.has(key) && !key.startsWith(LEFT_OUT_PREFIX)) return false
  }
  for (const key in info.tags) if (!isPlainTagKey(key)) return false
  for (const span of spans) {
    const attributes = span.attributes
    if (SESSION_ID in attributes || CONVERSATION_ID in attributes || USER_ID in attributes) return false
  }
  for (const key in root.attributes) if (key.startsWith(TAG_PREFIX)) return false
  return previewDerived(info.requestPreview, root.attributes[SpanAttributeKey.INPUTS], "user") &&
    previewDerived(info.responsePreview, root.attributes[SpanAttributeKey.OUTPUTS], "assistant")
}

const previewDerived = (given: string | undefined, value: SpanData["attributes"][string] | undefined, role: string) =>
  value === undefined ? given === undefined : given === preview(value, jsonHead(value), role)

/**
 * Whether `trace` continues a trace begun in another service (its root has a remote parent): its
 * spans join that trace, whose info is the originating service's to write.
 *
 * @internal
 */
export const continuesRemote = (trace: Trace): boolean =>
  trace.spans.length > 0 && trace.spans.every((span) => span.parentSpanId !== null)

const rootOf = (trace: Trace): SpanData | undefined => trace.spans.find((span) => span.parentSpanId === null)

/**
 * The spans of `trace` with what the server reads from the root added to the root's attributes (trace
 * tags and name, session, user), root first.
 *
 * @internal
 */
export const withTraceInfoOnRoot = (trace: Trace): ReadonlyArray<SpanData> => {
  const root = rootOf(trace)
  if (root === undefined) return trace.spans
  const attributes: Record<string, SpanData["attributes"][string]> = { ...root.attributes }
  for (const key in trace.info.tags) attributes[TAG_PREFIX + key] = trace.info.tags[key]
  const session = trace.info.metadata[TraceMetadataKey.SESSION]
  if (session !== undefined) attributes[SESSION_ID] = session
  const user = trace.info.metadata[TraceMetadataKey.TRACE_USER]
  if (user !== undefined) attributes[USER_ID] = user
  return [{ ...root, attributes }, ...trace.spans.filter((span) => span !== root)]
}
