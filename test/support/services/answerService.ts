/**
 * The called service of the distributed-tracing test: an `@effect/platform` HTTP server on PORT that
 * continues the caller's trace (`HttpTracing.middleware`) and exports to the MLflow server in the
 * environment. Stops on SIGTERM, after its traces are exported.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect, Layer } from "effect"
import * as http from "node:http"
import { HttpTracing, Mlflow, MlflowTracingLive } from "../../../src/index.js"

const retrieve = (question: string) =>
  Effect.succeed([{ page_content: `${question} MLflow is an open-source platform.` }]).pipe(
    Mlflow.span("retrieve", { spanType: "RETRIEVER", inputs: { question } })
  )

const router = HttpRouter.empty.pipe(
  HttpRouter.get(
    "/answer",
    Effect.gen(function*() {
      const documents = yield* retrieve("What is MLflow?")
      return yield* HttpServerResponse.json({ answer: documents[0].page_content })
    })
  )
)

const server = HttpServer.serve(HttpTracing.middleware(router)).pipe(
  Layer.provide(NodeHttpServer.layer(() => http.createServer(), { port: Number(process.env.PORT), host: "127.0.0.1" })),
  Layer.provide(MlflowTracingLive)
)

Layer.launch(server).pipe(NodeRuntime.runMain)
