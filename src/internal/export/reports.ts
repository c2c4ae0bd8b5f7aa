import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type { DropReason } from "./ledger.js"
import type { ExportError } from "./sink.js"

/** reasons remembered for de-duplicated and throttled reports */
const MAX_REMEMBERED = 256

/** How the exporter tells the user about failures without flooding the log. */
export interface Reports {
  /** A non-retryable error is logged the first time its reason is seen; later ones are only counted. */
  readonly once: (what: string, error: ExportError) => Effect.Effect<void>
  /** Transient failures are warned about at once, then at most once per reason per interval. */
  readonly throttled: (message: string, error: ExportError) => Effect.Effect<void>
}

const reasonOf = (error: ExportError) => error.reason ?? error.detail.slice(0, 200)

/** `destination`: named in every message (when there is more than one) */
export const make = (warnInterval: Duration.Duration, destination?: string): Reports => {
  const prefix = destination === undefined ? "effect-mlflow" : `effect-mlflow (${destination})`
  // both bounded: the oldest reason is forgotten first
  const reported = new Set<string>()
  const warned = new Map<string, number>()
  return {
    once: (what, error) =>
      Effect.suspend(() => {
        const key = `${what}|${reasonOf(error)}`
        if (reported.has(key)) return Effect.void
        if (reported.size >= MAX_REMEMBERED) reported.delete(reported.values().next().value!)
        reported.add(key)
        return Effect.logError(`${prefix}: ${what}: ${error.detail}`)
      }),
    throttled: (message, error) =>
      Effect.clockWith((clock) => {
        const now = clock.unsafeCurrentTimeMillis()
        const key = `${message}|${reasonOf(error)}`
        const last = warned.get(key)
        if (last !== undefined && now - last < Duration.toMillis(warnInterval)) return Effect.void
        if (last === undefined && warned.size >= MAX_REMEMBERED) warned.delete(warned.keys().next().value!)
        warned.set(key, now)
        return Effect.logWarning(`${prefix}: ${message}: ${error.detail}`)
      })
  }
}

/** What to change so that traces are not dropped for a reason. */
const DROP_HINTS: Readonly<Record<DropReason, string>> = {
  queueFull: "raise queueCapacity or workers",
  bufferFull: "raise bufferMaxSize",
  bufferTtl: "raise bufferTtl",
  lateSpan: "raise lateSpanGrace",
  shutdown: "raise shutdownTimeout, or set spoolDirectory",
  spoolFull: "raise spoolMaxBytes",
  spoolExpired: "raise spoolMaxAge"
}

/**
 * The warning about dropped traces, by reason, with what to change for each; `atRelease`: the last
 * one, with the totals of the layer's life.
 */
export const dropWarning = (
  drops: ReadonlyArray<readonly [DropReason, number]>,
  atRelease: boolean,
  destination?: string
): Effect.Effect<void> => {
  if (drops.length === 0) return Effect.void
  const counts = drops.map(([reason, n]) => `${n} (${reason})`).join(", ")
  const hints = [...new Set(drops.map(([reason]) => DROP_HINTS[reason]))].join("; ")
  return Effect.logWarning(
    `effect-mlflow${destination === undefined ? "" : ` (${destination})`}: dropped traces` +
      `${atRelease ? " in all, at release" : ""}: ${counts}; ${hints}`
  )
}
