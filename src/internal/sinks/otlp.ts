import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type { OtlpConfig } from "../../MlflowConfig.js"
import type { SpanData, Trace } from "../../Trace.js"
import { headerSecrets, scrub } from "../common/scrub.js"
import { forEachInSlices } from "../common/slices.js"
import { ExportError, type Sink } from "../export/sink.js"
import { encodeTraceRequest, encodeTraceRequestYielding, type Resource } from "../format/otlp.js"
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

/** What a sink knows of one trace across the attempts at a batch (by the exporter's trace object). */
interface Progress {
  /** ids of the spans a collector took (in requests it answered), so that a retry sends only the rest */
  readonly delivered: Set<string>
  /** spans the trace goes out as */
  total: number
  /** some of its spans are known to be held (a request of its spans taken with nothing rejected) */
  heldInPart: boolean
  /** refused for itself: not sent again, counted failed with this */
  refusal?: ExportError
  /** spans the collector said it rejected, counted on one trace of the request */
  rejectedSpans: number
}

/** The spans of one trace (or of late spans) that go in one request. */
interface Part<K> {
  readonly key: K
  readonly spans: ReadonlyArray<SpanData>
}

/** A request's parts, with its body when it was encoded already (while measuring). */
interface Request<K> {
  readonly parts: ReadonlyArray<Part<K>>
  readonly body?: Uint8Array | undefined
}

/** warnings remembered so that each is logged once (bounded: the oldest is forgotten first) */
const MAX_WARNINGS = 256

/** numbers in a collector's message (counts, ids) do not make another reason */
const reasonOfMessage = (message: string): string =>
  message === "" ? "no reason given" : message.replace(/\d+/g, "N").slice(0, 200)

/**
 * The OTLP sink: the spans of a batch in one `ExportTraceServiceRequest`, with what MLflow keeps as
 * trace info on the root span (tags, name, session, user), so that a collector forwarding them to
 * MLflow's `/v1/traces` stores the trace whole; a continued trace's spans go as they are (its info
 * is the originating service's). `translate` rewrites spans on the way (GenAI conventions).
 *
 * A request stays within `maxRequestBytes` encoded (a gRPC collector refuses a message over 4 MiB by
 * default): a batch over it goes in several requests, whole traces together where they fit, and a
 * trace larger than one request has its spans spread over several (OTLP lets a trace's spans arrive
 * in any number of requests). A trace with a span larger than a request is not sent, and counted
 * failed. A trace with spans the collector rejected (partial success) is counted failed: when the
 * request held several traces, the collector does not say whose spans it rejected, so none of them
 * counts as stored.
 */
export const make = (
  config: OtlpConfig,
  transport: Transport,
  translate: (spans: ReadonlyArray<SpanData>) => ReadonlyArray<SpanData> = (spans) => spans
): Sink => {
  const resource = resourceOf(config)
  const encode = (spans: ReadonlyArray<SpanData>): Effect.Effect<Uint8Array> =>
    config.protocol === "http/json"
      ? Effect.sync(() => encodeNow(spans))
      : encodeTraceRequestYielding(spans, resource)
  /** the same bytes in one go: for the size of one span */
  const encodeNow = (spans: ReadonlyArray<SpanData>): Uint8Array =>
    config.protocol === "http/json"
      ? encoder.encode(encodeTraceRequestJson(spans, resource))
      : encodeTraceRequest(spans, resource)
  const limit = config.maxRequestBytes
  const emptySize = encodeNow([]).length
  // room for spans in a request: what the lengths of the enclosing messages may grow by, set aside
  const room = limit - emptySize - 16
  /** what a span adds to a request (with a separator, for JSON) */
  const costOf = (span: SpanData): number => encodeNow([span]).length - emptySize + 1

  const progress = new WeakMap<Trace, Progress>()
  const progressOf = (trace: Trace): Progress => {
    let known = progress.get(trace)
    if (known === undefined) {
      known = { delivered: new Set(), total: 0, heldInPart: false, rejectedSpans: 0 }
      progress.set(trace, known)
    }
    return known
  }

  const warned = new Set<string>()
  const warnOnce = (message: string) =>
    Effect.suspend(() => {
      const key = reasonOfMessage(message)
      if (warned.has(key)) return Effect.void
      if (warned.size >= MAX_WARNINGS) warned.delete(warned.values().next().value!)
      warned.add(key)
      return Effect.logWarning(
        `effect-mlflow: the OTLP collector took the export and warned: ${scrubFor(config)(message)}`
      )
    })

  /** the error of a request whose spans the collector rejected in part or whole */
  const partialFailure = (answer: ExportAnswer, spans: number, traces: number): ExportError =>
    scrubbedError(config, {
      detail: `the OTLP collector took the request but rejected ${Math.min(answer.rejectedSpans, spans)} of the ` +
        `${spans} span(s) in it` +
        (traces > 1 ? ` (of ${traces} traces; it does not say whose, so none counts as stored)` : "") +
        `: ${answer.errorMessage === "" ? "no reason given" : scrubFor(config)(answer.errorMessage)}`,
      retryable: false,
      reason: `partial success: ${reasonOfMessage(answer.errorMessage)}`
    })

  const tooLarge = (span: SpanData, size: number): ExportError =>
    new ExportError({
      detail: `span "${span.name.slice(0, 100)}" (${span.spanId}) is ${size} bytes encoded, over the ` +
        `${limit}-byte limit of one OTLP request (otlp.maxRequestBytes; a gRPC collector takes 4 MiB unless ` +
        "its max_recv_msg_size_mib is raised): its trace is not sent",
      retryable: false,
      reason: "span larger than an OTLP request"
    })

  const timedOut: TransportFailure = {
    refusesBatch: false,
    error: scrubbedError(config, {
      detail: `export to ${config.url} timed out after ${Duration.format(config.timeout)}`,
      retryable: true,
      reason: "timed out"
    })
  }
  const sendBody = (body: Uint8Array) =>
    (config.compression === "gzip" ? Effect.flatMap(gzip(body), transport.send) : transport.send(body)).pipe(
      Effect.timeoutFail({ duration: config.timeout, onTimeout: () => timedOut })
    )

  /**
   * Groups parts into requests within the limit, in order, a part's spans together where they fit;
   * `oversized`: the keys of parts with a span that fits no request.
   */
  const pack = <K>(parts: ReadonlyArray<Part<K>>) =>
    Effect.gen(function*() {
      const oversized = new Map<K, ExportError>()
      if (parts.length === 0) return { requests: [], oversized }
      const whole = yield* encode(parts.flatMap((part) => part.spans))
      if (whole.length <= limit) return { requests: [{ parts, body: whole }], oversized }
      const costsOf = new Map<Part<K>, Array<number>>()
      yield* forEachInSlices(parts, (part) => {
        costsOf.set(part, part.spans.map(costOf))
      }, true)
      return packSized(parts, costsOf, oversized)
    })

  const packSized = <K>(
    parts: ReadonlyArray<Part<K>>,
    costsOf: ReadonlyMap<Part<K>, ReadonlyArray<number>>,
    oversized: Map<K, ExportError>
  ) => {
    const requests: Array<Request<K>> = []
    let current: Array<Part<K>> = []
    let used = 0
    const close = () => {
      if (current.length > 0) requests.push({ parts: current })
      current = []
      used = 0
    }
    for (const part of parts) {
      const costs = costsOf.get(part)!
      const largest = costs.reduce((max, cost, i) => cost > costs[max] ? i : max, 0)
      if (costs[largest] > room) {
        oversized.set(part.key, tooLarge(part.spans[largest], costs[largest] + emptySize))
        continue
      }
      const total = costs.reduce((sum, cost) => sum + cost, 0)
      if (used + total <= room) {
        current.push(part)
        used += total
        continue
      }
      close()
      if (total <= room) {
        current.push(part)
        used = total
        continue
      }
      // larger than one request: its spans spread over as many as it takes
      let spans: Array<SpanData> = []
      part.spans.forEach((span, i) => {
        if (used + costs[i] > room) {
          current.push({ key: part.key, spans })
          close()
          spans = []
        }
        spans.push(span)
        used += costs[i]
      })
      current.push({ key: part.key, spans })
    }
    close()
    return { requests, oversized }
  }

  /** Sends the request's spans; what the collector answered. */
  const sendRequest = <K>(request: Request<K>) =>
    Effect.flatMap(
      request.body === undefined ? encode(request.parts.flatMap((part) => part.spans)) : Effect.succeed(request.body),
      sendBody
    )

  /** Records what the collector did with the parts of a request it took. */
  const took = (parts: ReadonlyArray<Part<Trace>>, answer: ExportAnswer): Effect.Effect<void> => {
    const spans = parts.reduce((sum, part) => sum + part.spans.length, 0)
    for (const part of parts) for (const span of part.spans) progressOf(part.key).delivered.add(span.spanId)
    if (answer.rejectedSpans <= 0) {
      for (const part of parts) progressOf(part.key).heldInPart = true
      return answer.errorMessage === "" ? Effect.void : warnOnce(answer.errorMessage)
    }
    const error = partialFailure(answer, spans, parts.length)
    progressOf(parts[0].key).rejectedSpans += Math.min(answer.rejectedSpans, spans)
    for (const part of parts) {
      const known = progressOf(part.key)
      known.refusal ??= error
      // the collector kept the rest of the request, which was this trace's alone
      if (parts.length === 1 && answer.rejectedSpans < spans) known.heldInPart = true
    }
    return Effect.void
  }

  /** A request of several traces refused for what it holds is split until each refused trace is alone. */
  const sendIsolating = (request: Request<Trace>) => {
    const partOf = new Map(request.parts.map((part) => [part.key, part]))
    return isolating({
      send: (traces: ReadonlyArray<Trace>) => {
        const parts = traces.map((trace) => partOf.get(trace)!)
        return sendRequest(traces.length === request.parts.length ? request : { parts }).pipe(
          Effect.flatMap((answer) => took(parts, answer))
        )
      },
      refused: (failure: TransportFailure) => failure.refusesBatch ? failure.error : undefined,
      both: () => undefined,
      alone: undefined
    })(request.parts.map((part) => part.key)).pipe(
      Effect.map(({ rejected }) => {
        for (const { error, traceId } of rejected) {
          const trace = request.parts.find((part) => part.key.info.traceId === traceId)!.key
          progressOf(trace).refusal ??= error
        }
      })
    )
  }

  const outgoing = (trace: Trace): ReadonlyArray<SpanData> =>
    plainSpans(translate(continuesRemote(trace) ? trace.spans : withTraceInfoOnRoot(trace)))

  const exportTraces: Sink["export"] = (traces) =>
    Effect.gen(function*() {
      const parts: Array<Part<Trace>> = []
      for (const trace of traces) {
        const known = progressOf(trace)
        if (known.refusal !== undefined) continue
        const spans = outgoing(trace)
        known.total = spans.length
        const unsent = spans.filter((span) => !known.delivered.has(span.spanId))
        if (unsent.length > 0) parts.push({ key: trace, spans: unsent })
      }
      const { oversized, requests } = yield* pack(parts)
      for (const [trace, error] of oversized) progressOf(trace).refusal ??= error
      for (const request of requests) yield* sendIsolating(request)
      const rejected = traces.flatMap((trace) => {
        const { refusal } = progressOf(trace)
        return refusal === undefined ? [] : [{ traceId: trace.info.traceId, error: refusal }]
      })
      const rejectedSpans = traces.reduce((sum, trace) => sum + progressOf(trace).rejectedSpans, 0)
      return { rejected, rejectedSpans }
    }).pipe(Effect.mapError((failure) => failure.error))

  /** Late spans go in as many requests as they take; any rejected is a failure (they are counted dropped). */
  const exportLateSpans: Sink["exportLateSpans"] = (traceId, spans) =>
    Effect.gen(function*() {
      const { oversized, requests } = yield* pack([{ key: traceId, spans: plainSpans(translate(spans)) }])
      const refusal = oversized.get(traceId)
      if (refusal !== undefined) return yield* Effect.fail(refusal)
      for (const request of requests) {
        const answer = yield* Effect.mapError(sendRequest(request), (failure) => failure.error)
        const count = request.parts[0].spans.length
        if (answer.rejectedSpans > 0) return yield* Effect.fail(partialFailure(answer, count, 1))
        if (answer.errorMessage !== "") yield* warnOnce(answer.errorMessage)
      }
    })

  /** traces given up on or refused of which the collector took some spans */
  const partiallyStored = (traces: ReadonlyArray<Trace>) =>
    traces.filter((trace) => {
      const known = progress.get(trace)
      return known !== undefined && known.heldInPart &&
        (known.refusal !== undefined || known.delivered.size < known.total)
    }).length

  return { export: exportTraces, exportLateSpans, partiallyStored, probe: transport.probe }
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
