import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type { OtlpConfig } from "../../MlflowConfig.js"
import type { SpanData, Trace } from "../../Trace.js"
import { headerSecrets, scrub } from "../common/scrub.js"
import { ExportError, type Sink } from "../export/sink.js"
import { encodeTraceRequestYielding, type Resource } from "../format/otlp.js"
import { encodeTraceRequestJson } from "../format/otlpJson.js"
import type { ExportAnswer } from "../format/otlpResponse.js"
import { plainAttributes } from "../format/plainAttributes.js"
import { isolating } from "./isolate.js"
import { continuesRemote, withTraceInfoOnRoot } from "./spansOnly.js"

/** A failed export request: `refusesBatch` when the collector refused it for what it holds (400, 413). */
export interface TransportFailure {
  readonly error: ExportError
  readonly refusesBatch: boolean
}

/** One way of sending an encoded `ExportTraceServiceRequest` (HTTP, gRPC). */
export interface Transport {
  /** `body` is already compressed when `compression` is `gzip`; the sink bounds each call by `timeout` */
  readonly send: (body: Uint8Array) => Effect.Effect<ExportAnswer, TransportFailure>
  readonly probe: Effect.Effect<boolean>
}

/** The resource of the spans: OpenTelemetry's SDKs name a service even when the user does not. */
export const resourceOf = (config: OtlpConfig): Resource => ({
  attributes: {
    "service.name": "unknown_service:node",
    ...config.resourceAttributes,
    "telemetry.sdk.name": "effect-mlflow",
    "telemetry.sdk.language": "nodejs"
  }
})

const encoder = new TextEncoder()

/** spans with their attributes as OpenTelemetry defines them (see `plainAttributes`) */
const plainSpans = (spans: ReadonlyArray<SpanData>): ReadonlyArray<SpanData> =>
  spans.map((span) => {
    const attributes = plainAttributes(span.attributes)
    const events = span.events.map((event) => {
      const eventAttributes = plainAttributes(event.attributes)
      return eventAttributes === event.attributes ? event : { ...event, attributes: eventAttributes }
    })
    const links = span.links?.map((link) => {
      const linkAttributes = plainAttributes(link.attributes)
      return linkAttributes === link.attributes ? link : { ...link, attributes: linkAttributes }
    })
    return attributes === span.attributes && events.every((event, i) => event === span.events[i]) &&
        (links === undefined || links.every((link, i) => link === span.links![i]))
      ? span
      : { ...span, attributes, events, ...(links === undefined ? {} : { links }) }
  })

/**
 * The OTLP sink: the spans of a batch in one `ExportTraceServiceRequest`, with what MLflow keeps as
 * trace info on the root span (tags, name, session, user), so that a collector forwarding them to
 * MLflow's `/v1/traces` stores the trace whole; a continued trace's spans go as they are (its info
 * is the originating service's). `translate` rewrites spans on the way (GenAI conventions).
 */
export const make = (
  config: OtlpConfig,
  transport: Transport,
  translate: (spans: ReadonlyArray<SpanData>) => ReadonlyArray<SpanData> = (spans) => spans
): Sink => {
  const resource = resourceOf(config)
  const encode = (spans: ReadonlyArray<SpanData>): Effect.Effect<Uint8Array> =>
    config.protocol === "http/json"
      ? Effect.sync(() => encoder.encode(encodeTraceRequestJson(spans, resource)))
      : encodeTraceRequestYielding(spans, resource)

  const partialSuccess = (answer: ExportAnswer) =>
    answer.rejectedSpans === 0 && answer.errorMessage === ""
      ? Effect.void
      : Effect.logWarning(
        `effect-mlflow: the OTLP collector took the export but rejected ${answer.rejectedSpans} span(s)` +
          (answer.errorMessage === "" ? "" : `: ${scrubFor(config)(answer.errorMessage)}`)
      )

  const timedOut: TransportFailure = {
    refusesBatch: false,
    error: scrubbedError(config, {
      detail: `export to ${config.url} timed out after ${Duration.format(config.timeout)}`,
      retryable: true,
      reason: "timed out"
    })
  }
  const sendSpans = (spans: ReadonlyArray<SpanData>) =>
    Effect.suspend(() => encode(plainSpans(translate(spans)))).pipe(
      Effect.flatMap((body) =>
        config.compression === "gzip" ? Effect.flatMap(gzip(body), transport.send) : transport.send(body)
      ),
      Effect.timeoutFail({ duration: config.timeout, onTimeout: () => timedOut }),
      Effect.flatMap(partialSuccess)
    )

  const send = isolating({
    send: (traces: ReadonlyArray<Trace>) =>
      sendSpans(traces.flatMap((trace) => continuesRemote(trace) ? trace.spans : withTraceInfoOnRoot(trace))),
    refused: (failure: TransportFailure) => failure.refusesBatch ? failure.error : undefined,
    both: () => undefined,
    alone: undefined
  })

  return {
    export: (traces) =>
      send(traces).pipe(
        Effect.map(({ rejected }) => ({ rejected })),
        Effect.mapError((failure) => failure.error)
      ),
    exportLateSpans: (_traceId, spans) => Effect.mapError(sendSpans(spans), (failure) => failure.error),
    probe: transport.probe
  }
}

/** The text without the configured header values, the credentials within them, or any other credential. */
export const scrubFor = (config: OtlpConfig) => {
  const secrets = config.headers.flatMap(([, value]) => headerSecrets(Redacted.value(value)))
  return (text: string): string => scrub(text, secrets)
}

/** An `ExportError` with the header values scrubbed from its text. */
export const scrubbedError = (
  config: OtlpConfig,
  fields: {
    readonly detail: string
    readonly retryable: boolean
    readonly reason: string
    readonly retryAfterMillis?: number | undefined
  }
): ExportError => {
  return new ExportError({
    detail: scrubFor(config)(fields.detail),
    retryable: fields.retryable,
    reason: fields.reason,
    ...(fields.retryAfterMillis === undefined ? {} : { retryAfterMillis: fields.retryAfterMillis })
  })
}

/** gzip through the platform's `CompressionStream` (Node 18+, browsers): no `node:zlib` in the core. */
export const gzip = (bytes: Uint8Array): Effect.Effect<Uint8Array> =>
  Effect.promise(async () => {
    const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream("gzip"))
    return new Uint8Array(await new Response(stream).arrayBuffer())
  })
