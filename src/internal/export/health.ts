import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import type * as Scope from "effect/Scope"

/**
 * One view of the destination's health, shared by the export workers. A transient failure marks
 * it down; while down, one prober asks the destination (`probe`) every `interval`, and the moment
 * it answers, every retry waiting out its backoff is woken, so the queue goes out within seconds
 * of recovery instead of after each worker's own backoff. At shutdown `wakeAll` ends every wait
 * at once, and later waits are kept short, so the drain tries at once.
 *
 * @internal
 */
export interface Health {
  readonly markDown: () => void
  /** waits `millis`, or less if the destination comes back or shutdown begins */
  readonly wait: (millis: number) => Effect.Effect<void>
  readonly wakeAll: () => void
  /** a transient failure was seen and the destination has not answered since */
  readonly isDown: () => boolean
}

/** @internal */
export const make = (
  probe: Effect.Effect<boolean> | undefined,
  options: { readonly interval: Duration.Duration; readonly drainWait: Duration.Duration }
): Effect.Effect<Health, never, Scope.Scope> =>
  Effect.gen(function*() {
    let down = false
    let draining = false
    let back = Deferred.unsafeMake<void>(FiberId.none)
    const wakeAll = () => {
      const waiting = back
      back = Deferred.unsafeMake<void>(FiberId.none)
      Deferred.unsafeDone(waiting, Effect.void)
    }
    const markDown = () => {
      down = true
    }
    const wait = (millis: number) =>
      Effect.suspend(() => {
        const limit = draining ? Math.min(millis, Duration.toMillis(options.drainWait)) : millis
        return Effect.raceFirst(Effect.sleep(Duration.millis(limit)), Deferred.await(back))
      })
    if (probe !== undefined) {
      yield* Effect.suspend(() => {
        if (!down) return Effect.void
        return Effect.map(probe, (up) => {
          if (!up) return
          down = false
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
      isDown: () => down,
      wakeAll: () => {
        draining = true
        wakeAll()
      }
    }
  })
