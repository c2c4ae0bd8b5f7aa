/**
 * Traced versions of your own services: a layer that replaces a service with one whose chosen
 * methods run in MLflow spans of a chosen type (a `Retriever`'s `retrieve` as a RETRIEVER span,
 * a reranker as RERANKER, a tool as TOOL). Methods may return an `Effect` or a `Stream`; a stream's
 * span lives until the stream ends, fails, is interrupted or abandoned.
 *
 * @example
 * import { Context, Effect, Layer } from "effect"
 * import { TracedService } from "effect-mlflow"
 *
 * class Retriever extends Context.Tag("Retriever")<Retriever, {
 *   readonly retrieve: (query: string) => Effect.Effect<ReadonlyArray<{ id: string; text: string }>>
 * }>() {}
 *
 * const RetrieverLive = Layer.succeed(Retriever, {
 *   retrieve: (query) => Effect.succeed([{ id: "doc-1", text: `About ${query}` }])
 * })
 *
 * // retrieve becomes a RETRIEVER span; its documents are recorded in MLflow's document shape
 * const TracedRetriever = TracedService.layer(Retriever, {
 *   retrieve: { spanType: "RETRIEVER", inputs: (query) => ({ query }) }
 * }).pipe(Layer.provide(RetrieverLive))
 *
 * @since 0.1.0
 */
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Predicate from "effect/Predicate"
import * as Stream from "effect/Stream"
import type * as Tracer from "effect/Tracer"
import { safely, streamInSpan } from "./internal/llm/streamSpan.js"
import { snapshot } from "./internal/tracing/snapshot.js"
import type { SpanType } from "./SpanType.js"
import { SpanAttributeKey } from "./Trace.js"

/**
 * How one method is traced. A bare span type is short for `{ spanType }`.
 *
 * @since 0.1.0
 * @category models
 */
export interface MethodOptions<Args extends ReadonlyArray<any>, A> {
  readonly spanType?: SpanType | undefined
  /** default `<service name>.<method>` */
  readonly name?: string | undefined
  /**
   * The span's inputs from the call's arguments. By default one object argument is recorded as
   * it is, another single argument as `{ input }`, several as `{ args }`.
   */
  readonly inputs?: ((...args: Args) => unknown) | undefined
  /**
   * The span's outputs from the result (for a stream: the items, at most `maxStreamItems`). By
   * default the result itself, or for RETRIEVER spans the result in MLflow's document shape
   * (see `toDocuments`).
   */
  readonly outputs?: ((result: A) => unknown) | undefined
}

type Success<R> = R extends Effect.Effect<infer A, any, any> ? A
  : R extends Stream.Stream<infer A, any, any> ? ReadonlyArray<A>
  : never

/**
 * The traced methods of a service `S`: those returning an `Effect` or a `Stream`.
 *
 * @since 0.1.0
 * @category models
 */
export type Methods<S> = {
  readonly [K in keyof S]?: S[K] extends (...args: infer Args) => infer R ?
    [Success<R>] extends [never] ? never : SpanType | MethodOptions<Args, Success<R>>
    : never
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** prefix of span names; default: the tag's key */
  readonly name?: string | undefined
  /** stream items kept for a stream method's outputs; default 1000 */
  readonly maxStreamItems?: number | undefined
}

/**
 * MLflow's document shape (`{ page_content, metadata, id }`), which the UI shows for RETRIEVER
 * spans. Strings become documents; objects keep `page_content` (or take `pageContent`, `content`
 * or `text`), `metadata` and `id`, and their other fields join the metadata. Anything that is
 * not an array is returned unchanged.
 *
 * @since 0.1.0
 * @category utils
 */
export const toDocuments = (result: unknown): unknown => {
  if (!Array.isArray(result)) return result
  return result.map((item: unknown) => {
    if (typeof item === "string") return { page_content: item, metadata: {}, id: null }
    if (!Predicate.isRecord(item)) return { page_content: String(item), metadata: {}, id: null }
    const { content, id, metadata, page_content, pageContent, text, ...rest } = item
    const body = page_content ?? pageContent ?? content ?? text
    return {
      page_content: typeof body === "string" ? body : body === undefined ? "" : JSON.stringify(snapshot(body)),
      metadata: { ...rest, ...(Predicate.isRecord(metadata) ? metadata : {}) },
      id: id === undefined ? null : id
    }
  })
}

const defaultInputs = (args: ReadonlyArray<unknown>): unknown => {
  if (args.length === 0) return undefined
  if (args.length > 1) return { args }
  const [only] = args
  return Predicate.isRecord(only) && !Array.isArray(only) ? only : { input: only }
}

const isStream = (value: unknown): value is Stream.Stream<unknown, unknown, unknown> =>
  Predicate.hasProperty(value, Stream.StreamTypeId)

const traceMethod = (
  method: (...args: Array<any>) => unknown,
  name: string,
  methodName: string,
  options: MethodOptions<Array<any>, any>,
  maxStreamItems: number
) => {
  const spanType = options.spanType ?? "UNKNOWN"
  const toOutputs = options.outputs ?? (spanType === "RETRIEVER" ? toDocuments : (a: unknown) => a)
  // a throwing `inputs` or `outputs` mapper costs the attribute, never the call
  const start = (span: Tracer.Span, args: Array<any>) => {
    if (!span.sampled) return
    span.attribute(SpanAttributeKey.SPAN_TYPE, spanType)
    span.attribute(SpanAttributeKey.FUNCTION_NAME, methodName)
    const inputs = safely(() => options.inputs === undefined ? defaultInputs(args) : options.inputs(...args), undefined)
    if (inputs !== undefined) span.attribute(SpanAttributeKey.INPUTS, inputs)
  }
  const finish = (span: Tracer.Span, result: unknown) => {
    if (!span.sampled) return
    const outputs = safely(() => toOutputs(result), undefined)
    if (outputs !== undefined) span.attribute(SpanAttributeKey.OUTPUTS, outputs)
  }
  const spanOptions = { captureStackTrace: false }
  return (...args: Array<any>) => {
    const result = method(...args)
    if (Effect.isEffect(result)) {
      return Effect.useSpan(name, spanOptions, (span) => {
        start(span, args)
        return result.pipe(Effect.tap((value) => finish(span, value)), Effect.withParentSpan(span))
      })
    }
    if (isStream(result)) {
      return streamInSpan(name, spanOptions, (span) =>
        Effect.sync(() => {
          start(span, args)
          const items: Array<unknown> = []
          return [result, {
            onChunk: (chunk) => {
              for (const item of chunk) if (items.length < maxStreamItems) items.push(item)
            },
            onEnd: (exit) => {
              finish(span, items)
              return exit
            }
          }] as const
        }))
    }
    return result
  }
}

/**
 * Wraps a service so that the listed methods run in MLflow spans; other members are unchanged.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <S extends object>(service: S, methods: Methods<S>, options: Options = {}): S => {
  const prefix = options.name ?? "Service"
  const maxStreamItems = options.maxStreamItems ?? 1000
  const traced: Record<PropertyKey, unknown> = Object.assign(Object.create(Object.getPrototypeOf(service)), service)
  for (const key of Object.keys(methods)) {
    const method = (service as Record<string, unknown>)[key]
    const config = (methods as Record<string, SpanType | MethodOptions<Array<any>, any> | undefined>)[key]
    if (typeof method !== "function" || config === undefined) continue
    const methodOptions = typeof config === "string" ? { spanType: config } : config
    traced[key] = traceMethod(
      method.bind(service),
      methodOptions.name ?? `${prefix}.${key}`,
      key,
      methodOptions,
      maxStreamItems
    )
  }
  return traced as S
}

/**
 * A layer that replaces the service of `tag` with a traced one (see `make`); spans are named
 * `<tag key>.<method>` unless told otherwise.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <I, S extends object>(
  tag: Context.Tag<I, S>,
  methods: Methods<S>,
  options: Options = {}
): Layer.Layer<I, never, I> =>
  Layer.effect(tag, Effect.map(tag, (service) => make(service, methods, { name: tag.key, ...options })))
