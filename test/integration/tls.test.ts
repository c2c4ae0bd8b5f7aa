import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Mlflow, MlflowConfig, MlflowTracing } from "../../src/index.js"
import { BEARER_TOKEN, makePki, type Pki, startNginx } from "../harness/nginx.js"
import { captureLogs, ownServer, storedNames, traceWithEnv, uniqueName } from "./helpers.js"

const firstAndSecond = Effect.forEach(["first", "second"], (name) => Effect.void.pipe(Mlflow.span(name)), {
  discard: true
})

/** Two traces through the layer configured from these environment variables alone; its stats after release. */
const traceTwoWithEnv = (env: Readonly<Record<string, string>>, logs = captureLogs()) =>
  Effect.map(traceWithEnv(env, firstAndSecond, logs), ({ stats }) => stats)

const proxied = Effect.gen(function*() {
  const server = yield* ownServer()
  const pki = makePki()
  const nginx = yield* Effect.acquireRelease(
    Effect.promise(() => startNginx(server.url, pki)),
    (running) => Effect.promise(running.stop)
  )
  return { upstream: server.url, pki, nginx }
})

/** Every trace stored through `url` with these settings, read back from the server directly. */
const storesThrough = (
  setup: { readonly upstream: string },
  url: string,
  env: Readonly<Record<string, string>>
) =>
  Effect.gen(function*() {
    const experimentName = uniqueName("tls")
    const logs = captureLogs()
    const stats = yield* traceTwoWithEnv(
      { MLFLOW_TRACKING_URI: url, MLFLOW_EXPERIMENT_NAME: experimentName, ...env },
      logs
    )
    expect(stats.exported, logs.lines.join("\n")).toBe(2)
    expect(stats.failed).toBe(0)
    expect(yield* storedNames(setup.upstream, experimentName)).toEqual(["first", "second"])
  })

/** No trace stored, one clear error naming `reason`, no retry. */
const refusedThrough = (
  setup: { readonly upstream: string },
  url: string,
  env: Readonly<Record<string, string>>,
  reason: string | RegExp
) =>
  Effect.gen(function*() {
    const experimentName = uniqueName("tls-refused")
    const logs = captureLogs()
    const stats = yield* traceTwoWithEnv({
      MLFLOW_TRACKING_URI: url,
      MLFLOW_EXPERIMENT_NAME: experimentName,
      MLFLOW_ASYNC_TRACE_LOGGING_RETRY_TIMEOUT: "30",
      ...env
    }, logs)
    expect(stats.exported, JSON.stringify(stats) + logs.lines.join("\n")).toBe(0)
    expect(stats.failed, JSON.stringify(stats) + logs.lines.join("\n")).toBe(2)
    expect(stats.retried).toBe(0)
    const errors = logs.lines.filter((line) => typeof reason === "string" ? line.includes(reason) : reason.test(line))
    expect(errors, logs.lines.join("\n")).toHaveLength(1)
    expect(yield* storedNames(setup.upstream, experimentName)).toEqual([])
    return errors[0]
  })

describe("TLS and reverse proxies (Debian's nginx in front of a real MLflow server)", () => {
  it.scopedLive("a custom CA, an unknown CA, the insecure flag", () =>
    Effect.gen(function*() {
      const setup = yield* proxied
      const { nginx, pki } = setup
      // the system's CAs do not know the test CA (first: once this process had used node:https, a
      // fetch to this host hung instead of failing; see the session note)
      const unknown = yield* refusedThrough(setup, nginx.tlsUrl, {}, "server certificate not trusted")
      expect(unknown).toContain("MLFLOW_TRACKING_SERVER_CERT_PATH")
      yield* storesThrough(setup, nginx.tlsUrl, { MLFLOW_TRACKING_SERVER_CERT_PATH: pki.ca })
      yield* storesThrough(setup, nginx.tlsUrl, { MLFLOW_TRACKING_INSECURE_TLS: "true" })
      // nor does a bundle of another CA
      yield* refusedThrough(setup, nginx.tlsUrl, { MLFLOW_TRACKING_SERVER_CERT_PATH: pki.otherCa }, "not trusted")
    }), 300_000)

  it.scopedLive("a client certificate, when the server requires one", () =>
    Effect.gen(function*() {
      const setup = yield* proxied
      const { nginx, pki } = setup
      yield* storesThrough(setup, nginx.mutualTlsUrl, {
        MLFLOW_TRACKING_SERVER_CERT_PATH: pki.ca,
        MLFLOW_TRACKING_CLIENT_CERT_PATH: pki.client
      })
      // without one, or with one of a CA it does not trust, nginx answers 400
      yield* refusedThrough(setup, nginx.mutualTlsUrl, { MLFLOW_TRACKING_SERVER_CERT_PATH: pki.ca }, "400")
      yield* refusedThrough(setup, nginx.mutualTlsUrl, {
        MLFLOW_TRACKING_SERVER_CERT_PATH: pki.ca,
        MLFLOW_TRACKING_CLIENT_CERT_PATH: pki.strangerClient
      }, "400")
    }), 300_000)

  it.scopedLive("a server under a path prefix; a proxy that checks a bearer token", () =>
    Effect.gen(function*() {
      const setup = yield* proxied
      yield* storesThrough(setup, setup.nginx.prefixedUrl, {})
      yield* storesThrough(setup, `${setup.nginx.prefixedUrl}/`, {})

      yield* storesThrough(setup, setup.nginx.bearerUrl, { MLFLOW_TRACKING_TOKEN: BEARER_TOKEN })
      const wrong = yield* refusedThrough(
        setup,
        setup.nginx.bearerUrl,
        { MLFLOW_TRACKING_TOKEN: "tok-wrong-PLANTED" },
        "401"
      )
      expect(wrong).toContain("bearer token required")
      expect(wrong).not.toContain("tok-wrong-PLANTED")
    }), 300_000)

  it.effect("TLS settings that cannot work are a typed error before anything is sent", () =>
    Effect.gen(function*() {
      const pki: Pki = makePki()
      const fails = (env: Readonly<Record<string, string>>) =>
        MlflowTracing.layerConfig().pipe(
          Layer.build,
          Effect.scoped,
          Effect.withConfigProvider(
            ConfigProvider.fromMap(new Map(Object.entries({ MLFLOW_TRACKING_URI: "https://127.0.0.1:1", ...env })))
          ),
          Effect.either,
          Effect.map((result) => {
            expect(Either.isLeft(result)).toBe(true)
            const error = (result as Either.Left<MlflowConfig.MlflowConfigError, unknown>).left
            expect(error._tag).toBe("MlflowConfigError")
            return error
          })
        )
      const both = yield* fails({ MLFLOW_TRACKING_SERVER_CERT_PATH: pki.ca, MLFLOW_TRACKING_INSECURE_TLS: "true" })
      expect(both.setting).toBe("insecureTls (MLFLOW_TRACKING_INSECURE_TLS)")
      const missing = yield* fails({ MLFLOW_TRACKING_SERVER_CERT_PATH: "/nonexistent/ca.pem" })
      expect(missing.setting).toBe("serverCertPath (MLFLOW_TRACKING_SERVER_CERT_PATH)")
      expect(missing.detail).toContain("/nonexistent/ca.pem")
      const notPem = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-notpem-")), "cert.pem")
      fs.writeFileSync(notPem, "hello")
      const garbage = yield* fails({ MLFLOW_TRACKING_CLIENT_CERT_PATH: notPem })
      expect(garbage.setting).toBe("clientCertPath (MLFLOW_TRACKING_CLIENT_CERT_PATH)")
      expect(garbage.detail).toContain("not a PEM file")
      const badFlag = yield* fails({ MLFLOW_TRACKING_INSECURE_TLS: "maybe" })
      expect(badFlag.setting).toContain("MLFLOW_TRACKING_INSECURE_TLS")
    }))
})
