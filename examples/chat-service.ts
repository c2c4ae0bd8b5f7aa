/**
 * A chat service traced into MLflow, as in MLflow's production-monitoring guide:
 *
 * - `POST /chat` `{ "message": "..." }` answers with a (fake) model and traces the request, tagged
 *   with `X-Request-ID` (client request id), `X-Session-ID`, `X-User-ID`, environment and version;
 * - `POST /chat_feedback?client_request_id=...` `{ "rating": "good", "comment": "..." }` finds the
 *   trace of that request and logs the user's feedback on it (404 with a clear body if unknown).
 *
 * Run: `MLFLOW_TRACKING_URI=http://127.0.0.1:5000 MLFLOW_EXPERIMENT_NAME=chat tsx examples/chat-service.ts`
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Config, Effect, Layer, Option } from "effect"
import { createServer } from "node:http"
import { Assessment, Mlflow, MlflowClient, MlflowTracing, Search, SearchFilter } from "../src/index.js"

const ENVIRONMENT = process.env.APP_ENV ?? "development"
const VERSION = process.env.APP_VERSION ?? "1.0.0"

/** A deterministic stand-in for a chat model. */
const generate = (message: string) =>
  Effect.gen(function*() {
    yield* Mlflow.setTokenUsage({ input_tokens: message.split(/\s+/).length, output_tokens: 6 })
    return { choices: [{ message: { role: "assistant", content: `You said: ${message}` } }] }
  }).pipe(
    Mlflow.span("model", { spanType: "CHAT_MODEL", inputs: { messages: [{ role: "user", content: message }] } }),
    Effect.map((completion) => completion.choices[0].message.content)
  )

const experimentName = Config.option(Config.string("MLFLOW_EXPERIMENT_NAME"))
const experimentId = Config.option(Config.string("MLFLOW_EXPERIMENT_ID"))

const header = (request: HttpServerRequest.HttpServerRequest, name: string) => request.headers[name.toLowerCase()]

const chat = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const body = (yield* request.json) as { readonly message?: unknown }
  const message = typeof body.message === "string" ? body.message : ""
  const requestId = header(request, "X-Request-ID") ?? crypto.randomUUID()
  const response = yield* Effect.gen(function*() {
    yield* Mlflow.updateCurrentTrace({
      clientRequestId: requestId,
      sessionId: header(request, "X-Session-ID"),
      user: header(request, "X-User-ID"),
      tags: { environment: ENVIRONMENT, version: VERSION }
    })
    return yield* generate(message)
  }).pipe(Mlflow.span("chat", { spanType: "CHAIN", inputs: { message } }))
  return yield* HttpServerResponse.json({ response, request_id: requestId })
})

const feedback = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const clientRequestId = new URL(request.url, "http://localhost").searchParams.get("client_request_id")
  if (clientRequestId === null) {
    return yield* HttpServerResponse.json({ error: "client_request_id is required" }, { status: 400 })
  }
  const body = (yield* request.json) as {
    readonly rating?: unknown
    readonly comment?: unknown
    readonly user?: unknown
  }
  yield* Mlflow.flush() // the trace of a request that just finished may still be in the export queue
  const found = yield* Search.searchTraces({
    experimentNames: Option.toArray(yield* experimentName),
    experimentIds: Option.toArray(yield* experimentId),
    filter: SearchFilter.and(SearchFilter.clientRequestId.eq(clientRequestId)),
    includeSpans: false,
    maxResults: 1
  })
  const trace = found.traces[0]
  if (trace === undefined) {
    return yield* HttpServerResponse.json(
      { error: `no trace found for client_request_id ${JSON.stringify(clientRequestId)}` },
      { status: 404 }
    )
  }
  const assessment = yield* Assessment.logFeedback({
    traceId: trace.info.traceId,
    name: "user_feedback",
    value: typeof body.rating === "string" || typeof body.rating === "number" ? body.rating : null,
    rationale: typeof body.comment === "string" ? body.comment : undefined,
    source: { sourceType: "HUMAN", sourceId: typeof body.user === "string" ? body.user : "anonymous" }
  })
  return yield* HttpServerResponse.json({ trace_id: trace.info.traceId, assessment_id: assessment.assessmentId })
})

const router = HttpRouter.empty.pipe(
  HttpRouter.post("/chat", chat),
  HttpRouter.post("/chat_feedback", feedback),
  HttpRouter.catchAll((error) =>
    HttpServerResponse.json({ error: String((error as { message?: unknown }).message ?? error) }, { status: 500 })
  )
)

/**
 * The service on `port` (0 picks a free one), with MLflow tracing and client from the environment.
 */
export const ServiceLive = (port: number) =>
  router.pipe(
    HttpServer.serve(),
    // the platform's own request spans are off: each request's trace starts at its `chat` span
    HttpMiddleware.withTracerDisabledWhen(() => true),
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port, host: "127.0.0.1" })),
    Layer.provide(Layer.merge(MlflowTracing.MlflowTracingLive, MlflowClient.layerConfigFetch()))
  )

/** The address the service listens on. */
export const address = Effect.map(
  HttpServer.HttpServer,
  (server) => server.address._tag === "TcpAddress" ? `http://127.0.0.1:${server.address.port}` : ""
)

if (import.meta.url === `file://${process.argv[1]}`) {
  Layer.launch(HttpServer.withLogAddress(ServiceLive(Number(process.env.PORT ?? 8000)))).pipe(NodeRuntime.runMain)
}
