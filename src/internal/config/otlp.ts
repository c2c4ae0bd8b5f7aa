import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { scrub } from "../common/scrub.js"
import * as Variables from "./variables.js"

/** How spans travel to an OpenTelemetry collector. */
export type OtlpProtocol = "http/protobuf" | "http/json" | "grpc"

export const OTLP_PROTOCOLS: ReadonlyArray<OtlpProtocol> = ["http/protobuf", "http/json", "grpc"]

/** Export to an OTLP endpoint, as given in options or read from `OTEL_EXPORTER_OTLP_*`. */
export interface OtlpOptions {
  /** the traces URL (`http://collector:4318/v1/traces`), or for gRPC the collector's `http(s)://host:port` */
  readonly endpoint: string
  /** default `grpc`, as in MLflow's Python SDK */
  readonly protocol?: OtlpProtocol | undefined
  /** sent with every request; values are kept `Redacted` (they often hold API keys) */
  readonly headers?: Readonly<Record<string, string | Redacted.Redacted>> | undefined
  /** default `none` */
  readonly compression?: "gzip" | "none" | undefined
  /** one export request; default 10 seconds */
  readonly timeout?: Duration.DurationInput | undefined
  /** resource attributes of every span (`OTEL_RESOURCE_ATTRIBUTES`); `service.name` comes from `serviceName` */
  readonly resourceAttributes?: Readonly<Record<string, string>> | undefined
  /**
   * the largest encoded request (before compression): a batch or trace over it goes in several
   * requests; default 4 MiB, a gRPC collector's default message limit (`max_recv_msg_size_mib`)
   */
  readonly maxRequestBytes?: number | undefined
  /**
   * gRPC over TLS: a PEM file of the CAs the collector's certificate must chain to
   * (`OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE`); default the system's
   */
  readonly certificate?: string | undefined
}

/** Validated OTLP settings. */
export interface OtlpConfig {
  readonly protocol: OtlpProtocol
  /** http: the URL requests go to; grpc: the origin (`http(s)://host:port`) */
  readonly url: string
  readonly headers: ReadonlyArray<readonly [string, Redacted.Redacted]>
  readonly compression: "gzip" | "none"
  readonly timeout: Duration.Duration
  readonly resourceAttributes: Readonly<Record<string, string>>
  readonly maxRequestBytes: number
  /** path of a PEM file of CAs (gRPC over TLS) */
  readonly certificate: string | undefined
}

/** A gRPC server's default message limit, the OpenTelemetry Collector's too (its HTTP receiver takes 20 MiB). */
export const DEFAULT_MAX_REQUEST_BYTES = 4 * 1024 * 1024

export interface Problem {
  readonly setting: string
  readonly detail: string
}

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

const problem = (setting: string, detail: string) => Either.left<Problem>({ setting, detail })

/** Validates OTLP options; `setting` names where each came from in errors. */
export const validate = (options: OtlpOptions): Either.Either<OtlpConfig, Problem> => {
  const protocol = options.protocol ?? "grpc"
  if (!OTLP_PROTOCOLS.includes(protocol)) {
    return problem(
      "otlp.protocol (OTEL_EXPORTER_OTLP_TRACES_PROTOCOL)",
      `expected "http/protobuf", "http/json" or "grpc", got "${String(protocol)}"`
    )
  }
  const endpoint = options.endpoint.trim()
  let url: URL
  try {
    url = new URL(endpoint)
  } catch {
    url = undefined as never
  }
  if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
    return problem(
      "otlp.endpoint (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)",
      `expected an http(s):// URL, got "${scrub(endpoint)}"`
    )
  }
  const headers: Array<readonly [string, Redacted.Redacted]> = []
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (!HEADER_NAME.test(name)) {
      return problem("otlp.headers (OTEL_EXPORTER_OTLP_HEADERS)", `"${name}" is not a valid header name`)
    }
    const secret = Redacted.isRedacted(value) ? value : Redacted.make(value)
    if (/[\r\n\0]/.test(Redacted.value(secret))) {
      return problem("otlp.headers (OTEL_EXPORTER_OTLP_HEADERS)", `the value of "${name}" holds a line break`)
    }
    headers.push([name.toLowerCase(), secret])
  }
  const compression = options.compression ?? "none"
  if (compression !== "gzip" && compression !== "none") {
    return problem(
      "otlp.compression (OTEL_EXPORTER_OTLP_TRACES_COMPRESSION)",
      `expected "gzip" or "none", got "${String(compression)}"`
    )
  }
  const timeout = options.timeout === undefined
    ? Duration.seconds(10)
    : Option.getOrUndefined(Duration.decodeUnknown(options.timeout))
  if (timeout === undefined || !Duration.isFinite(timeout) || Duration.toMillis(timeout) <= 0) {
    return problem(
      "otlp.timeout (OTEL_EXPORTER_OTLP_TRACES_TIMEOUT)",
      `expected a finite duration greater than 0, got ${String(options.timeout)}`
    )
  }
  const maxRequestBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES
  if (!Number.isSafeInteger(maxRequestBytes) || maxRequestBytes < 64 * 1024) {
    return problem("otlp.maxRequestBytes", `expected a whole number of bytes, 65536 or more, got ${maxRequestBytes}`)
  }
  // user:password@ in the URL would be sent by no transport here: refused rather than ignored
  if (url.username !== "" || url.password !== "") {
    return problem(
      "otlp.endpoint (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)",
      "credentials in the URL are not sent; put them in a header (OTEL_EXPORTER_OTLP_HEADERS)"
    )
  }
  return Either.right({
    protocol,
    url: protocol === "grpc" ? url.origin : url.href,
    headers,
    compression,
    timeout,
    resourceAttributes: options.resourceAttributes ?? {},
    maxRequestBytes,
    certificate: options.certificate
  })
}

/** `key=value,key2=value2`, percent-decoded, as the OpenTelemetry specification writes lists. */
const keyValueList = (name: string) =>
  Variables.optional(
    name,
    Config.string(name).pipe(
      Config.mapOrFail((text) => {
        const entries: Record<string, string> = {}
        for (const item of text.split(",")) {
          if (item.trim() === "") continue
          const at = item.indexOf("=")
          const key = at < 0 ? "" : decode(item.slice(0, at).trim())
          const value = at < 0 ? undefined : decode(item.slice(at + 1).trim())
          if (key === undefined || key === "" || value === undefined) {
            // the value may be a secret: only the key (or the item's position) is named
            const which = at > 0 ? `"${item.slice(0, at).trim()}"` : "an item"
            return Either.left(
              ConfigError.InvalidData([], `${which} is not key=value with percent-encoded parts`)
            )
          }
          entries[key] = value
        }
        return Either.right(entries)
      })
    )
  )

const decode = (text: string): string | undefined => {
  try {
    return decodeURIComponent(text)
  } catch {
    return undefined
  }
}

const firstOf = <A>(...values: ReadonlyArray<A | undefined>): A | undefined => values.find((v) => v !== undefined)

/** `OTEL_EXPORTER_OTLP_TIMEOUT` is in milliseconds */
const millis = (name: string) =>
  Variables.optional(
    name,
    Config.number(name).pipe(
      Config.validate({ message: "expected a number of milliseconds greater than 0", validation: (n) => n > 0 }),
      Config.map(Duration.millis)
    )
  )

const protocolVariable = (name: string) => Variables.optional(name, Config.literal(...OTLP_PROTOCOLS)(name))
const compressionVariable = (name: string) => Variables.optional(name, Config.literal("gzip", "none")(name))

/**
 * The OTLP export settings from the OpenTelemetry variables, as MLflow's Python SDK reads them: an
 * endpoint from `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (as is) or `OTEL_EXPORTER_OTLP_ENDPOINT` (with
 * `/v1/traces`), the signal-specific variable over the general one for the rest; `undefined` when no
 * endpoint is set or `MLFLOW_ENABLE_OTLP_EXPORTER=false`.
 */
export const fromEnv: Config.Config<OtlpOptions | undefined> = Config.all({
  enabled: Variables.optional("MLFLOW_ENABLE_OTLP_EXPORTER", Config.boolean("MLFLOW_ENABLE_OTLP_EXPORTER")),
  tracesEndpoint: Variables.text("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
  endpoint: Variables.text("OTEL_EXPORTER_OTLP_ENDPOINT"),
  tracesProtocol: protocolVariable("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"),
  protocol: protocolVariable("OTEL_EXPORTER_OTLP_PROTOCOL"),
  tracesHeaders: keyValueList("OTEL_EXPORTER_OTLP_TRACES_HEADERS"),
  headers: keyValueList("OTEL_EXPORTER_OTLP_HEADERS"),
  tracesCompression: compressionVariable("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION"),
  compression: compressionVariable("OTEL_EXPORTER_OTLP_COMPRESSION"),
  tracesTimeout: millis("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"),
  timeout: millis("OTEL_EXPORTER_OTLP_TIMEOUT"),
  resource: keyValueList("OTEL_RESOURCE_ATTRIBUTES"),
  tracesCertificate: Variables.text("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE"),
  certificate: Variables.text("OTEL_EXPORTER_OTLP_CERTIFICATE")
}).pipe(Config.map((env): OtlpOptions | undefined => {
  const endpoint = env.tracesEndpoint ?? (env.endpoint === undefined
    ? undefined
    : env.endpoint.replace(/\/+$/, "") + "/v1/traces")
  if (endpoint === undefined || env.enabled === false) return undefined
  const headers = env.tracesHeaders === undefined && env.headers === undefined
    ? undefined
    : Object.fromEntries(
      Object.entries({ ...env.headers, ...env.tracesHeaders }).map(([key, value]) => [key, Redacted.make(value)])
    )
  return {
    endpoint,
    protocol: firstOf(env.tracesProtocol, env.protocol),
    headers,
    compression: firstOf(env.tracesCompression, env.compression),
    timeout: firstOf(env.tracesTimeout, env.timeout),
    resourceAttributes: env.resource,
    certificate: firstOf(env.tracesCertificate, env.certificate)
  }
}))
