import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import { mlflowTraceId } from "../common/ids.js"
import type { CompletedTrace } from "../tracing/assembler.js"

/**
 * Traces handed off and not yet stored, by MLflow trace id, so that a tag set after the root ended
 * (`Mlflow.setTraceTag`) still goes out with the trace, or waits until it is stored.
 */
export interface Pending {
  readonly add: (item: CompletedTrace) => void
  /** a worker took the trace: tags now have to wait until it is stored */
  readonly taken: (item: CompletedTrace) => void
  /** the trace is stored, failed or dropped */
  readonly forget: (item: CompletedTrace) => void
  /**
   * Sets (or, with `undefined`, removes) a tag of a queued trace: `"applied"` when the trace will
   * be exported with it, `"stored"` when it is (now) stored and the tag must be set on the server.
   */
  readonly tag: (traceId: string, key: string, value: string | undefined) => Effect.Effect<"applied" | "stored">
}

interface Entry {
  readonly item: CompletedTrace
  inFlight: boolean
  readonly waiters: Array<Deferred.Deferred<void>>
}

export const make = (): Pending => {
  const entries = new Map<string, Entry>()
  const entryOf = (item: CompletedTrace): Entry | undefined => {
    if (item.late) return undefined
    const entry = entries.get(mlflowTraceId(item.otelTraceId))
    return entry?.item === item ? entry : undefined
  }
  return {
    add: (item) => {
      if (!item.late) entries.set(mlflowTraceId(item.otelTraceId), { item, inFlight: false, waiters: [] })
    },
    taken: (item) => {
      const entry = entryOf(item)
      if (entry !== undefined) entry.inFlight = true
    },
    forget: (item) => {
      const entry = entryOf(item)
      if (entry === undefined) return
      entries.delete(mlflowTraceId(item.otelTraceId))
      for (const waiter of entry.waiters) Deferred.unsafeDone(waiter, Exit.void)
    },
    tag: (traceId, key, value) =>
      Effect.suspend((): Effect.Effect<"applied" | "stored"> => {
        const entry = entries.get(traceId)
        if (entry === undefined) return Effect.succeed("stored")
        if (!entry.inFlight) {
          // finalized only when a worker takes it: the tag goes out with the trace
          if (value === undefined) delete entry.item.updates.tags[key]
          else entry.item.updates.tags[key] = value
          return Effect.succeed("applied")
        }
        const waiter = Deferred.unsafeMake<void>(FiberId.none)
        entry.waiters.push(waiter)
        return Effect.as(Deferred.await(waiter), "stored")
      })
  }
}
