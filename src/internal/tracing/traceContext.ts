import * as Context from "effect/Context"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"

/**
 * W3C Trace Context (`traceparent`, `tracestate`): what a service sends with a request so that the
 * service it calls continues its trace, and reads from a request it serves.
 */

/** Request headers as servers hand them over: a record (any case, Node's arrays) or a `Headers`. */
export type IncomingHeaders =
  | Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  | { readonly get: (name: string) => string | null }

/** @internal The caller's `tracestate`, carried in the context of the remote parent span. */
export class RemoteTraceState extends Context.Tag("effect-mlflow/RemoteTraceState")<RemoteTraceState, string>() {}

const header = (headers: IncomingHeaders, name: string): string | undefined => {
  if (typeof headers.get === "function") {
    return (headers as { get: (name: string) => string | null }).get(name) ?? undefined
  }
  const record = headers as Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  const values: Array<string> = []
  for (const key of Object.keys(record)) {
    if (key.toLowerCase() !== name) continue
    const value = record[key]
    if (typeof value === "string") values.push(value)
    else if (Array.isArray(value)) values.push(...value.filter((v): v is string => typeof v === "string"))
  }
  return values.length === 0 ? undefined : values.join(",")
}

const HEX2 = /^[0-9a-f]{2}$/
const TRACE_ID = /^(?!0{32})[0-9a-f]{32}$/
const SPAN_ID = /^(?!0{16})[0-9a-f]{16}$/

/** `traceparent` as the W3C recommendation reads it; `undefined` when it is absent or invalid. */
export const parseTraceparent = (
  value: string | undefined
): { readonly traceId: string; readonly spanId: string; readonly sampled: boolean } | undefined => {
  if (value === undefined) return undefined
  const parts = value.trim().split("-")
  if (parts.length < 4) return undefined
  const [version, traceId, spanId, flags] = parts
  if (!HEX2.test(version) || version === "ff") return undefined
  // version 00 has exactly four fields; a later version may add fields after them
  if (version === "00" && parts.length !== 4) return undefined
  if (!TRACE_ID.test(traceId) || !SPAN_ID.test(spanId) || !HEX2.test(flags)) return undefined
  return { traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1 }
}

/** At most this much `tracestate` is passed on (the W3C limit that every vendor must accept). */
const TRACE_STATE_MAX_LENGTH = 512
const MAX_MEMBERS = 32

/** `tracestate` kept as given, whole members only, within the W3C limits; `undefined` when empty. */
export const normalizeTraceState = (value: string | undefined): string | undefined => {
  if (value === undefined) return undefined
  const members: Array<string> = []
  let length = 0
  for (const raw of value.split(",")) {
    const member = raw.trim()
    if (member === "" || !/^[\x20-\x7e]+$/.test(member) || !member.includes("=")) continue
    if (
      members.length === MAX_MEMBERS || length + member.length + (members.length > 0 ? 1 : 0) > TRACE_STATE_MAX_LENGTH
    ) {
      break
    }
    length += member.length + (members.length > 0 ? 1 : 0)
    members.push(member)
  }
  return members.length === 0 ? undefined : members.join(",")
}

/** The caller's span from the headers of a request, as the parent of what serves it. */
export const remoteParent = (headers: IncomingHeaders): Tracer.ExternalSpan | undefined => {
  const parent = parseTraceparent(header(headers, "traceparent"))
  if (parent === undefined) return undefined
  const traceState = normalizeTraceState(header(headers, "tracestate"))
  return Tracer.externalSpan({
    ...parent,
    context: traceState === undefined ? Context.empty() : Context.make(RemoteTraceState, traceState)
  })
}

/** The caller's `tracestate`, when `span` is a remote parent made by `remoteParent`. */
export const traceStateOf = (span: Tracer.AnySpan): string | undefined =>
  span._tag === "ExternalSpan" ? Option.getOrUndefined(Context.getOption(span.context, RemoteTraceState)) : undefined

/** The headers that continue the trace of `span` in the service a request goes to. */
export const headersOf = (
  span: Tracer.AnySpan,
  traceState: string | undefined
): Readonly<Record<string, string>> => {
  const traceparent = `00-${span.traceId}-${span.spanId}-${span.sampled ? "01" : "00"}`
  return traceState === undefined ? { traceparent } : { traceparent, tracestate: traceState }
}
