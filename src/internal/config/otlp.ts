import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { scrub } from "../common/scrub.js"
import {
  envOf,
  given,
  type Group,
  type InputOf,
  labelOf,
  noVariable,
  type Problem,
  type Setting,
  setting
} from "./setting.js"
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

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

const label = (option: keyof typeof settings) => labelOf(`otlp.${option}`, settings[option])

const problem = (setting: string, detail: string) => Either.left<Problem>({ setting, detail })

/** Validates OTLP options; `setting` names where each came from in errors. */
export const validate = (options: OtlpOptions): Either.Either<OtlpConfig, Problem> => {
  const protocol = options.protocol ?? "grpc"
  if (!OTLP_PROTOCOLS.includes(protocol)) {
    return problem(
      label("protocol"),
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
      label("endpoint"),
      `expected an http(s):// URL, got "${scrub(endpoint)}"`
    )
  }
  const headers: Array<readonly [string, Redacted.Redacted]> = []
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (!HEADER_NAME.test(name)) {
      return problem(label("headers"), `"${name}" is not a valid header name`)
    }
    const secret = Redacted.isRedacted(value) ? value : Redacted.make(value)
    if (/[\r\n\0]/.test(Redacted.value(secret))) {
      return problem(label("headers"), `the value of "${name}" holds a line break`)
    }
    headers.push([name.toLowerCase(), secret])
  }
  const compression = options.compression ?? "none"
  if (compression !== "gzip" && compression !== "none") {
    return problem(
      label("compression"),
      `expected "gzip" or "none", got "${String(compression)}"`
    )
  }
  const timeout = options.timeout === undefined
    ? Duration.seconds(10)
    : Option.getOrUndefined(Duration.decodeUnknown(options.timeout))
  if (timeout === undefined || !Duration.isFinite(timeout) || Duration.toMillis(timeout) <= 0) {
    return problem(
      label("timeout"),
      `expected a finite duration greater than 0, got ${String(options.timeout)}`
    )
  }
  const maxRequestBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES
  if (!Number.isSafeInteger(maxRequestBytes) || maxRequestBytes < 64 * 1024) {
    return problem(label("maxRequestBytes"), `expected a whole number of bytes, 65536 or more, got ${maxRequestBytes}`)
  }
  // user:password@ in the URL would be sent by no transport here: refused rather than ignored
  if (url.username !== "" || url.password !== "") {
    return problem(
      label("endpoint"),
      `credentials in the URL are not sent; put them in a header (${envOf(settings.headers, 1)})`
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

/** `validate`, with `service.name` from `serviceName` among the resource attributes. */
export const check = (
  options: OtlpOptions | undefined,
  serviceName: string | undefined
): Either.Either<OtlpConfig | undefined, Problem> =>
  options === undefined ? Either.right(undefined) : Either.map(validate(options), (config) =>
    serviceName === undefined
      ? config
      : { ...config, resourceAttributes: { ...config.resourceAttributes, "service.name": serviceName } })

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

/** `OTEL_EXPORTER_OTLP_TIMEOUT` is in milliseconds */
const millis = (name: string) =>
  Variables.optional(
    name,
    Config.number(name).pipe(
      Config.validate({ message: "expected a number of milliseconds greater than 0", validation: (n) => n > 0 }),
      Config.map(Duration.millis)
    )
  )

/**
 * The OTLP settings, read as MLflow's Python SDK reads them: the signal-specific variable
 * (`…_TRACES_…`) over the general one; they are checked together, by `validate`.
 */
export const settings = {
  endpoint: setting<string>(Variables.text, given, {
    env: ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"],
    // the traces URL as is; the general one is a base URL
    combine: ([traces, base]) => traces ?? (base === undefined ? undefined : base.replace(/\/+$/, "") + "/v1/traces"),
    default: "none",
    doc: "export to an OpenTelemetry collector instead of MLflow: the traces URL as is, or the base URL " +
      "(`/v1/traces` is added); gRPC takes the origin"
  }),
  protocol: setting<OtlpProtocol>(Variables.literal(OTLP_PROTOCOLS), given, {
    env: ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"],
    default: "`grpc`, as MLflow's Python SDK",
    doc: "`grpc`, `http/protobuf` or `http/json` (the traces variable wins)"
  }),
  headers: setting<Readonly<Record<string, string | Redacted.Redacted>>>(keyValueList, given, {
    env: ["OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS"],
    named: 1,
    // both are read, the traces variable winning for a header both name
    combine: ([traces, general]) =>
      traces === undefined && general === undefined
        ? undefined
        : Object.fromEntries(
          Object.entries({ ...general, ...traces }).map(([key, value]) => [key, Redacted.make(value as string)])
        ),
    default: "",
    doc: "`key=value,...`, percent-decoded; values kept `Redacted` and scrubbed from errors"
  }),
  compression: setting<"gzip" | "none">(Variables.literal(["gzip", "none"]), given, {
    env: ["OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION"],
    default: "`none`",
    doc: "`gzip` or `none`"
  }),
  timeout: setting<Duration.DurationInput>(millis, given, {
    env: ["OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"],
    default: "10000",
    doc: "per export request, in milliseconds"
  }),
  resourceAttributes: setting<Readonly<Record<string, string>>>(keyValueList, given, {
    env: ["OTEL_RESOURCE_ATTRIBUTES"],
    default: "",
    doc: "`key=value,...` resource of the exported spans (`OTEL_SERVICE_NAME` wins for `service.name`)"
  }),
  maxRequestBytes: setting<number>(noVariable, given, {
    env: [],
    default: "4 MiB",
    doc: "largest request, encoded, before gzip: more goes in several (raise with the collector's " +
      "`max_recv_msg_size_mib`)"
  }),
  certificate: setting<string>(Variables.text, given, {
    env: ["OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "OTEL_EXPORTER_OTLP_CERTIFICATE"],
    default: "the system's",
    doc: "gRPC over TLS: a PEM file of the CAs the collector's certificate chains to"
  })
} satisfies { readonly [K in keyof OtlpOptions]-?: Setting<NonNullable<OtlpOptions[K]>, unknown> }

/** `false` leaves the OTLP variables unread, as when they are set for other telemetry. */
export const enabled: Setting<boolean, boolean | undefined> = setting<boolean>(Variables.boolean, given, {
  env: ["MLFLOW_ENABLE_OTLP_EXPORTER"],
  default: "`true`",
  doc: "`false` ignores the OTLP endpoint (set for other telemetry)"
})

/** The option from the variables: none without an endpoint. */
export const assemble = (values: InputOf<typeof settings>): OtlpOptions | undefined =>
  values.endpoint === undefined ? undefined : {
    endpoint: values.endpoint,
    protocol: values.protocol,
    headers: values.headers,
    compression: values.compression,
    timeout: values.timeout,
    resourceAttributes: values.resourceAttributes,
    certificate: values.certificate
  }

/** The OTLP settings as the `otlp` option. */
export const group: Group<typeof settings, OtlpOptions> = {
  _tag: "Group",
  settings,
  switch: enabled,
  assemble
}
