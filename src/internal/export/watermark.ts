import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"

/**
 * What flush waits on. Each offered item gets a sequence number; `low` is the lowest one not yet
 * settled (exported, failed or dropped). A flush waits for the items offered before it, until
 * `low` passes them, not for those offered while it waits.
 */
export interface Watermark<A> {
  readonly offered: (item: A) => void
  readonly settle: (items: ReadonlyArray<A>) => void
  /** `false` when `millis` passed first */
  readonly flush: (millis: number) => Effect.Effect<boolean>
}

export const make = <A>(): Watermark<A> => {
  let offered = 0
  let low = 1
  const unsettled = new Map<A, number>()
  const unsettledSeqs = new Set<number>()
  let waiters: Array<{ readonly upTo: number; readonly done: Deferred.Deferred<void> }> = []
  return {
    offered: (item) => {
      const seq = ++offered
      unsettled.set(item, seq)
      unsettledSeqs.add(seq)
    },
    settle: (items) => {
      for (const item of items) {
        const seq = unsettled.get(item)
        if (seq === undefined) continue
        unsettled.delete(item)
        unsettledSeqs.delete(seq)
      }
      while (low <= offered && !unsettledSeqs.has(low)) low++
      if (waiters.length > 0 && waiters[0].upTo < low) {
        const ready = waiters.filter((waiter) => waiter.upTo < low)
        waiters = waiters.filter((waiter) => waiter.upTo >= low)
        for (const waiter of ready) Deferred.unsafeDone(waiter.done, Exit.void)
      }
    },
    flush: (millis) =>
      Effect.suspend(() => {
        if (low > offered) return Effect.succeed(true)
        const waiter = Deferred.unsafeMake<void>(FiberId.none)
        waiters.push({ upTo: offered, done: waiter })
        // interruptible: layer release runs this in an uninterruptible finalizer, where the
        // timeout could not otherwise interrupt the wait and the deadline would be ignored
        return Effect.interruptible(Deferred.await(waiter)).pipe(
          Effect.timeoutTo({ duration: millis, onSuccess: () => true, onTimeout: () => false })
        )
      })
  }
}
