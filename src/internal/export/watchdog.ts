import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import type * as Scope from "effect/Scope"
import { ExportError } from "./sink.js"

/**
 * Time limits for export attempts, kept by one fiber for all of them. `Effect.timeoutFail` races
 * each attempt against a sleeping fiber: two forks, a timer and an interruption per attempt, which
 * with a fast destination cost more than the export itself. Here each worker hands its attempts to
 * a long-lived runner fiber and waits for the answer; the watchdog, asleep until the earliest
 * deadline, interrupts the runner of an attempt still running when it passes, and the next attempt
 * gets a new runner.
 *
 * @internal
 */
export interface Watchdog {
  /** A runner for one worker: runs one attempt at a time, failed with `onTimeout()` past the limit. */
  readonly runner: () => Runner
}

/** @internal */
export type Runner = <A, E>(effect: Effect.Effect<A, E>, onTimeout: () => E) => Effect.Effect<A, E>

interface Entry {
  readonly deadline: number
  readonly runner: Fiber.RuntimeFiber<unknown, unknown>
}

interface Job {
  readonly effect: Effect.Effect<unknown, unknown>
  readonly answer: (exit: Exit.Exit<unknown, unknown>) => void
}

/** @internal */
export const make = (limit: Duration.Duration): Effect.Effect<Watchdog, never, Scope.Scope> =>
  Effect.gen(function*() {
    const millis = Duration.toMillis(limit)
    const clock = yield* Effect.clock
    // at most one attempt per worker is running: a few entries, scanned when the watchdog wakes
    const active = new Set<Entry>()
    let idle: Deferred.Deferred<void> | undefined

    const watch: Effect.Effect<never> = Effect.suspend(() => {
      if (active.size === 0) {
        idle = Deferred.unsafeMake<void>(FiberId.none)
        return Deferred.await(idle)
      }
      const now = clock.unsafeCurrentTimeMillis()
      let earliest = Number.POSITIVE_INFINITY
      const expired: Array<Entry> = []
      for (const entry of active) {
        if (entry.deadline <= now) expired.push(entry)
        else if (entry.deadline < earliest) earliest = entry.deadline
      }
      if (expired.length === 0) return Effect.sleep(Duration.millis(earliest - now))
      for (const entry of expired) active.delete(entry)
      return Effect.forEach(expired, (entry) => Fiber.interruptFork(entry.runner), { discard: true })
    }).pipe(Effect.forever)
    yield* Effect.forkScoped(Effect.withTracerEnabled(watch, false))

    // a new deadline is never earlier than the ones the watchdog sleeps towards: it is woken only when idle
    const watched = (runner: Fiber.RuntimeFiber<unknown, unknown>): Entry => {
      const entry: Entry = { deadline: clock.unsafeCurrentTimeMillis() + millis, runner }
      active.add(entry)
      if (idle !== undefined) {
        Deferred.unsafeDone(idle, Effect.void)
        idle = undefined
      }
      return entry
    }

    const runner = (): Runner => {
      let fiber: Fiber.RuntimeFiber<never, never> | undefined
      // the runner's mailbox: one job at a time (its worker waits for the answer)
      let posted: Job | undefined
      let waiting: ((job: Job) => void) | undefined
      let running: Job | undefined
      const nextJob = Effect.async<Job>((resume) => {
        if (posted === undefined) waiting = (job) => resume(Effect.succeed(job))
        else resume(Effect.succeed(take()))
      })
      const take = (): Job => {
        const job = posted!
        posted = undefined
        running = job
        return job
      }
      const post = (job: Job) => {
        posted = job
        if (waiting === undefined) return
        const wake = waiting
        waiting = undefined
        wake(take())
      }
      const serve: Effect.Effect<never> = Effect.flatMap(nextJob, (job) =>
        Effect.map(Effect.exit(job.effect), (exit) => {
          running = undefined
          job.answer(exit)
        })).pipe(Effect.forever)

      const started = (current: Fiber.RuntimeFiber<never, never>) => {
        fiber = current
        // a runner ends only when interrupted: by the watchdog, or with its worker
        current.addObserver(() => {
          if (fiber === current) fiber = undefined
          const job = running ?? posted
          running = undefined
          posted = undefined
          waiting = undefined
          job?.answer(Exit.interrupt(FiberId.none))
        })
        return current
      }

      return <A, E>(effect: Effect.Effect<A, E>, onTimeout: () => E): Effect.Effect<A, E> =>
        Effect.flatMap(
          Effect.suspend(() => fiber === undefined ? Effect.map(Effect.fork(serve), started) : Effect.succeed(fiber)),
          (current) => {
            const entry = watched(current)
            return Effect.async<A, E>((resume) => {
              const job: Job = {
                effect,
                answer: (exit) => {
                  active.delete(entry)
                  // interrupted from outside (the runner is gone): the watchdog cut the attempt short
                  const timedOut = exit._tag === "Failure" && Exit.isInterrupted(exit) && fiber !== current
                  resume(timedOut ? Effect.fail(onTimeout()) : exit as Exit.Exit<A, E>)
                }
              }
              post(job)
              return Effect.suspend(() => {
                active.delete(entry)
                return running === job || posted === job ? Fiber.interruptFork(current) : Effect.void
              })
            })
          }
        )
    }
    return { runner }
  })

/**
 * The error of an attempt cut off at its time limit.
 *
 * @internal
 */
export const timedOutError = (attemptTimeout: Duration.Duration): ExportError =>
  new ExportError({
    detail: `export timed out after ${Duration.format(attemptTimeout)}`,
    retryable: true,
    reason: "export timed out"
  })
