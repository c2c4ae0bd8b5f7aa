import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import type * as Scope from "effect/Scope"
import type { ExportError } from "./sink.js"

/**
 * One view of the destination's health, shared by the export workers. A transient failure marks
 * it down; while down, one prober asks the destination (`probe`) every `interval`. A destination
 * the prober found away (no answer, or "slow down") and then back has returned from an outage:
 * every retry waiting out its backoff is woken, so the queue goes out within seconds of its return
 * instead of after each worker's own backoff. One that answers the prober all along while exports
 * fail is not "back" from anything: the retries keep their backoff. A `Retry-After` holds every
 * attempt to the destination (new batches too) until its time, whatever the prober says. At
 * shutdown `wakeAll` ends every wait at once, and later waits are kept short, so the drain tries at
 * once.
 *
 * @internal
 */
export interface Health {
  /** a transient failure: the destination is down; its `Retry-After`, if any, holds every attempt */
  readonly markDown: (error?: ExportError) => void
  /** waits `millis`, or less if the destination comes back from an outage or shutdown begins */
  readonly wait: (millis: number) => Effect.Effect<void>
  /** waits until the destination's `Retry-After` has passed (at shutdown, briefly at most) */
  readonly ready: Effect.Effect<void>
  readonly wakeAll: () => void
  /** a transient failure was seen and the destination has not answered since, or asked to wait */
  readonly isDown: () => boolean
}

/** @internal */
export const make = (
  probe: Effect.Effect<boolean> | undefined,
  options: {
    readonly interval: Duration.Duration
    readonly drainWait: Duration.Duration
    /** the longest `Retry-After` honoured (the retry budget: no batch waits longer) */
    readonly maxRetryAfter?: Duration.Duration | undefined
  }
): Effect.Effect<Health, never, Scope.Scope> =>
  Effect.gen(function*() {
    const clock = yield* Effect.clock
    const maxRetryAfter = options.maxRetryAfter === undefined
      ? Number.POSITIVE_INFINITY
      : Duration.toMillis(options.maxRetryAfter)
    let down = false
    // the prober found the destination away since it was last back
    let away = false
    let draining = false
    let notBefore = 0
    let back = Deferred.unsafeMake<void>(FiberId.none)
    const wakeAll = () => {
      const waiting = back
      back = Deferred.unsafeMake<void>(FiberId.none)
      Deferred.unsafeDone(waiting, Effect.void)
    }
    const markDown = (error?: ExportError) => {
      down = true
      if (error?.retryAfterMillis !== undefined) {
        const until = clock.unsafeCurrentTimeMillis() + Math.min(error.retryAfterMillis, maxRetryAfter)
        if (until > notBefore) notBefore = until
      }
    }
    const limited = (millis: number) => draining ? Math.min(millis, Duration.toMillis(options.drainWait)) : millis
    const wait = (millis: number) =>
      Effect.suspend(() => Effect.raceFirst(Effect.sleep(Duration.millis(limited(millis))), Deferred.await(back)))
    // woken early (by the destination's return), it waits out the rest; at shutdown, briefly at most
    const ready: Effect.Effect<void> = Effect.suspend(() => {
      const left = notBefore - clock.unsafeCurrentTimeMillis()
      if (left <= 0) return Effect.void
      if (draining) return Effect.sleep(Duration.millis(limited(left)))
      return Effect.zipRight(Effect.raceFirst(Effect.sleep(Duration.millis(left)), Deferred.await(back)), ready)
    })
    if (probe !== undefined) {
      yield* Effect.suspend(() => {
        if (!down) return Effect.void
        return Effect.map(probe, (up) => {
          if (!up) {
            away = true
            return
          }
          down = false
          if (!away) return
          away = false
          wakeAll()
        })
      }).pipe(
        Effect.zipRight(Effect.sleep(options.interval)),
        Effect.forever,
        Effect.withTracerEnabled(false),
        Effect.forkScoped
      )
    }
    return {
      markDown,
      wait,
      ready,
      isDown: () => down || notBefore > clock.unsafeCurrentTimeMillis(),
      wakeAll: () => {
        draining = true
        wakeAll()
      }
    }
  })
