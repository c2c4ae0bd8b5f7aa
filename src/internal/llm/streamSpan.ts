import type * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"

/**
 * Hooks on a stream traced by `streamInSpan`. They run synchronously and must not throw; a throw
 * is swallowed, because tracing must never change the stream.
 *
 * @internal
 */
export interface StreamObserver<A> {
  /** every chunk the consumer receives, with the time it arrived */
  readonly onChunk?: ((items: Chunk.Chunk<A>, nowNanos: bigint) => void) | undefined
  /**
   * Runs before the span ends, with the stream's exit; answers the exit that ends the span (a
   * provider may report an error inside a stream that otherwise succeeds).
   */
  readonly onEnd?: ((exit: Exit.Exit<unknown, unknown>) => Exit.Exit<unknown, unknown>) | undefined
}

/**
 * Runs recording code that must never break the traced program: a throw gives `fallback`.
 *
 * @internal
 */
export const safely = <A>(f: () => A, fallback: A): A => {
  try {
    return f()
  } catch {
    return fallback
  }
}

/**
 * A stream in a span that lives exactly as long as the stream: it ends when the stream ends, fails,
 * is interrupted or is abandoned by its consumer, with the matching status. The span is the parent
 * of whatever the stream runs.
 *
 * @internal
 */
export const streamInSpan = <A, E, R, R2>(
  name: string,
  options: Tracer.SpanOptions,
  use: (span: Tracer.Span) => Effect.Effect<readonly [Stream.Stream<A, E, R>, StreamObserver<A>], never, R2>
): Stream.Stream<A, E, R | R2> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    let observer: StreamObserver<A> = {}
    const span = yield* Effect.acquireRelease(
      Effect.makeSpan(name, options),
      (span, exit) =>
        Effect.flatMap(Clock.currentTimeNanos, (now) =>
          Effect.sync(() => {
            const onEnd = observer.onEnd
            span.end(now, onEnd === undefined ? exit : safely(() => onEnd(exit), exit))
          }))
    )
    const [stream, hooks] = yield* use(span)
    observer = hooks
    const onChunk = hooks.onChunk
    const clock = yield* Effect.clock
    const observed = onChunk === undefined ? stream : Stream.mapChunks(stream, (items) => {
      safely(() => onChunk(items, clock.unsafeCurrentTimeNanos()), undefined)
      return items
    })
    return Stream.provideService(observed, Tracer.ParentSpan, span)
  }))
