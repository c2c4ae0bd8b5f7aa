import type * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as MutableQueue from "effect/MutableQueue"
import * as Queue from "effect/Queue"

/** What became of an offer. */
export type Offered<A> =
  | { readonly _tag: "Queued" }
  | { readonly _tag: "Evicted"; readonly oldest: A }
  | { readonly _tag: "Refused" }
  | { readonly _tag: "Closed" }

/**
 * The export queue: bounded, sliding (a full queue evicts its oldest item) or dropping (it refuses
 * the new one), with a synchronous `offer` for `span.end()`: no effect is run on the user's fiber.
 * `close` is the shutdown gate: it takes what is left, and every later offer answers `Closed`.
 */
export interface TraceQueue<A> {
  readonly offer: (item: A) => Offered<A>
  readonly takeBetween: (min: number, max: number) => Effect.Effect<Chunk.Chunk<A>>
  /** items waiting (never negative) */
  readonly size: () => number
  readonly close: Effect.Effect<ReadonlyArray<A>>
}

const variance = { _A: (a: never) => a }

/** A `Queue` backing store we can poll synchronously (Effect's own one is not exported). */
class Backing<A> implements Queue.BackingQueue<A> {
  readonly [Queue.BackingQueueTypeId] = variance as never
  constructor(readonly mutable: MutableQueue.MutableQueue<A>) {}
  poll<Def>(def: Def): A | Def {
    return MutableQueue.poll(this.mutable, def)
  }
  pollUpTo(limit: number): Chunk.Chunk<A> {
    return MutableQueue.pollUpTo(this.mutable, limit)
  }
  offerAll(elements: Iterable<A>): Chunk.Chunk<A> {
    return MutableQueue.offerAll(this.mutable, elements)
  }
  offer(element: A): boolean {
    return MutableQueue.offer(this.mutable, element)
  }
  capacity(): number {
    return MutableQueue.capacity(this.mutable)
  }
  length(): number {
    return MutableQueue.length(this.mutable)
  }
}

const EMPTY = Symbol("empty")

export const make = <A>(capacity: number, strategy: "sliding" | "dropping"): Effect.Effect<TraceQueue<A>> => {
  const store = new Backing(MutableQueue.bounded<A>(capacity))
  return Effect.map(Queue.make(store, Queue.droppingStrategy<A>()), (queue) => {
    let closed = false
    const offer = (item: A): Offered<A> => {
      if (closed) return { _tag: "Closed" }
      if (Queue.unsafeOffer(queue, item)) return { _tag: "Queued" }
      if (strategy === "dropping") return { _tag: "Refused" }
      // full: a full queue has no waiting taker, so its oldest item is at the head of the store
      const oldest = store.poll(EMPTY)
      Queue.unsafeOffer(queue, item)
      return oldest === EMPTY ? { _tag: "Queued" } : { _tag: "Evicted", oldest }
    }
    return {
      offer,
      takeBetween: (min, max) => Queue.takeBetween(queue, min, max),
      size: () => {
        const size = queue.unsafeSize()
        return size._tag === "Some" ? Math.max(0, size.value) : 0
      },
      close: Effect.suspend(() => {
        closed = true
        return Effect.map(Queue.takeAll(queue), (left) => Array.from(left))
      })
    }
  })
}
