import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { randomUuid } from "../internal/common/ids.js"
import { deliver, type Delivered, timedOutError } from "../internal/export/replay.js"
import type { ExportError, Sink } from "../internal/export/sink.js"
import type { Claimed } from "../internal/export/spool.js"
import * as MlflowSink from "../internal/sinks/mlflow.js"
import * as Spool from "../internal/sinks/spool.js"
import { CliFailure, rejectOption } from "./failure.js"
import { client, flags, server, settings } from "./settings.js"
import { asClaimed, isFound, localStoreFiles, pathFiles, readTrace, type TraceFile } from "./sources.js"
import { printable, warn } from "./terminal.js"

/**
 * `effect-mlflow push [path...]`: sends traces of the local store and the spool (or of the paths
 * given) to a tracking server. Idempotent: a trace the server holds whole already is not sent again;
 * spooled traces are removed once stored, local-store files are kept. Resumable: stopped in the
 * middle, a second push sends the rest.
 *
 * @internal
 */

const BATCH = 50
const ATTEMPTS = 5

interface Tally {
  sent: number
  already: number
  refused: Array<{ readonly traceId: string; readonly error: ExportError }>
}

/** `[##########----------] 12/40 traces` on a terminal (one line redrawn), a line per batch elsewhere. */
const progress = (done: number, total: number) =>
  Effect.sync(() => {
    if (process.stderr.isTTY) {
      const width = 30
      const filled = total === 0 ? width : Math.round((done / total) * width)
      process.stderr.write(`\r[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${done}/${total} traces`)
      if (done >= total) process.stderr.write("\n")
    } else {
      process.stderr.write(`pushed ${done}/${total} traces\n`)
    }
  })

type Restore = <A, E>(effect: Effect.Effect<A, E>) => Effect.Effect<A, E>

/**
 * Sends one batch, taken anew for each attempt (a failed attempt puts spool claims back), retrying
 * transient failures with a doubling delay.
 */
const sendBatch = (
  take: Effect.Effect<ReadonlyArray<Claimed>, ExportError>,
  send: (claimed: ReadonlyArray<Claimed>, restore: Restore) => Effect.Effect<Delivered, ExportError>
): Effect.Effect<{ readonly taken: number; readonly delivered: Delivered }, ExportError> =>
  Effect.gen(function*() {
    for (let attempt = 1;; attempt++) {
      // a Ctrl-C between the claim and the send puts the claims back at once
      const attempted = yield* Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(take, (claimed) =>
          Effect.map(Effect.either(send(claimed, restore)), (result) => ({ claimed, result })))
      )
      const { claimed, result } = attempted
      if (claimed.length === 0) {
        return { taken: 0, delivered: { sent: 0, already: 0, refused: [] } }
      }
      if (result._tag === "Right") {
        return { taken: claimed.length, delivered: result.right }
      }
      if (!result.left.retryable || attempt >= ATTEMPTS) {
        return yield* Effect.fail(result.left)
      }
      yield* Effect.sleep(Duration.millis(500 * 2 ** (attempt - 1)))
    }
  })

export const push = Command.make(
  "push",
  {
    paths: Args.path({ name: "path" }).pipe(
      Args.withDescription("trace files, local-store directories or spools (default: the spool and the local store)"),
      Args.repeated
    ),
    ...flags
  },
  (args) =>
    Effect.gen(function*() {
      yield* rejectOption("push", args.paths)
      const config = yield* settings(args)
      const destination = yield* server(config, "push")
      const service = yield* client(config, destination)
      const sink: Sink = yield* MlflowSink.make(service, destination.experiment, "always", {
        spansOverOtlp: destination.databricks !== true
      })
      const record = Spool.recordOf(config, destination)
      const bounds = {
        maxBytes: config.spool.maxBytes,
        maxAgeMillis: Duration.toMillis(config.spool.maxAge)
      }
      const send = (claimed: ReadonlyArray<Claimed>, restore: Restore) =>
        deliver(claimed, {
          sink,
          within: (effect, onTimeout) =>
            Effect.timeoutFail(effect, { duration: Duration.times(config.requestTimeout, 2), onTimeout }),
          timedOut: timedOutError(Duration.times(config.requestTimeout, 2)),
          attachments: config.extractAttachments ? { maxSize: config.maxAttachmentSize, newId: randomUuid } : undefined
        }, restore)

      // what to send: spools are claimed from batch by batch, files are listed now and read batch by batch
      const given = args.paths.length > 0
      const listed = given
        ? yield* Effect.promise(() => pathFiles(args.paths))
        : { files: yield* Effect.promise(() => localStoreFiles(config.localDirectory)), missing: [] }
      if (listed.missing.length > 0) {
        return yield* new CliFailure({
          reason: "Usage",
          detail: `no such file or directory: ${listed.missing.join(", ")}`
        })
      }
      const spools = given
        ? (yield* Effect.promise(() =>
          Promise.all(
            args.paths.map(async (p) => ((await Spool.destinations(p)).some((d) => d.record) ? p : undefined))
          )
        )).filter((p): p is string => p !== undefined)
        : config.spoolDirectory === undefined
        ? []
        : [config.spoolDirectory]
      const files = listed.files
      let skipped = 0
      /** a batch of files read, the unreadable ones reported and left out */
      const readBatch = (batch: ReadonlyArray<TraceFile>) =>
        Effect.gen(function*() {
          const read = yield* Effect.promise(() => Promise.all(batch.map(readTrace)))
          for (const item of read) {
            if (!isFound(item)) {
              skipped++
              yield* warn(`skipped ${item.file}: ${item.problem}`)
            }
          }
          return read.filter(isFound).map(asClaimed)
        })

      let waiting = 0
      const others: Array<string> = []
      for (const spool of spools) {
        for (const { directory, record: theirs } of yield* Effect.promise(() => Spool.destinations(spool))) {
          const count = yield* Effect.promise(() => Spool.waitingCount(directory))
          if (theirs !== undefined && Spool.destinationKey(theirs) === Spool.destinationKey(record)) waiting += count
          else if (count > 0) others.push(`${count} for ${theirs?.tracking_uri ?? "?"} (${theirs?.experiment ?? "?"})`)
        }
      }
      const total = files.length + waiting
      const tally: Tally = { sent: 0, already: 0, refused: [] }
      let done = 0
      const count = (taken: number, delivered: Delivered) =>
        Effect.suspend(() => {
          tally.sent += delivered.sent
          tally.already += delivered.already
          tally.refused.push(...delivered.refused)
          done += taken
          return progress(Math.min(done, Math.max(total, done)), Math.max(total, done))
        })

      const failed = yield* Effect.gen(function*() {
        for (const spool of spools) {
          const opened = Spool.open(spool, record, bounds)
          for (;;) {
            const { delivered, taken } = yield* sendBatch(opened.claim(BATCH), send)
            if (taken === 0) break
            yield* count(taken, delivered)
          }
        }
        for (let i = 0; i < files.length; i += BATCH) {
          const batch = files.slice(i, i + BATCH)
          const { delivered } = yield* sendBatch(Effect.succeed(yield* readBatch(batch)), send)
          yield* count(batch.length, delivered)
        }
        return undefined
      }).pipe(Effect.catchAll((error) => Effect.succeed(error)))

      const where = `${destination.trackingUri} (experiment ${record.experiment.replace(/^(id|name):/, "")})`
      yield* Console.log(
        `${tally.sent + tally.already} of ${total - skipped} traces stored at ${
          printable(where)
        }: ${tally.sent} sent, ` +
          `${tally.already} already there, ${tally.refused.length} refused`
      )
      if (others.length > 0) {
        yield* warn(`left in the spool for other destinations: ${others.join(", ")}`)
      }
      for (const { error, traceId } of tally.refused) {
        yield* warn(`${traceId} refused: ${error.message}`)
      }
      if (failed !== undefined) {
        return yield* new CliFailure({
          reason: "Server",
          detail: `stopped: ${failed.message}; the traces not sent stay where they were, run push again to send them`
        })
      }
      if (tally.refused.length > 0) {
        return yield* new CliFailure({
          reason: "Incomplete",
          detail: `${tally.refused.length} trace(s) refused by the server`
        })
      }
    })
).pipe(Command.withDescription(
  "Send local-store and spool traces to a tracking server (MLFLOW_TRACKING_URI, MLFLOW_EXPERIMENT_ID/NAME or flags); " +
    "idempotent and resumable"
))
