import { describe, expect, it } from "@effect/vitest"
import { Effect, Logger, Redacted } from "effect"
import { Mlflow, MlflowTracing } from "../../src/index.js"
import { decodeRequest } from "../support/otlpDecode.js"
import { scopedProxy } from "../support/proxy.js"
import { mlflowUrl, postJson, pythonGetTraces, uniqueName } from "./helpers.js"

/**
 * A loopback proxy in front of the real MLflow server that records every request it forwards, and
 * answers the first `StartTraceV3` calls with the given statuses, echoing the `Authorization` header
 * in the error message (as a careless server or gateway might).
 */
const recordingProxy = (target: string, injected: ReadonlyArray<number>) => {
  let failures = 0
  return scopedProxy(
    target,
    ({ headers, url }) =>
      failures < injected.length && url.startsWith("/api/3.0/mlflow/traces")
        ? {
          status: injected[failures++],
          contentType: "application/json",
          body: JSON.stringify({ error_code: "TEMPORARILY_UNAVAILABLE", message: `echo ${headers.authorization}` })
        }
        : undefined
  ).pipe(Effect.map((proxy) => ({ url: proxy.url, recorded: proxy.requests })))
}

const captureLogs = () => {
  const lines: Array<string> = []
  const logger = Logger.make(({ annotations, cause, message }) => {
    lines.push(JSON.stringify({ message: String(message), annotations: [...annotations] }) + String(cause))
  })
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
}

describe("safety against a real MLflow server", () => {
  it.scopedLive("never puts planted secrets in exported payloads, logs or stored traces", () =>
    Effect.gen(function*() {
      const token = "tok-PLANTED-SECRET-1"
      const apiKey = "sk-PLANTED-SECRET-2"
      const password = "pw-PLANTED-SECRET-3"
      const proxy = yield* recordingProxy(mlflowUrl(), [401, 503, 503])
      const logs = captureLogs()
      const traceId = yield* Effect.gen(function*() {
        // the first trace meets the 401 (not retried, logged); the second the 503s (retried)
        yield* Effect.void.pipe(Mlflow.span("first"), Mlflow.withFlush())
        yield* Effect.gen(function*() {
          yield* Effect.log("calling the model").pipe(Effect.annotateLogs("authorization", `Bearer ${apiKey}`))
          yield* Mlflow.setAttribute("db.password", password)
          return { ok: true, key: Redacted.make(apiKey) }
        }).pipe(
          Mlflow.span("llm", { spanType: "LLM", inputs: { api_key: apiKey, prompt: "hi", config: { password } } })
        )
        return yield* Mlflow.lastTraceId
      }).pipe(
        Effect.provide(
          MlflowTracing.layer({
            trackingUri: proxy.url,
            experimentName: uniqueName("secrets"),
            token: Redacted.make(token),
            retryInitialDelay: "100 millis"
          })
        ),
        Effect.provide(logs.layer)
      )
      const id = traceId._tag === "Some" ? traceId.value : ""
      const [stored] = yield* pythonGetTraces(mlflowUrl(), [id])
      expect(stored.info.trace_id).toBe(id)

      const otlp = proxy.recorded.filter((r) => r.url === "/v1/traces")
      expect(otlp.length).toBeGreaterThan(0)
      const payloads = proxy.recorded.map((r) =>
        r.url === "/v1/traces"
          ? JSON.stringify(decodeRequest(new Uint8Array(r.body)), (_, v) => typeof v === "bigint" ? String(v) : v)
          : r.body.toString("utf8")
      )
      const headers = proxy.recorded.map((r) => JSON.stringify({ ...r.headers, authorization: undefined }))
      // the program's own log line carries the key it was given; every line effect-mlflow writes is checked
      const ours = logs.lines.filter((line) => line.includes("effect-mlflow"))
      expect(ours.some((line) => line.includes("401") && line.includes("<redacted>"))).toBe(true)
      const everything = [...payloads, ...headers, ...ours, JSON.stringify(stored)].join("\n")
      for (const secret of [token, apiKey, password]) expect(everything).not.toContain(secret)
      // the token was used where it belongs, and the retry path (which logs) ran
      expect(proxy.recorded.every((r) => r.headers.authorization === `Bearer ${token}`)).toBe(true)
      expect(proxy.recorded.filter((r) => r.url.startsWith("/api/3.0/mlflow/traces")).length).toBeGreaterThan(2)
      expect(everything).toContain("<redacted>")
    }))

  it.live("stores traces full of hostile values that MLflow's Python client reads back", () =>
    Effect.gen(function*() {
      const url = mlflowUrl()
      const cyclic: any = { name: "loop" }
      cyclic.self = cyclic
      const hostile = {
        cyclic,
        big: 2n ** 80n,
        symbol: Symbol("s"),
        fn: function handler() {},
        map: new Map([["k", new Set([1, 2])]]),
        date: new Date(0),
        error: new Error("outer", { cause: new Error("inner") }),
        bytes: Buffer.from([0, 1, 2, 255]),
        redacted: Redacted.make("hidden"),
        surrogates: "bad \uD800 pair \uDC00 end",
        nul: "a\u0000b",
        emoji: "👍🏽 ünïcode",
        huge: "z".repeat(5 * 1024 * 1024)
      }
      const traceId = yield* Effect.gen(function*() {
        yield* Effect.succeed(hostile).pipe(
          Mlflow.span("hostile", { spanType: "PARSER", inputs: hostile }),
          Effect.withSpan("root")
        )
        return yield* Mlflow.lastTraceId
      }).pipe(
        Effect.provide(
          MlflowTracing.layer({ trackingUri: url, experimentName: uniqueName("hostile") })
        )
      )
      const id = traceId._tag === "Some" ? traceId.value : ""
      const [trace] = yield* pythonGetTraces(url, [id])
      const span = trace.data.spans.find((s: any) => s.name === "hostile")
      const inputs = JSON.parse(span.attributes["mlflow.spanInputs"])
      expect(inputs.cyclic).toEqual({ name: "loop", self: "[Circular]" })
      expect(inputs.big).toBe("1208925819614629174706176")
      expect(inputs.symbol).toBe("s")
      expect(inputs.fn).toBe("[Function handler]")
      expect(inputs.map).toEqual({ k: [1, 2] })
      expect(inputs.date).toBe("1970-01-01T00:00:00.000Z")
      expect(inputs.error.cause.message).toBe("inner")
      expect(inputs.bytes).toEqual({ type: "Buffer", byteLength: 4, base64: "AAEC/w==" })
      expect(inputs.redacted).toBe("<redacted>")
      expect(inputs.surrogates).toBe("bad \uFFFD pair \uFFFD end")
      expect(inputs.nul).toBe("a\u0000b")
      expect(inputs.emoji).toBe("👍🏽 ünïcode")
      expect(inputs.huge).toMatch(/^z+\.\.\.\[truncated \d+ chars\]$/)
      expect(trace.info.state).toBe("OK")
      const truncation = JSON.parse(trace.info.trace_metadata["effect_mlflow.truncation"])
      expect(truncation.attributes_truncated).toBe(2) // the inputs and the outputs of the span
      expect(truncation.bytes_removed).toBe(2 * (5 * 1024 * 1024 - 1_000_000))
      expect(JSON.parse(span.attributes["effect_mlflow.truncated"])).toEqual({
        "mlflow.spanInputs": 5 * 1024 * 1024 - 1_000_000,
        "mlflow.spanOutputs": 5 * 1024 * 1024 - 1_000_000
      })
    }))

  it.live("reports an experiment id and name that disagree, once, without retrying", () =>
    Effect.gen(function*() {
      const url = mlflowUrl()
      const name = uniqueName("agree")
      yield* postJson(`${url}/api/2.0/mlflow/experiments/create`, { name })
      const logs = captureLogs()
      const stats = yield* Effect.gen(function*() {
        for (let i = 0; i < 3; i++) yield* Effect.void.pipe(Effect.withSpan(`t${i}`), Mlflow.withFlush())
        return yield* Effect.flatMap(MlflowTracing.MlflowTracing, (t) => t.stats)
      }).pipe(
        Effect.provide(
          MlflowTracing.layer({ trackingUri: url, experimentId: "0", experimentName: name })
        ),
        Effect.provide(logs.layer)
      )
      expect(stats.failed).toBe(3)
      expect(stats.retried).toBe(0)
      const errors = logs.lines.filter((line) => line.includes("disagree") || line.includes("different experiments"))
      expect(errors).toHaveLength(1)
      expect(errors[0]).toContain("MLFLOW_EXPERIMENT_ID (0)")
      expect(errors[0]).toContain(name)
    }))
})
