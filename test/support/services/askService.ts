/**
 * The calling service of the distributed-tracing test: one traced request to ANSWER_URL with
 * `@effect/platform`'s HttpClient (which sends the W3C `traceparent` of its span), exported to the
 * MLflow server in the environment; prints the trace id.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import { Effect, Layer, Option } from "effect"
import { Mlflow, MlflowTracingLive } from "../../../src/index.js"

const ask = Effect.gen(function*() {
  const client = yield* HttpClient.HttpClient
  const response = yield* client.get(process.env.ANSWER_URL!)
  return yield* response.json
}).pipe(Mlflow.span("ask", { spanType: "AGENT", inputs: { question: "What is MLflow?" } }))

const main = Effect.gen(function*() {
  yield* ask
  const traceId = Option.getOrThrow(yield* Mlflow.lastTraceId)
  yield* Mlflow.flush("60 seconds")
  process.stdout.write(JSON.stringify({ traceId }) + "\n")
})

await Effect.runPromise(main.pipe(Effect.provide(Layer.merge(MlflowTracingLive, FetchHttpClient.layer))))
