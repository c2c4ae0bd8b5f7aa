import * as Duration from "effect/Duration"
import * as Schedule from "effect/Schedule"
import type { ExportError } from "./sink.js"

/** @internal */
export interface RetryOptions {
  /** first delay */
  readonly initialDelay: Duration.Duration
  /** longest delay between two attempts (a longer `Retry-After` still wins) */
  readonly maxDelay: Duration.Duration
  /** total time spent retrying one batch: no attempt starts after it */
  readonly budget: Duration.Duration
}

/**
 * Exponential backoff with jitter, for transient errors only, honouring `Retry-After`, within a
 * total time budget (each delay is cut to what is left of it, so no attempt starts past it; a
 * `Retry-After` past it ends the retries, as the only attempt left would come too early).
 *
 * @internal
 */
export const policy = (options: RetryOptions): Schedule.Schedule<unknown, ExportError> =>
  Schedule.exponential(options.initialDelay, 2).pipe(
    Schedule.modifyDelay((_, delay) => Duration.min(delay, options.maxDelay)),
    Schedule.jittered,
    Schedule.zipRight(Schedule.identity<ExportError>()),
    Schedule.modifyDelay((error, delay) =>
      error.retryAfterMillis === undefined ? delay : Duration.max(delay, Duration.millis(error.retryAfterMillis))
    ),
    Schedule.whileInput((error: ExportError) => error.retryable),
    Schedule.intersect(Schedule.elapsed),
    Schedule.whileOutput(([, elapsed]) => Duration.lessThan(elapsed, options.budget)),
    // the destination asked to wait past the budget: no attempt it refused in advance
    Schedule.check((error, [, elapsed]) =>
      error.retryAfterMillis === undefined ||
      Duration.toMillis(elapsed) + error.retryAfterMillis <= Duration.toMillis(options.budget)
    ),
    Schedule.modifyDelay(([, elapsed], delay) =>
      Duration.min(delay, Duration.subtract(options.budget, Duration.min(elapsed, options.budget)))
    )
  )
