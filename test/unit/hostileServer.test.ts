import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Logger, Redacted } from "effect"
import * as http from "node:http"
import * as net from "node:net"
import type { AddressInfo } from "node:net"
import { MlflowClient, MlflowConfig, MlflowTracing } from "../../src/index.js"
import { freeClosedPort } from "../support/ports.js"
import { recorder } from "../support/recorder.js"

/** A loopback server whose handler misbehaves as told; closed with the scope. */
const misbehaving = (handler: http.RequestListener) =>
  Effect.acquireRelease(
    Effect.async<{ url: string; server: http.Server }>((resume) => {
      const server = http.createServer(handler)
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server })))
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() =>
          resume(Effect.void)
        )
      })
  )

/** Log lines (level and text) of everything run with it. */
const captureLogs = () => {
  const lines: Array<{ readonly level: string; readonly text: string }> = []
  const logger = Logger.make(({ logLevel, message }) => {
    const text = (Array.isArray(message) ? message : [message]).map(String).join(" ")
    lines.push({ level: logLevel.label, text })
  })
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
}

const client = (options: MlflowClient.Options) => MlflowClient.make(options).pipe(Effect.provide(FetchHttpClient.layer))

const traces = (n: number) =>
  Effect.forEach(Array.from({ length: n }, (_, i) => i), (i) => Effect.void.pipe(Effect.withSpan(`t${i}`)), {
    discard: true
  })

describe("a hostile server", () => {
  /**
   * A server answering 200 with 300 MiB of body (`declare`: with that Content-Length, else chunked);
   * the client must refuse it as too large after reading no more than its cap, promptly.
   */
  const tooLarge = (declare: boolean) =>
    Effect.gen(function*() {
      let sent = 0
      const total = 300 * 1024 * 1024
      const chunk = Buffer.alloc(1024 * 1024, 0x61)
      const server = yield* misbehaving((_req, res) => {
        res.writeHead(200, {
          "content-type": "application/json",
          ...(declare ? { "content-length": String(total) } : {})
        })
        const pump = () => {
          while (sent < total) {
            sent += chunk.length
            if (!res.write(chunk)) return void res.once("drain", pump)
          }
          res.end()
        }
        res.on("close", () => res.removeAllListeners("drain"))
        pump()
      })
      const mlflow = yield* client({ trackingUri: server.url })
      const started = Date.now()
      const exit = yield* Effect.exit(mlflow.getExperimentByName("x"))
      const elapsed = Date.now() - started
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
        assert.strictEqual(error?._tag, "MlflowApiError")
        assert.strictEqual((error as MlflowClient.MlflowApiError).errorCode, "ANSWER_TOO_LARGE")
      }
      assert.isBelow(elapsed, 5000)
      // what the server got out before it saw the client stop reading: the cap plus socket buffers
      yield* Effect.sleep("200 millis")
      assert.isBelow(sent, 64 * 1024 * 1024, `the server sent ${sent} bytes`)
    })

  it.scopedLive("answering 200 with an endless body: the client reads a few MiB and stops", () => tooLarge(false))

  it.scopedLive(
    "declaring a 300 MiB answer: the client reads up to its cap, not the declared length",
    () => tooLarge(true)
  )

  it.scopedLive("declaring a shorter answer than it sends: only the declared bytes are read", () =>
    Effect.gen(function*() {
      const server = yield* Effect.acquireRelease(
        Effect.async<net.Server>((resume) => {
          const s = net.createServer((socket) => {
            socket.on("error", () => {})
            socket.once("data", () => {
              const answer = JSON.stringify({ experiment: { a: 1 } })
              socket.write(
                `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${answer.length}\r\n\r\n`
              )
              socket.write(answer + "x".repeat(8 * 1024 * 1024))
            })
          })
          s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
        }),
        (s) => Effect.async<void>((resume) => void s.close(() => resume(Effect.void)))
      )
      const mlflow = yield* client({ trackingUri: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })
      const exit = yield* Effect.exit(mlflow.request("GET", "/api/2.0/mlflow/experiments/get"))
      assert.deepStrictEqual(exit, Exit.succeed({ experiment: { a: 1 } }))
    }))

  it.scopedLive("answering 403 with a unique request id each time: one ERROR line, not one per batch", () =>
    Effect.gen(function*() {
      let n = 0
      const server = yield* recorder(() => ({
        status: 403,
        body: JSON.stringify({
          error_code: "PERMISSION_DENIED",
          message: `denied (request id ${++n}-${Math.random()})`
        })
      }))
      const logs = captureLogs()
      yield* traces(20).pipe(
        Effect.provide(
          MlflowTracing.layer({ trackingUri: server.url, experimentId: "1", batchSize: 1, workers: 2 })
        ),
        Effect.provide(logs.layer)
      )
      const errors = logs.lines.filter((line) => line.level === "ERROR" && line.text.includes("cannot export"))
      assert.isAbove(n, 1)
      assert.strictEqual(errors.length, 1, errors.map((line) => line.text).join("\n"))
    }))

  it.scopedLive("never answering: release finishes within shutdownTimeout", () =>
    Effect.gen(function*() {
      const server = yield* misbehaving(() => {
        // never answers
      })
      const started = Date.now()
      yield* traces(5).pipe(
        Effect.provide(
          MlflowTracing.layer({ trackingUri: server.url, experimentId: "1", shutdownTimeout: "1 second" })
        ),
        Effect.provide(Logger.remove(Logger.defaultLogger))
      )
      assert.isBelow(Date.now() - started, 2500)
    }))
})

describe("credentials in the tracking URI", () => {
  it.scopedLive("are sent as Basic auth, as MLflow's Python client does, and scrubbed from errors", () =>
    Effect.gen(function*() {
      const server = yield* recorder((seen) => ({
        status: 500,
        body: `upstream said: ${seen.headers.authorization} ${seen.url} p@ss:word p%40ss%3Aword`
      }))
      const uri = server.url.replace("http://", "http://alice:p%40ss%3Aword@")
      const mlflow = yield* client({ trackingUri: uri })
      const exit = yield* Effect.exit(mlflow.getExperimentByName("x"))
      assert.strictEqual(
        server.seen[0].headers.authorization,
        `Basic ${Buffer.from("alice:p@ss:word").toString("base64")}`
      )
      assert.isTrue(Exit.isFailure(exit))
      const text = String(exit) + (Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error.message : "")
      assert.include(text, "500")
      for (const secret of ["p@ss:word", "p%40ss%3Aword", Buffer.from("alice:p@ss:word").toString("base64")]) {
        assert.notInclude(text, secret)
      }
    }))

  it.effect("never appear in a configuration error", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(MlflowConfig.make({ trackingUri: "http://alice:hunter22@bad host/" }))
      assert.notInclude(error.message, "hunter22")
      assert.include(error.message, "<redacted>")
    }))

  it.effect("explicit username and password win over the URI's", () =>
    Effect.gen(function*() {
      const config = yield* MlflowConfig.make({
        trackingUri: "http://alice:fromuri@127.0.0.1:5000",
        username: "bob",
        password: Redacted.make("explicit")
      })
      assert.strictEqual(config.username, "bob")
      assert.strictEqual(
        config.destination._tag === "Server" && config.destination.trackingUri,
        "http://127.0.0.1:5000"
      )
      const fromUri = yield* MlflowConfig.make({ trackingUri: "http://alice:fromuri@127.0.0.1:5000" })
      assert.strictEqual(fromUri.username, "alice")
      assert.strictEqual(fromUri.password && Redacted.value(fromUri.password), "fromuri")
      assert.notInclude(JSON.stringify(fromUri.destination), "fromuri")
    }))

  it.scopedLive("a server that cannot be reached: one early warning with the cause, no password", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(freeClosedPort)
      const logs = captureLogs()
      yield* traces(10).pipe(
        Effect.provide(
          MlflowTracing.layer({
            trackingUri: `http://alice:hunter22@127.0.0.1:${port}`,
            experimentId: "1",
            batchSize: 1,
            shutdownTimeout: "1500 millis"
          })
        ),
        Effect.provide(logs.layer)
      )
      const warnings = logs.lines.filter((line) => line.text.includes("connection refused"))
      assert.strictEqual(warnings.length, 1, logs.lines.map((line) => line.text).join("\n"))
      assert.include(warnings[0].text, "retrying")
      for (const line of logs.lines) assert.notInclude(line.text, "hunter22")
    }))
})
