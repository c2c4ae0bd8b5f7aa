import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Redacted } from "effect"
import * as MlflowConfig from "../../src/MlflowConfig.js"

const fromEnv = (env: Record<string, string>) =>
  Effect.flatMap(MlflowConfig.fromEnv, MlflowConfig.make).pipe(
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
  )

const headersOf = (config: MlflowConfig.MlflowConfig) =>
  Object.fromEntries((config.otlp?.headers ?? []).map(([name, value]) => [name, Redacted.value(value)]))

describe("OTLP settings from the OpenTelemetry variables", () => {
  it.effect("none without an endpoint, or with MLFLOW_ENABLE_OTLP_EXPORTER=false", () =>
    Effect.gen(function*() {
      expect((yield* fromEnv({})).otlp).toBeUndefined()
      const off = yield* fromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", MLFLOW_ENABLE_OTLP_EXPORTER: "false" })
      expect(off.otlp).toBeUndefined()
    }))

  it.effect("the general endpoint gets /v1/traces, the traces endpoint is taken as is and wins", () =>
    Effect.gen(function*() {
      const general = yield* fromEnv({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318/",
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json"
      })
      expect(general.otlp?.url).toBe("http://c:4318/v1/traces")
      expect(general.otlp?.protocol).toBe("http/json")
      const both = yield* fromEnv({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://t:443/custom/path",
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/protobuf"
      })
      expect(both.otlp?.url).toBe("https://t/custom/path")
      expect(both.otlp?.protocol).toBe("http/protobuf")
    }))

  it.effect("gRPC by default, as in MLflow's Python SDK, to the endpoint's origin", () =>
    Effect.gen(function*() {
      const config = yield* fromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4317" })
      expect(config.otlp?.protocol).toBe("grpc")
      expect(config.otlp?.url).toBe("http://collector:4317")
    }))

  it.effect("headers, percent-decoded, the traces variable's over the general one's; all Redacted", () =>
    Effect.gen(function*() {
      const config = yield* fromEnv({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318",
        OTEL_EXPORTER_OTLP_HEADERS: "Authorization=Bearer%20general, x-team = search ",
        OTEL_EXPORTER_OTLP_TRACES_HEADERS: "authorization=Bearer%20traces%3D1"
      })
      expect(headersOf(config)).toEqual({ authorization: "Bearer traces=1", "x-team": "search" })
      expect(config.otlp?.headers.every(([, value]) => Redacted.isRedacted(value))).toBe(true)
      expect(JSON.stringify(config.otlp)).not.toContain("Bearer")
    }))

  it.effect("timeout in milliseconds, compression, resource attributes and the service name over them", () =>
    Effect.gen(function*() {
      const config = yield* fromEnv({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318",
        OTEL_EXPORTER_OTLP_TIMEOUT: "2500",
        OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: "1500",
        OTEL_EXPORTER_OTLP_COMPRESSION: "gzip",
        OTEL_RESOURCE_ATTRIBUTES: "service.name=from-resource,region=eu%2Dwest",
        OTEL_SERVICE_NAME: "from-service-name"
      })
      expect(Duration.toMillis(config.otlp!.timeout)).toBe(1500)
      expect(config.otlp?.compression).toBe("gzip")
      expect(config.otlp?.resourceAttributes).toEqual({ "service.name": "from-service-name", region: "eu-west" })
    }))

  it.effect("dual export and the GenAI conventions switches", () =>
    Effect.gen(function*() {
      const config = yield* fromEnv({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318",
        MLFLOW_TRACE_ENABLE_OTLP_DUAL_EXPORT: "true",
        MLFLOW_ENABLE_OTEL_GENAI_SEMCONV: "true"
      })
      expect(config.dualExport).toBe(true)
      expect(config.genAiSemanticConventions).toBe(true)
      expect((yield* fromEnv({})).dualExport).toBe(false)
    }))

  const failure = (env: Record<string, string>) => Effect.flip(fromEnv(env))

  it.effect("bad values are typed errors naming the variable, never echoing a header value", () =>
    Effect.gen(function*() {
      const base = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" }
      const protocol = yield* failure({ ...base, OTEL_EXPORTER_OTLP_PROTOCOL: "http/xml" })
      expect(protocol.setting).toContain("OTEL_EXPORTER_OTLP_PROTOCOL")
      const headers = yield* failure({ ...base, OTEL_EXPORTER_OTLP_HEADERS: "authorization=Bearer%ZZs3cret" })
      expect(headers.setting).toContain("OTEL_EXPORTER_OTLP_HEADERS")
      expect(headers.message).not.toContain("s3cret")
      const noEquals = yield* failure({ ...base, OTEL_EXPORTER_OTLP_HEADERS: "justatoken-s3cret" })
      expect(noEquals.message).not.toContain("s3cret")
      const timeout = yield* failure({ ...base, OTEL_EXPORTER_OTLP_TIMEOUT: "soon" })
      expect(timeout.setting).toContain("OTEL_EXPORTER_OTLP_TIMEOUT")
      const compression = yield* failure({ ...base, OTEL_EXPORTER_OTLP_COMPRESSION: "zstd" })
      expect(compression.setting).toContain("OTEL_EXPORTER_OTLP_COMPRESSION")
      const endpoint = yield* failure({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "collector:4317" })
      expect(endpoint.message).toContain("http(s)://")
      const credentials = yield* failure({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://user:s3cret@c:4318/v1/traces" })
      expect(credentials.message).toContain("OTEL_EXPORTER_OTLP_HEADERS")
      expect(credentials.message).not.toContain("s3cret")
    }))

  it.effect("options in code are checked the same way", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        MlflowConfig.make({ otlp: { endpoint: "http://c:4318", headers: { "bad header": "x" } } })
      )
      expect(error.setting).toContain("otlp.headers")
      const injected = yield* Effect.flip(
        MlflowConfig.make({ otlp: { endpoint: "http://c:4318", headers: { "x-a": "v\r\nx-b: injected" } } })
      )
      expect(injected.detail).toContain("line break")
    }))
})
