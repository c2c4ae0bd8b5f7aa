/**
 * Distributed tracing for `@effect/platform` HTTP servers: each request served becomes a span in
 * the caller's trace, so that a client service and the services it calls give one trace in MLflow,
 * with one trace info, written by the service where the trace began.
 *
 * @since 0.1.0
 */
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Effect from "effect/Effect"
import * as W3c from "./internal/tracing/traceContext.js"
import { MlflowSpan } from "./internal/tracing/tracer.js"
import * as Mlflow from "./Mlflow.js"

/**
 * An HTTP middleware that serves each request in an MLflow span (named `<METHOD> <path>`, inputs
 * the method and path, outputs the response status) continuing the caller's trace from its W3C
 * `traceparent` and `tracestate` headers (`Mlflow.continueTrace`); a request without them starts a
 * trace of its own. `@effect/platform`'s own server span (on unless disabled) stays the parent of
 * this one, in the same trace.
 *
 * @example
 * import { HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
 * import { HttpTracing } from "effect-mlflow"
 *
 * const app = HttpRouter.empty.pipe(
 *   HttpRouter.get("/answer", HttpServerResponse.text("MLflow is an open-source platform")),
 *   HttpTracing.middleware
 * )
 * const served = HttpServer.serve(app)
 *
 * @since 0.1.0
 * @category middleware
 */
export const middleware = <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R> =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const path = request.url.split("?")[0]
    const served = app.pipe(
      Effect.tap((response) => Mlflow.setOutputs({ status: response.status })),
      Mlflow.span(`${request.method} ${path}`, {
        spanType: "CHAIN",
        kind: "server",
        inputs: { method: request.method, path },
        captureOutputs: false,
        captureStackTrace: false
      })
    )
    return Effect.flatMap(Effect.option(Effect.currentParentSpan), (current) => {
      const remote = W3c.remoteParent(request.headers)
      if (remote === undefined) return served
      if (current._tag === "Some" && current.value.traceId === remote.traceId) {
        // the platform's server span already continued the trace; it had no use for tracestate
        const span = current.value
        if (span instanceof MlflowSpan) span.record.traceState ??= W3c.traceStateOf(remote)
        return served
      }
      return Effect.withParentSpan(served, remote)
    })
  })
