/**
 * The user API: MLflow spans with types, inputs and outputs, trace-level updates, trace ids, flush.
 *
 * Every function here is safe to call anywhere: outside a span, or without the tracing layer, it
 * does nothing. Values given as inputs, outputs or attributes are snapshotted when set (a later
 * mutation does not change the trace) into JSON-compatible trees, never throwing: cycles become
 * `"[Circular]"`, `bigint` a decimal string, functions `"[Function name]"`, `Date` an ISO string,
 * `Map`/`Set` objects/arrays, binary data `{ type, base64 }`, `Redacted` `"<redacted>"`.
 *
 * @since 0.1.0
 */
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import { dual } from "effect/Function"
import { globalValue } from "effect/GlobalValue"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Tracer from "effect/Tracer"
import { safeKey, setOwn } from "./internal/common/json.js"
import type { TraceRecord, TraceUpdates } from "./internal/tracing/assembler.js"
import { snapshot } from "./internal/tracing/snapshot.js"
import { optionalText, ownEntries, textEntries, toText } from "./internal/tracing/text.js"
import { MlflowSpan, TRACE_CONTEXT_KEY } from "./internal/tracing/tracer.js"
import { MlflowClient, type MlflowError } from "./MlflowClient.js"
import { MlflowTracing } from "./MlflowTracing.js"
import type { SpanType } from "./SpanType.js"
import { SpanAttributeKey, SpanLogLevel, type TokenUsage, TraceMetadataKey } from "./Trace.js"
import * as Propagation from "./TraceContext.js"

/**
 * Options of `Mlflow.span`.
 *
 * @since 0.1.0
 * @category models
 */
export interface SpanOptions extends Tracer.SpanOptions {
  /** default `UNKNOWN` */
  readonly spanType?: SpanType | undefined
  /** recorded as `mlflow.spanInputs` */
  readonly inputs?: unknown
  /** record the success value as `mlflow.spanOutputs`; default `true` */
  readonly captureOutputs?: boolean | undefined
  /** sampling ratio for traces this span starts (root spans only; children follow their root) */
  readonly samplingRatio?: number | undefined
}

/**
 * Runs an effect in an MLflow span (the equivalent of `@mlflow.trace` / `mlflow.start_span`): the
 * span gets a type and inputs, and the effect's success value becomes its outputs. Failures end
 * the span with ERROR and an `exception` event; interruption ends it with ERROR `"Interrupted"` and
 * an `exception` event of type `Interrupted`.
 *
 * @example
 * import { Effect } from "effect"
 * import { Mlflow } from "effect-mlflow"
 *
 * const retrieve = (query: string) =>
 *   Effect.succeed([{ page_content: "MLflow is..." }]).pipe(
 *     Mlflow.span("retrieve", { spanType: "RETRIEVER", inputs: { query } })
 *   )
 *
 * @since 0.1.0
 * @category spans
 */
export const span: {
  (name: string, options?: SpanOptions): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, name: string, options?: SpanOptions): Effect.Effect<A, E, R>
} = function(...args: ReadonlyArray<any>) {
  const dataFirst = Effect.isEffect(args[0])
  const name: string = dataFirst ? args[1] : args[0]
  const options: SpanOptions | undefined = dataFirst ? args[2] : args[1]
  const callSite = options?.captureStackTrace === undefined ? captureCallSite() : options.captureStackTrace
  return dataFirst
    ? spanWith(args[0], name, options, callSite)
    : (self: Effect.Effect<unknown, unknown, unknown>) => spanWith(self, name, options, callSite)
} as any

/**
 * The caller's line, for `code.stacktrace` on failure (as `Effect.withSpan` captures it, but pointing
 * past this module): captured when `Mlflow.span` is called, formatted only if the span fails.
 */
const captureCallSite = (): () => string | undefined => {
  const limit = Error.stackTraceLimit
  // this function, `span`, then the caller
  Error.stackTraceLimit = 3
  const site = new Error()
  Error.stackTraceLimit = limit
  let cached: string | undefined
  return () => cached ??= site.stack?.trim().split("\n").slice(3).join("\n").trim()
}

const spanWith = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  name: string,
  options: SpanOptions = {},
  captureStackTrace: NonNullable<Tracer.SpanOptions["captureStackTrace"]>
): Effect.Effect<A, E, R> => {
  const { captureOutputs, inputs, spanType, ...spanOptions } = options
  const attributes: Record<string, unknown> = Object.fromEntries(ownEntries(spanOptions.attributes))
  attributes[SpanAttributeKey.SPAN_TYPE] = spanType ?? "UNKNOWN"
  if (inputs !== undefined) attributes[SpanAttributeKey.INPUTS] = inputs
  // the span's outputs are set on it directly (one step, no lookup of the current span again)
  const withOutputs = (span: Tracer.AnySpan | undefined): Effect.Effect<A, E, R> =>
    captureOutputs === false || span === undefined || span._tag !== "Span" ? self : Effect.map(self, (value) => {
      span.attribute(SpanAttributeKey.OUTPUTS, value)
      return value
    })
  return Effect.suspend(() => {
    // set when this span is the root of its trace: the per-fiber last trace id, and with
    // synchronous logging the signal that its trace is stored
    let root: TraceRecord | undefined
    const recorded = Effect.flatMap(Effect.serviceOption(Tracer.ParentSpan), (current) => {
      const span = current._tag === "Some" ? current.value : undefined
      if (span instanceof MlflowSpan) {
        if (span.record.root === span) root = span.record
        return withOutputs(span)
      }
      // made by another tracer (not a disabled one): under our layer, that tracer hides ours
      return span === undefined || span._tag !== "Span" || span.spanId === "noop"
        ? withOutputs(span)
        : Effect.zipRight(reportHidden, withOutputs(span))
    })
    return Effect.withSpan(recorded, name, {
      ...spanOptions,
      attributes,
      captureStackTrace
    }).pipe(
      Effect.ensuring(Effect.suspend(() => {
        if (root === undefined) return Effect.void
        const setLast = FiberRef.set(lastTraceIdInFiberRef, Option.some(root.mlflowTraceId))
        // interruptible: interrupting a request must not wait out an export that hangs
        return root.done === undefined
          ? setLast
          : Effect.zipRight(Effect.interruptible(Deferred.await(root.done)), setLast)
      }))
    )
  })
}

const reportHidden = Effect.flatMap(
  Effect.serviceOption(MlflowTracing),
  Option.match({ onNone: () => Effect.void, onSome: (service) => service.reportHidden })
)

const withCurrentSpan = (f: (span: Tracer.Span) => void): Effect.Effect<void> =>
  Effect.flatMap(Effect.option(Effect.currentSpan), (span) => {
    if (span._tag === "Some") f(span.value)
    return Effect.void
  })

/**
 * Sets an attribute of the current span.
 *
 * @since 0.1.0
 * @category spans
 */
export const setAttribute = (key: string, value: unknown): Effect.Effect<void> =>
  withCurrentSpan((span) => span.attribute(toText(key), value))

/**
 * Sets attributes of the current span (added to, or replacing, those it has).
 *
 * @since 0.1.0
 * @category spans
 */
export const setAttributes = (attributes: Readonly<Record<string, unknown>>): Effect.Effect<void> =>
  withCurrentSpan((span) => {
    for (const [key, value] of ownEntries(attributes)) span.attribute(key, value)
  })

/**
 * Sets the MLflow span type of the current span.
 *
 * @since 0.1.0
 * @category spans
 */
export const setSpanType = (spanType: SpanType): Effect.Effect<void> =>
  setAttribute(SpanAttributeKey.SPAN_TYPE, spanType)

/**
 * Sets the log level of the current span (by default INFO for model, tool, retriever, agent and
 * embedding spans, DEBUG otherwise, ERROR when it failed).
 *
 * @since 0.1.0
 * @category spans
 */
export const setLogLevel = (level: keyof typeof SpanLogLevel): Effect.Effect<void> =>
  setAttribute(SpanAttributeKey.LOG_LEVEL, SpanLogLevel[level])

/**
 * Sets the inputs of the current span.
 *
 * @since 0.1.0
 * @category spans
 */
export const setInputs = (inputs: unknown): Effect.Effect<void> => setAttribute(SpanAttributeKey.INPUTS, inputs)

/**
 * Sets the outputs of the current span.
 *
 * @since 0.1.0
 * @category spans
 */
export const setOutputs = (outputs: unknown): Effect.Effect<void> => setAttribute(SpanAttributeKey.OUTPUTS, outputs)

/**
 * Records LLM token usage on the current span (`mlflow.chat.tokenUsage`). `total_tokens` defaults
 * to the sum of input and output tokens. The trace's usage is aggregated from its spans.
 *
 * @since 0.1.0
 * @category spans
 */
export const setTokenUsage = (
  usage: Omit<TokenUsage, "total_tokens"> & { readonly total_tokens?: number | undefined }
): Effect.Effect<void> =>
  Effect.suspend(() => {
    const snap = snapshot(usage)
    if (typeof snap !== "object" || snap === null || Array.isArray(snap)) return Effect.void
    const { input_tokens, output_tokens, total_tokens } = snap as Record<string, unknown>
    const total = total_tokens ?? (typeof input_tokens === "number" && typeof output_tokens === "number"
      ? input_tokens + output_tokens
      : undefined)
    return setAttribute(SpanAttributeKey.CHAT_USAGE, total === undefined ? snap : { ...snap, total_tokens: total })
  })

/**
 * What `updateCurrentTrace` can change.
 *
 * @since 0.1.0
 * @category models
 */
export interface TraceUpdate {
  /** mutable after export */
  readonly tags?: Readonly<Record<string, unknown>> | undefined
  /** immutable after export */
  readonly metadata?: Readonly<Record<string, unknown>> | undefined
  /** `mlflow.trace.session` */
  readonly sessionId?: string | undefined
  /** `mlflow.trace.user` */
  readonly user?: string | undefined
  readonly clientRequestId?: string | undefined
  readonly requestPreview?: string | undefined
  readonly responsePreview?: string | undefined
  /** overrides the state computed from the root span */
  readonly state?: "OK" | "ERROR" | undefined
}

/** Applies an update from user code; every value is read through the never-throwing snapshot. */
const applyUpdate = (updates: TraceUpdates, update: TraceUpdate): void => {
  const fields = new Map(ownEntries(update))
  for (const [key, value] of textEntries(fields.get("tags"))) updates.tags[key] = value
  for (const [key, value] of textEntries(fields.get("metadata"))) updates.metadata[key] = value
  const sessionId = optionalText(fields.get("sessionId"))
  const user = optionalText(fields.get("user"))
  const clientRequestId = optionalText(fields.get("clientRequestId"))
  const requestPreview = optionalText(fields.get("requestPreview"))
  const responsePreview = optionalText(fields.get("responsePreview"))
  const state = fields.get("state")
  if (sessionId !== undefined) updates.metadata[TraceMetadataKey.SESSION] = sessionId
  if (user !== undefined) updates.metadata[TraceMetadataKey.TRACE_USER] = user
  if (clientRequestId !== undefined) updates.clientRequestId = clientRequestId
  if (requestPreview !== undefined) updates.requestPreview = requestPreview
  if (responsePreview !== undefined) updates.responsePreview = responsePreview
  if (state === "OK" || state === "ERROR") updates.state = state
}

/**
 * Updates the trace of the current span: tags, metadata, session, user, client request id,
 * previews, state. Outside an MLflow trace it does nothing (and logs at debug level).
 *
 * @since 0.1.0
 * @category traces
 */
export const updateCurrentTrace = (update: TraceUpdate): Effect.Effect<void> =>
  Effect.flatMap(Effect.option(Effect.currentSpan), (span) => {
    if (span._tag === "Some" && span.value instanceof MlflowSpan) {
      applyUpdate(span.value.record.updates, update)
      return Effect.void
    }
    return Effect.logDebug("effect-mlflow: updateCurrentTrace outside of an MLflow trace is ignored")
  })

/**
 * The MLflow trace id (`tr-...`) of the current span.
 *
 * @since 0.1.0
 * @category traces
 */
export const currentTraceId: Effect.Effect<Option.Option<string>> = Effect.map(
  Effect.option(Effect.currentSpan),
  Option.flatMap((span) => span instanceof MlflowSpan ? Option.some(span.record.mlflowTraceId) : Option.none())
)

/**
 * The id of the trace whose root span ended last.
 *
 * @since 0.1.0
 * @category traces
 */
export const lastTraceId: Effect.Effect<Option.Option<string>> = Effect.flatMap(
  Effect.serviceOption(MlflowTracing),
  Option.match({ onNone: () => Effect.succeedNone, onSome: (service) => service.lastTraceId })
)

const lastTraceIdInFiberRef = globalValue(
  Symbol.for("effect-mlflow/lastTraceIdInFiber"),
  () => FiberRef.unsafeMake(Option.none<string>())
)

/**
 * The id of the last trace whose root `Mlflow.span` completed on this fiber (or on a fiber it was
 * forked from, before the fork). `lastTraceId` is the layer-wide equivalent.
 *
 * @since 0.1.0
 * @category traces
 */
export const lastTraceIdInFiber: Effect.Effect<Option.Option<string>> = FiberRef.get(lastTraceIdInFiberRef)

/**
 * What `withTraceContext` gives every trace started in its scope.
 *
 * @since 0.1.0
 * @category models
 */
export interface TraceContext extends Pick<TraceUpdate, "sessionId" | "user"> {
  readonly tags?: Readonly<Record<string, string>> | undefined
  readonly metadata?: Readonly<Record<string, string>> | undefined
  /** `false`: nothing in scope is traced */
  readonly enabled?: boolean | undefined
}

/**
 * Gives every trace started inside `self` the context's tags and metadata, session and user, or
 * disables tracing for it (MLflow's `tracing.context`). Nested scopes merge, the inner one winning.
 *
 * @since 0.1.0
 * @category traces
 */
export const withTraceContext: {
  (context: TraceContext): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, context: TraceContext): Effect.Effect<A, E, R>
} = dual(2, <A, E, R>(self: Effect.Effect<A, E, R>, context: TraceContext): Effect.Effect<A, E, R> => {
  const fields = new Map(ownEntries(context))
  if (fields.get("enabled") === false) return withoutTracing(self)
  return Effect.flatMap(FiberRef.get(FiberRef.currentTracerSpanAnnotations), (annotations) => {
    const outer = Option.getOrUndefined(HashMap.get(annotations, TRACE_CONTEXT_KEY)) as
      | { readonly tags: Record<string, string>; readonly metadata: Record<string, string> }
      | undefined
    const tags: Record<string, string> = { ...outer?.tags }
    const metadata: Record<string, string> = { ...outer?.metadata }
    for (const [key, value] of textEntries(fields.get("tags"))) setOwn(tags, key, value)
    for (const [key, value] of textEntries(fields.get("metadata"))) setOwn(metadata, key, value)
    const sessionId = optionalText(fields.get("sessionId"))
    const user = optionalText(fields.get("user"))
    if (sessionId !== undefined) metadata[TraceMetadataKey.SESSION] = sessionId
    if (user !== undefined) metadata[TraceMetadataKey.TRACE_USER] = user
    return Effect.annotateSpans(self, TRACE_CONTEXT_KEY, { tags, metadata })
  })
})

/**
 * Sets a tag of a trace, wherever it is: in progress, waiting in the export queue (it goes out with
 * the trace), being exported (set once it is stored) or stored.
 *
 * @since 0.1.0
 * @category traces
 */
export const setTraceTag = (
  traceId: string,
  key: string,
  value: string
): Effect.Effect<void, MlflowError, MlflowClient> => changeTag(traceId, key, value)

/**
 * Removes a tag of a trace, wherever it is (see `setTraceTag`).
 *
 * @since 0.1.0
 * @category traces
 */
export const deleteTraceTag = (traceId: string, key: string): Effect.Effect<void, MlflowError, MlflowClient> =>
  changeTag(traceId, key, undefined)

const changeTag = (rawTraceId: string, rawKey: string, rawValue: string | undefined) =>
  Effect.gen(function*() {
    const traceId = toText(rawTraceId)
    const key = safeKey(toText(rawKey))
    const value = rawValue === undefined ? undefined : toText(rawValue)
    const tracing = yield* Effect.serviceOption(MlflowTracing)
    const where = Option.isSome(tracing) ? yield* tracing.value.tagTrace(traceId, key, value) : "stored"
    if (where === "applied") return
    const client = yield* MlflowClient
    yield* value === undefined ? client.deleteTraceTag(traceId, key) : client.setTraceTag(traceId, key, value)
  })

/**
 * Exports every finished trace now and waits until the traces that ended before the call are
 * stored, failed or dropped (at most `timeout`, default 30 seconds); traces that other requests end
 * meanwhile are not waited for. Answers whether they were in time; `true` without a tracing layer.
 *
 * @since 0.1.0
 * @category traces
 */
export const flush = (timeout?: Duration.DurationInput): Effect.Effect<boolean> =>
  Effect.flatMap(
    Effect.serviceOption(MlflowTracing),
    Option.match({ onNone: () => Effect.succeed(true), onSome: (service) => service.flush(timeout) })
  )

/**
 * Runs `self` and then flushes, whatever its outcome (the serverless pattern: the trace of a
 * request is stored before the handler returns).
 *
 * @since 0.1.0
 * @category traces
 */
export const withFlush: {
  (timeout?: Duration.DurationInput): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, timeout?: Duration.DurationInput): Effect.Effect<A, E, R>
} = dual(
  (args) => Effect.isEffect(args[0]),
  <A, E, R>(self: Effect.Effect<A, E, R>, timeout?: Duration.DurationInput): Effect.Effect<A, E, R> =>
    Effect.ensuring(self, flush(timeout))
)

/**
 * Flushes when the current scope closes (for example a request scope), so it cannot be forgotten.
 *
 * @since 0.1.0
 * @category traces
 */
export const flushOnScopeClose = (timeout?: Duration.DurationInput): Effect.Effect<void, never, Scope.Scope> =>
  Effect.asVoid(Effect.addFinalizer(() => flush(timeout)))

/**
 * Runs `self` without recording spans (MLflow's `tracing.context(enabled=False)`): spans made
 * inside it are not traced, by this or any other tracer.
 *
 * @since 0.1.0
 * @category tracing
 */
export const withoutTracing = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.withTracerEnabled(self, false)

/**
 * Turns recording of new traces on or off for the whole tracing layer (traces in progress
 * finish). Without a tracing layer it does nothing.
 *
 * @since 0.1.0
 * @category tracing
 */
export const setTracingEnabled = (enabled: boolean): Effect.Effect<void> =>
  Effect.flatMap(
    Effect.serviceOption(MlflowTracing),
    Option.match({ onNone: () => Effect.void, onSome: (service) => service.setEnabled(enabled) })
  )

/**
 * Request headers as a server hands them over: a record (in any case, with Node's arrays) or a
 * `Headers` object. Also available as `TraceContext.IncomingHeaders`, the module of W3C propagation.
 *
 * @since 0.1.0
 * @category distributed tracing
 */
export type IncomingHeaders = Propagation.IncomingHeaders

/**
 * The W3C Trace Context headers of the current span, for a request to another service. Also
 * available as `TraceContext.traceHeaders`, where it is described in full.
 *
 * @since 0.1.0
 * @category distributed tracing
 */
export const traceHeaders: Effect.Effect<Readonly<Record<string, string>>> = Propagation.traceHeaders

/**
 * Runs `self` as part of the trace of the request it serves, as its W3C `traceparent` header says.
 * Also available as `TraceContext.continueTrace`, where it is described in full.
 *
 * @since 0.1.0
 * @category distributed tracing
 */
export const continueTrace: {
  (headers: IncomingHeaders): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, headers: IncomingHeaders): Effect.Effect<A, E, R>
} = Propagation.continueTrace
