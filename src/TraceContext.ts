/**
 * W3C Trace Context propagation (`traceparent` and `tracestate`): the headers of the current span for
 * a request to another service, and a request's headers continued as the trace they belong to, so
 * that the spans of several services make one trace.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as W3c from "./internal/tracing/traceContext.js"
import { MlflowSpan } from "./internal/tracing/tracer.js"

/**
 * Request headers as a server hands them over: a record (in any case, with Node's arrays) or a
 * `Headers` object.
 *
 * @since 0.2.0
 * @category models
 */
export type IncomingHeaders = W3c.IncomingHeaders

/**
 * The W3C Trace Context headers (`traceparent`, and `tracestate` when the trace came with one) of
 * the current span, for a request to another service: that service, if it continues the trace
 * (`TraceContext.continueTrace`, or any OpenTelemetry-instrumented server), adds its spans to this
 * trace, under the current span. The sampling decision travels with them (`-01` sampled, `-00` not).
 * Outside a span the record is empty. An `HttpClient` traced by Effect sends the same header itself.
 *
 * @example
 * import { Effect } from "effect"
 * import { Mlflow, TraceContext } from "effect-mlflow"
 *
 * const call = Effect.gen(function*() {
 *   const headers = yield* TraceContext.traceHeaders
 *   return yield* Effect.promise(() => fetch("http://localhost:8080/answer", { headers }))
 * }).pipe(Mlflow.span("call answer service"))
 *
 * @since 0.2.0
 * @category propagation
 */
export const traceHeaders: Effect.Effect<Readonly<Record<string, string>>> = Effect.map(
  Effect.option(Effect.currentParentSpan),
  (current) => {
    if (current._tag === "None") return {}
    const span = current.value
    return W3c.headersOf(
      span,
      span instanceof MlflowSpan ? span.record.traceState : W3c.traceStateOf(span)
    )
  }
)

/**
 * Runs `self` as part of the trace of the request it serves: the spans it makes join the caller's
 * trace, under the caller's span, as its W3C `traceparent` header says (the caller's `tracestate` is
 * passed on). Without a valid `traceparent`, `self` starts its own trace as usual. A continued
 * trace follows the caller's sampling decision, and its trace info (name, previews, tags, metadata)
 * is the caller's: this service exports its spans into the trace and writes no trace info for it.
 *
 * @example
 * import { Effect } from "effect"
 * import { Mlflow, TraceContext } from "effect-mlflow"
 *
 * // in a handler, given the request's headers
 * const handle = (headers: TraceContext.IncomingHeaders) =>
 *   Effect.succeed("MLflow is an open-source platform").pipe(
 *     Mlflow.span("answer", { spanType: "CHAIN" }),
 *     TraceContext.continueTrace(headers)
 *   )
 *
 * @since 0.2.0
 * @category propagation
 */
export const continueTrace: {
  (headers: IncomingHeaders): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, headers: IncomingHeaders): Effect.Effect<A, E, R>
} = dual(
  (args) => Effect.isEffect(args[0]),
  <A, E, R>(self: Effect.Effect<A, E, R>, headers: IncomingHeaders): Effect.Effect<A, E, R> =>
    Effect.suspend(() => {
      const parent = W3c.remoteParent(headers)
      return parent === undefined ? self : Effect.withParentSpan(self, parent)
    })
)
