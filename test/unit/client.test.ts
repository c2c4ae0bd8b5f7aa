import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option, Redacted } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { Mlflow, MlflowClient, MlflowTracing } from "../../src/index.js"
import { isTransient, parseRetryAfter } from "../../src/internal/client/errors.js"
import { artifactUrl } from "../../src/internal/client/url.js"
import { freeClosedPort } from "../support/ports.js"
import { recorder } from "../support/recorder.js"

const client = (options: MlflowClient.Options) => MlflowClient.make(options).pipe(Effect.provide(FetchHttpClient.layer))

describe("MlflowClient", () => {
  it.scoped("sends basic auth over the bearer token, as MLflow's Python client does", () =>
    Effect.gen(function*() {
      const server = yield* recorder(() => ({ status: 200, body: "{\"experiment\":{\"experiment_id\":\"4\"}}" }))
      const both = yield* client({
        trackingUri: server.url,
        username: "alice",
        password: Redacted.make("s3cret"),
        token: Redacted.make("tok")
      })
      yield* both.getExperimentByName("x")
      const tokenOnly = yield* client({ trackingUri: server.url, token: Redacted.make("tok") })
      yield* tokenOnly.getExperimentByName("x")
      assert.strictEqual(
        server.seen[0].headers.authorization,
        `Basic ${Buffer.from("alice:s3cret").toString("base64")}`
      )
      assert.strictEqual(server.seen[1].headers.authorization, "Bearer tok")
      assert.strictEqual(server.seen[0].url, "/api/2.0/mlflow/experiments/get-by-name?experiment_name=x")
      assert.isUndefined(server.seen[0].headers.traceparent, "our own calls carry no trace context")
    }))

  it.scoped("turns error answers into typed errors and knows which are transient", () =>
    Effect.gen(function*() {
      const statuses = [404, 400, 429, 503, 501]
      let i = 0
      const server = yield* recorder(() => ({
        status: statuses[i++],
        body: "{\"error_code\":\"RESOURCE_DOES_NOT_EXIST\",\"message\":\"no such thing\"}"
      }))
      const c = yield* client({ trackingUri: server.url })
      assert.isTrue(Option.isNone(yield* c.getExperimentByName("missing")))
      const errors = yield* Effect.forEach(statuses.slice(1), () => Effect.flip(c.getTraceInfo("tr-1")))
      assert.deepStrictEqual(errors.map((e) => e._tag === "MlflowApiError" && e.status), [400, 429, 503, 501])
      assert.deepStrictEqual(errors.map(isTransient), [false, true, true, false])
      assert.include(errors[0].message, "no such thing")
    }))

  it.effect("reports an unreachable server as a transient transport error", () =>
    Effect.gen(function*() {
      const c = yield* client({ trackingUri: "http://127.0.0.1:9", requestTimeout: "2 seconds" })
      const error = yield* Effect.flip(c.getTraceInfo("tr-1"))
      assert.strictEqual(error._tag, "MlflowTransportError")
      assert.isTrue(isTransient(error))
    }))

  it("treats MLflow's database-overload 400s as transient, other 400s as permanent", () => {
    const error = (detail: string) =>
      new MlflowClient.MlflowApiError({
        reason: "Status",
        method: "POST",
        url: "u",
        status: 400,
        errorCode: "BAD_REQUEST",
        detail
      })
    assert.isTrue(
      isTransient(error("QueuePool limit of size 5 overflow 10 reached, connection timed out"))
    )
    assert.isTrue(isTransient(error("(sqlite3.OperationalError) database is locked")))
    assert.isFalse(isTransient(error("Invalid value for experiment_id")))
  })

  it("treats MLflow's 500 INVALID_STATE (spans for an archived trace) as permanent, other 500s as transient", () => {
    const error = (errorCode: string) =>
      new MlflowClient.MlflowApiError({
        reason: "Status",
        method: "POST",
        url: "u",
        status: 500,
        errorCode,
        detail: "d"
      })
    assert.isFalse(isTransient(error("INVALID_STATE")))
    assert.isTrue(isTransient(error("INTERNAL_ERROR")))
  })

  it("parses Retry-After as seconds or as an HTTP date", () => {
    assert.strictEqual(parseRetryAfter("30"), 30_000)
    assert.strictEqual(
      parseRetryAfter("Wed, 21 Oct 2015 07:28:10 GMT", Date.UTC(2015, 9, 21, 7, 28, 0)),
      10_000
    )
    assert.isUndefined(parseRetryAfter("soon"))
    assert.isUndefined(parseRetryAfter(undefined))
  })

  it("resolves artifact locations", () => {
    assert.deepStrictEqual(
      artifactUrl("http://h:5000", "mlflow-artifacts:/1/traces/tr-x/artifacts", "traces.json"),
      "http://h:5000/api/2.0/mlflow-artifacts/artifacts/1/traces/tr-x/artifacts/traces.json"
    )
    assert.deepStrictEqual(
      artifactUrl("http://h", "mlflow-artifacts://host:1/2/a", "f"),
      "http://h/api/2.0/mlflow-artifacts/artifacts/2/a/f"
    )
    assert.isUndefined(artifactUrl("http://h", "/local/path", "f"))
  })

  it.scoped("sends through the HttpClient it is given, changed by transformClient", () =>
    Effect.gen(function*() {
      const server = yield* recorder(() => ({ status: 200, body: "{\"experiment\":{\"experiment_id\":\"4\"}}" }))
      const c = yield* client({
        trackingUri: server.url,
        transformClient: HttpClient.mapRequest(HttpClientRequest.setHeader("x-through", "proxy"))
      })
      yield* c.getExperimentByName("x")
      assert.strictEqual(server.seen[0].headers["x-through"], "proxy")
    }))

  it.scoped("sends the workspace header on every call but the workspace administration endpoints", () =>
    Effect.gen(function*() {
      const server = yield* recorder(() => ({ status: 200, body: "{\"experiment\":{\"experiment_id\":\"4\"}}" }))
      const c = yield* client({ trackingUri: server.url, workspace: "team-a" })
      yield* c.getExperimentByName("x")
      yield* Effect.ignore(c.request("GET", "/api/3.0/mlflow/workspaces/team-a"))
      const plain = yield* client({ trackingUri: server.url })
      yield* plain.getExperimentByName("x")
      assert.deepStrictEqual(server.seen.map((seen) => seen.headers["x-mlflow-workspace"]), [
        "team-a",
        undefined,
        undefined
      ])
    }))

  it.scopedLive("the tracing layer can export through the MlflowClient in context", () =>
    Effect.gen(function*() {
      const server = yield* recorder((seen) => ({
        status: 200,
        body: seen.url.startsWith("/api/3.0/mlflow/traces") ? "{\"trace\":{\"trace_info\":{\"tags\":{}}}}" : "{}"
      }))
      const tracing = MlflowTracing.layerWithClient({ experimentId: "7" }).pipe(
        Layer.provide(
          MlflowClient.layer({
            trackingUri: server.url,
            transformClient: HttpClient.mapRequest(HttpClientRequest.setHeader("x-through", "proxy"))
          })
        ),
        Layer.provide(FetchHttpClient.layer)
      )
      yield* Effect.void.pipe(Mlflow.span("through a proxy"), Effect.provide(tracing))
      const paths = server.seen.map((seen) => `${seen.url} ${seen.headers["x-through"]}`)
      assert.deepStrictEqual(paths, ["/v1/traces proxy", "/api/3.0/mlflow/traces proxy"])
      assert.strictEqual(server.seen[0].headers["x-mlflow-experiment-id"], "7")
    }))

  it.scoped("fails with reason Decode, not to be retried, on an answer of another shape", () =>
    Effect.gen(function*() {
      const server = yield* recorder(() => ({ status: 200, body: "{\"experiment\":{\"experiment_id\":[1,2]}}" }))
      const c = yield* client({ trackingUri: server.url })
      const error = yield* Effect.flip(c.getExperimentByName("x"))
      assert.strictEqual(error._tag, "MlflowTransportError")
      assert.strictEqual(error.reason, "Decode")
      assert.include(error.message, "experiment.experiment_id")
      assert.isFalse(isTransient(error))
      const notJson = yield* recorder(() => ({ status: 200, body: "<html>login</html>" }))
      const d = yield* client({ trackingUri: notJson.url })
      const html = yield* Effect.flip(d.getExperimentByName("x"))
      assert.strictEqual(html.reason, "Decode")
    }))

  it.scoped("names the reason of a failure: Transport with what failed, Timeout, Status", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(freeClosedPort)
      const refused = yield* Effect.flip(
        (yield* client({ trackingUri: `http://127.0.0.1:${port}` })).getTraceInfo("tr-1")
      )
      assert.strictEqual(refused.reason, "Transport")
      assert.strictEqual(refused._tag === "MlflowTransportError" && refused.description, "connection refused")
      const server = yield* recorder(() => ({ status: 403, body: "{\"error_code\":\"PERMISSION_DENIED\"}" }))
      const denied = yield* Effect.flip((yield* client({ trackingUri: server.url })).getTraceInfo("tr-1"))
      assert.strictEqual(denied.reason, "Status")
      assert.isFalse(isTransient(denied))
    }))

  it.live("a request that outlives its timeout fails with reason Timeout, to be retried", () =>
    Effect.gen(function*() {
      const hanging = http.createServer(() => {})
      yield* Effect.acquireRelease(
        Effect.async<void>((resume) => void hanging.listen(0, "127.0.0.1", () => resume(Effect.void))),
        () => Effect.sync(() => (hanging.closeAllConnections(), hanging.close()))
      )
      const port = (hanging.address() as AddressInfo).port
      const c = yield* client({ trackingUri: `http://127.0.0.1:${port}`, requestTimeout: "200 millis" })
      const error = yield* Effect.flip(c.getTraceInfo("tr-1"))
      assert.strictEqual(error.reason, "Timeout")
      assert.isTrue(isTransient(error))
    }).pipe(Effect.scoped))
})
