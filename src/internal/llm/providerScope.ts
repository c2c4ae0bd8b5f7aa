/**
 * How a provider's own work runs inside the span we open for it: with tracing switched off (no
 * internal spans, no `traceparent` to the vendor), or with its own span merged into ours. A
 * stream gets the same treatment for its own work only, never for its consumer's.
 */
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"

/**
 * Runs a stream with `around` applied to its own work only (setting it up, and each pull), not to
 * the consumer's work between pulls: a fiber-local setting such as the tracer stays scoped to the
 * stream.
 *
 * @internal
 */
export const streamWithin = <A, E, R>(
  stream: Stream.Stream<A, E, R>,
  around: <X, Y, Z>(effect: Effect.Effect<X, Y, Z>) => Effect.Effect<X, Y, Z>
): Stream.Stream<A, E, R> =>
  Stream.unwrapScoped(Effect.map(around(Stream.toPull(stream)), (pull) => Stream.repeatEffectChunkOption(around(pull))))

/**
 * Runs a stream with the tracer switched off for its own work: a provider's internal spans and its
 * HTTP client's `traceparent` headers disappear, while the spans the consumer creates between pulls
 * are untouched.
 *
 * @internal
 */
export const streamWithTracerDisabled = <A, E, R>(stream: Stream.Stream<A, E, R>): Stream.Stream<A, E, R> =>
  streamWithin(stream, (effect) => Effect.withTracerEnabled(effect, false))

/**
 * Whether the tracer is on in the calling fiber (to restore it inside user callbacks, such as
 * tool handlers, that run within a provider call whose tracing was switched off).
 *
 * @internal
 */
export const tracerEnabled: Effect.Effect<boolean> = FiberRef.get(FiberRef.currentTracerEnabled)

/**
 * A stand-in for `target` that a library's own span can be replaced with: whatever the library
 * records goes to `target`, its children become `target`'s children, and ending it does nothing.
 */
const aliasOf = (target: Tracer.Span): Tracer.Span => ({
  _tag: "Span",
  name: target.name,
  spanId: target.spanId,
  traceId: target.traceId,
  parent: target.parent,
  context: target.context,
  get status() {
    return target.status
  },
  attributes: target.attributes,
  get links() {
    return target.links
  },
  sampled: target.sampled,
  kind: target.kind,
  end: () => {},
  attribute: (key, value) => target.attribute(key, value),
  event: (name, startTime, attributes) => target.event(name, startTime, attributes),
  addLinks: (links) => target.addLinks(links)
})

/**
 * A tracer that merges the first span opened as `name` into `target` (the span we already opened
 * for the same work), instead of nesting a duplicate under it; every other span goes to `base`.
 *
 * @internal
 */
export const mergingTracer = (base: Tracer.Tracer, name: string, target: Tracer.Span): Tracer.Tracer => {
  let merged = false
  return Tracer.make({
    span(spanName, parent, context, links, startTime, kind, options) {
      if (!merged && spanName === name) {
        merged = true
        return aliasOf(target)
      }
      return base.span(spanName, parent, context, links, startTime, kind, options)
    },
    context: base.context
  })
}

/**
 * Runs `effect` with the first span it opens as `name` merged into `target`.
 *
 * @internal
 */
export const mergeSpanInto = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  name: string,
  target: Tracer.Span
): Effect.Effect<A, E, R> =>
  Effect.flatMap(Effect.tracer, (base) => Effect.withTracer(effect, mergingTracer(base, name, target)))

/**
 * A stream with the first span its own work opens as `name` merged into `target`.
 *
 * @internal
 */
export const streamMergingSpanInto = <A, E, R>(
  stream: Stream.Stream<A, E, R>,
  name: string,
  target: Tracer.Span
): Stream.Stream<A, E, R> =>
  Stream.unwrap(Effect.map(Effect.tracer, (base) => {
    const tracer = mergingTracer(base, name, target)
    return streamWithin(stream, (effect) => Effect.withTracer(effect, tracer))
  }))
