import * as Effect from "effect/Effect"

/**
 * How long a piece of export work (preparing or encoding a big trace) holds the event loop before
 * it yields: the program's timers and I/O wait no longer than this for the exporter.
 */
const SLICE_MILLIS = 4

const now: () => number = typeof performance === "object" ? () => performance.now() : () => Date.now()

/**
 * A turn of the event loop, whatever the fiber's scheduler (Effect's default one yields to
 * microtasks only, and those run before any timer or I/O)
 */
const nextTurn: Effect.Effect<void> = Effect.async<void>((resume) => {
  const resumed = () => resume(Effect.void)
  if (typeof setImmediate === "function") setImmediate(resumed)
  else setTimeout(resumed, 0)
})

/**
 * Runs `f` on every item in order. `yielding`: as an effect that lets the event loop turn whenever a
 * slice of the work has taken `SLICE_MILLIS`; otherwise in one go. The same code either way, so the answers do not differ.
 *
 * @internal
 */
export const forEachInSlices = <A>(
  items: ReadonlyArray<A>,
  f: (item: A, index: number) => void,
  yielding: boolean
): Effect.Effect<void> => {
  if (!yielding) {
    return Effect.sync(() => {
      for (let i = 0; i < items.length; i++) f(items[i], i)
    })
  }
  const from = (start: number): Effect.Effect<void> =>
    Effect.suspend(() => {
      const began = now()
      let i = start
      while (i < items.length) {
        f(items[i], i++)
        if (now() - began >= SLICE_MILLIS) break
      }
      return i >= items.length ? Effect.void : Effect.zipRight(nextTurn, from(i))
    })
  return from(0)
}
