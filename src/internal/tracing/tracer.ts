import type * as Context from "effect/Context"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import type { SpanData, SpanEvent, SpanLink } from "../../Trace.js"
import { type Json, safeKey, setOwn } from "../common/json.js"
import { SpanAttributeKey, SpanLogLevel, TRUNCATED_ATTRIBUTE } from "../common/keys.js"
import type { TraceAssembler, TraceRecord } from "./assembler.js"
import { spanIdHex, traceIdHex } from "./ids.js"
import { type CutReport, defaultSnapshotOptions, snapshot } from "./snapshot.js"
import { fromExit } from "./status.js"
import { ownEntries } from "./text.js"
import { traceStateOf } from "./traceContext.js"

const HEX32 = /^[0-9a-f]{32}$/

/** @internal The span annotation carrying `Mlflow.withTraceContext` values. */
export const TRACE_CONTEXT_KEY = "effect_mlflow.traceContext"
const REQUEST_ID = SpanAttributeKey.REQUEST_ID
const SPAN_TYPE = SpanAttributeKey.SPAN_TYPE
const LOG_LEVEL = SpanAttributeKey.LOG_LEVEL
/** events kept per span; later ones are counted in `effect_mlflow.events_dropped` */
const MAX_EVENTS = 1000
const EVENTS_DROPPED = "effect_mlflow.events_dropped"
const INFO_SPAN_TYPES = new Set(["LLM", "CHAT_MODEL", "TOOL", "RETRIEVER", "AGENT", "EMBEDDING"])

/** MLflow's span log level: set by the user, else INFO or DEBUG by span type; an exception raises it to ERROR. */
const logLevel = (current: Json | undefined, spanType: Json | undefined, exception: boolean): number => {
  const level = typeof current === "number"
    ? current
    : typeof spanType === "string" && INFO_SPAN_TYPES.has(spanType)
    ? SpanLogLevel.INFO
    : SpanLogLevel.DEBUG
  return exception && level < SpanLogLevel.ERROR ? SpanLogLevel.ERROR : level
}

/** Why a span was force-ended by the trace timeout. */
class TraceTimeout extends Error {
  override readonly name = "TraceTimeout"
}

/**
 * An effect `Span` that records into an MLflow trace. Attribute values are snapshotted when set;
 * nothing here does I/O: ending the span hands its data to the assembler.
 *
 * @internal
 */
export class MlflowSpan implements Tracer.Span {
  readonly _tag = "Span"
  readonly spanId: string
  readonly traceId: string
  readonly attributes = new Map<string, unknown>()
  readonly events: Array<SpanEvent> = []
  status: Tracer.SpanStatus
  links: Array<Tracer.SpanLink>
  private droppedEvents = 0
  /** attributes the snapshot had to cut, with how much it removed */
  private truncated: Record<string, number> | undefined = undefined

  constructor(
    readonly name: string,
    readonly parent: Option.Option<Tracer.AnySpan>,
    readonly context: Context.Context<never>,
    links: ReadonlyArray<Tracer.SpanLink>,
    startTime: bigint,
    readonly kind: Tracer.SpanKind,
    readonly record: TraceRecord,
    readonly sampled: boolean
  ) {
    this.spanId = spanIdHex()
    this.traceId = record.otelTraceId
    this.status = { _tag: "Started", startTime }
    this.links = links.length === 0 ? [] : [...links]
  }

  attribute(rawKey: string, value: unknown): void {
    const key = safeKey(rawKey)
    if (key === TRACE_CONTEXT_KEY) {
      // `Mlflow.withTraceContext`: applies to traces started in its scope, so to their root only
      if (this.record.root === this) this.record.applyContext(value)
      return
    }
    // an unsampled trace is never exported: snapshotting its values would be wasted work
    if (!this.sampled) return
    const report: CutReport = { removed: 0 }
    this.attributes.set(key, snapshot(value, defaultSnapshotOptions, report))
    if (report.removed > 0) (this.truncated ??= {})[key] = report.removed
    else if (this.truncated !== undefined) delete this.truncated[key]
  }

  event(name: string, startTime: bigint, attributes?: Record<string, unknown>): void {
    if (!this.sampled) return
    if (this.events.length >= MAX_EVENTS) {
      this.droppedEvents++
      return
    }
    const snap: Record<string, Json> = {}
    for (const [key, value] of ownEntries(attributes)) setOwn(snap, key, snapshot(value))
    this.events.push({ name, timeUnixNano: startTime, attributes: snap })
  }

  addLinks(links: ReadonlyArray<Tracer.SpanLink>): void {
    this.links.push(...links)
  }

  end(endTime: bigint, exit: Exit.Exit<unknown, unknown>): void {
    this.finish(endTime, exit)
  }

  /** Ends the span now with ERROR (trace timeout); a later `end` from its fiber is ignored. */
  forceEnd(endTime: bigint, description: string): void {
    this.finish(endTime, Exit.die(new TraceTimeout(description)))
  }

  private finish(endTime: bigint, exit: Exit.Exit<unknown, unknown>): void {
    if (this.status._tag === "Ended") return
    const startTime = this.status.startTime
    this.status = { _tag: "Ended", startTime, endTime, exit }
    if (!this.sampled) return
    const { event, status } = fromExit(exit, endTime)
    if (event !== undefined) this.events.push(event)
    this.record.assembler.spanEnded(this.record, this, this.toData(startTime, endTime, status, event !== undefined))
  }

  private toData(startTime: bigint, endTime: bigint, status: SpanData["status"], exception: boolean): SpanData {
    const attributes: Record<string, Json> = {
      [REQUEST_ID]: this.record.mlflowTraceId,
      [SPAN_TYPE]: "UNKNOWN"
    }
    for (const [key, value] of this.attributes) attributes[key] = value as Json
    attributes[LOG_LEVEL] = logLevel(attributes[LOG_LEVEL], attributes[SPAN_TYPE], exception)
    if (this.droppedEvents > 0) attributes[EVENTS_DROPPED] = this.droppedEvents
    const links = this.links.length === 0 ? undefined : linkData(this.links)
    if (links !== undefined && links.dropped > 0) attributes[LINKS_DROPPED] = links.dropped
    if (this.truncated !== undefined && Object.keys(this.truncated).length > 0) {
      attributes[TRUNCATED_ATTRIBUTE] = { ...this.truncated }
    }
    const parent = this.parent
    return {
      traceId: this.traceId,
      spanId: this.spanId,
      parentSpanId: parent._tag === "Some" && parent.value.traceId === this.traceId ? parent.value.spanId : null,
      name: this.name,
      kind: this.kind,
      startTimeUnixNano: startTime,
      endTimeUnixNano: endTime,
      status,
      attributes,
      events: this.events,
      ...(links === undefined || links.kept.length === 0 ? {} : { links: links.kept })
    }
  }
}

/** links whose ids OTLP cannot carry (not hex of the right length) are dropped and counted */
const LINKS_DROPPED = "effect_mlflow.links_dropped"
const TRACE_ID = /^[0-9a-f]{32}$/
const SPAN_ID = /^[0-9a-f]{16}$/

const linkData = (links: ReadonlyArray<Tracer.SpanLink>): { kept: Array<SpanLink>; dropped: number } => {
  const kept: Array<SpanLink> = []
  let dropped = 0
  for (const link of links) {
    const traceId = String(link.span.traceId).toLowerCase()
    const spanId = String(link.span.spanId).toLowerCase()
    if (!TRACE_ID.test(traceId) || !SPAN_ID.test(spanId) || /^0+$/.test(traceId) || /^0+$/.test(spanId)) {
      dropped++
      continue
    }
    const attributes: Record<string, Json> = {}
    for (const [key, value] of ownEntries(link.attributes)) setOwn(attributes, key, snapshot(value))
    kept.push({ traceId, spanId, attributes })
  }
  return { kept, dropped }
}

/**
 * Options of the MLflow tracer.
 *
 * @internal
 */
export interface TracerOptions {
  readonly assembler: TraceAssembler
  /** decides at each new trace whether it is recorded (children follow their root) */
  readonly sample: (ratioOverride: number | undefined) => boolean
}

/**
 * The effect `Tracer` that builds MLflow traces.
 *
 * @internal
 */
export const make = (options: TracerOptions): Tracer.Tracer => {
  const tracer = Tracer.make({
    span(name, parent, context, links, startTime, kind, spanOptions) {
      const record = recordFor(options, parent, startTime, spanOptions)
      const span = new MlflowSpan(name, parent, context, links, startTime, kind, record, record.sampled)
      if (record.sampled) options.assembler.spanStarted(record, span)
      return span
    },
    context: (f) => f()
  })
  mlflowTracers.add(tracer)
  return tracer
}

const mlflowTracers = new WeakSet<Tracer.Tracer>()

/** @internal Our tracer with another way of running effects inside spans (an OpenTelemetry context). */
export const withContext = (tracer: Tracer.Tracer, context: Tracer.Tracer["context"]): Tracer.Tracer => {
  const wrapped = Tracer.make({ span: tracer.span, context })
  mlflowTracers.add(wrapped)
  return wrapped
}

/**
 * Our tracer for as long as its layer lives. Restoring the tracer in place before the layer is
 * Effect's business (a scoped `FiberRef` change), and it does not always happen: a layer built in
 * parallel with another (`Layer.merge`) restores it in a fiber of its own, so the program keeps the
 * released tracer, and a fiber forked inside the layer keeps it whatever the composition. So the
 * tracer itself hands over at `release`: later spans go to `outer`, the tracer the layer replaced,
 * or, when it replaced none (Effect's own, which exports nothing), stay with the released
 * pipeline, which counts their traces as dropped at shutdown, after `afterRelease` says so.
 *
 * @internal
 */
export const releasable = (
  tracer: Tracer.Tracer,
  options: { readonly outer: Tracer.Tracer | undefined; readonly afterRelease: () => void }
): { readonly tracer: Tracer.Tracer; readonly release: () => void } => {
  let current = tracer
  let released = false
  const scoped = Tracer.make({
    span(name, parent, context, links, startTime, kind, spanOptions) {
      if (released && current === tracer) options.afterRelease()
      return current.span(name, parent, context, links, startTime, kind, spanOptions)
    },
    context: (f, fiber) => current.context(f, fiber)
  })
  mlflowTracers.add(scoped)
  return {
    tracer: scoped,
    release: () => {
      released = true
      if (options.outer !== undefined) current = options.outer
    }
  }
}

/** @internal Whether `tracer` is one of ours (another tracing layer of this library). */
export const isMlflowTracer = (tracer: Tracer.Tracer): boolean => mlflowTracers.has(tracer)

const ratioOf = (spanOptions: Tracer.SpanOptions | undefined): number | undefined => {
  const ratio = (spanOptions as { readonly samplingRatio?: unknown } | undefined)?.samplingRatio
  return typeof ratio === "number" ? ratio : undefined
}

const recordFor = (
  options: TracerOptions,
  parent: Option.Option<Tracer.AnySpan>,
  startTime: bigint,
  spanOptions: Tracer.SpanOptions | undefined
): TraceRecord => {
  if (parent._tag === "Some") {
    const p = parent.value
    // a span of another tracing layer (an outer one) is a parent from elsewhere, as a remote one
    if (p instanceof MlflowSpan && p.record.assembler === options.assembler) return p.record
    const existing = options.assembler.find(p.traceId)
    if (existing !== undefined) return existing
    if (HEX32.test(p.traceId)) {
      // a trace continued from another service follows the caller's sampling decision
      const record = options.assembler.open(p.traceId, startTime, p.sampled)
      record.traceState = traceStateOf(p)
      return record
    }
  }
  return options.assembler.open(traceIdHex(), startTime, options.sample(ratioOf(spanOptions)))
}
