import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as path from "node:path"
import * as MlflowClient from "../MlflowClient.js"
import * as Search from "../Search.js"
import type { Trace } from "../Trace.js"
import { CliFailure, rejectOption } from "./failure.js"
import { renderTrace } from "./render.js"
import { client, experimentsOf, type Flags, flags, server, serverFailure, settings } from "./settings.js"
import { newestFirst, newestTraces, traceFiles } from "./sources.js"
import { colorOn, warn } from "./terminal.js"

/**
 * `effect-mlflow view [trace-id] [--last N]`: traces as trees with a waterfall, from the local
 * store and the spool, or with `--server` from the tracking server.
 *
 * @internal
 */

const withPrefix = (id: string) => id.startsWith("tr-") ? id : `tr-${id}`

interface Shown {
  readonly trace: Trace
  readonly source: string
}

const fromDisk = (
  config: { readonly dir: string; readonly spool: string | undefined },
  wanted: Option.Option<string>,
  last: number
) =>
  Effect.gen(function*() {
    const found = yield* Effect.promise(() =>
      Option.match(wanted, {
        onNone: () => newestTraces(config.dir, config.spool, last),
        onSome: (id) => traceFiles(config.dir, config.spool, withPrefix(id))
      })
    )
    for (const { file, problem } of found.unreadable) {
      yield* warn(`skipped ${file}: ${problem}`)
    }
    const where = [config.dir, ...(config.spool === undefined ? [] : [`the spool ${config.spool}`])].join(" and ")
    if (found.traces.length === 0) {
      return yield* new CliFailure({
        reason: "NotFound",
        detail: Option.isSome(wanted)
          ? `trace ${withPrefix(wanted.value)} is not in ${where} (add --server to read it from the tracking server)`
          : `no traces in ${where}: run a traced program (npm run demo) first, or add --server`
      })
    }
    return [...found.traces].sort(newestFirst).map((found): Shown => ({
      trace: found.trace,
      source: `${found.kind === "spool" ? "spool " : ""}${path.relative(process.cwd(), found.file) || found.file}`
    }))
  })

const fromServer = (flagged: Flags, wanted: Option.Option<string>, last: number) =>
  Effect.gen(function*() {
    const config = yield* settings(flagged)
    const destination = yield* server(config, "view --server")
    const service = yield* client(config, destination)
    const traces = yield* Option.match(wanted, {
      onSome: (id) => Effect.map(Search.getTrace(withPrefix(id)), (trace) => [trace]),
      onNone: () =>
        Effect.map(
          Search.searchTraces({ ...experimentsOf(destination), maxResults: last, orderBy: ["timestamp_ms DESC"] }),
          (page) => page.traces
        )
    }).pipe(
      Effect.provideService(MlflowClient.MlflowClient, service),
      Effect.catchTag("MlflowApiError", (error) =>
        error.status === 404
          ? Effect.fail(new CliFailure({ reason: "NotFound", detail: error.message }))
          : Effect.fail(serverFailure(error))),
      Effect.catchTag("MlflowTransportError", (error) => Effect.fail(serverFailure(error))),
      Effect.catchTags({
        SearchFilterError: (error) => Effect.fail(serverFailure(error)),
        SearchOrderError: (error) => Effect.fail(serverFailure(error))
      })
    )
    if (traces.length === 0) {
      return yield* new CliFailure({
        reason: "NotFound",
        detail: `no traces in the experiment at ${destination.trackingUri}`
      })
    }
    return traces.map((trace): Shown => ({ trace, source: destination.trackingUri }))
  })

export const view = Command.make(
  "view",
  {
    traceId: Args.text({ name: "trace-id" }).pipe(
      Args.withDescription("the trace to show (tr-...); default: the newest"),
      Args.optional
    ),
    last: Options.integer("last").pipe(
      Options.withAlias("n"),
      Options.withDescription("show the newest N traces"),
      Options.withDefault(1)
    ),
    server: Options.boolean("server").pipe(
      Options.withDescription("read from the tracking server (MLFLOW_TRACKING_URI or --tracking-uri)")
    ),
    ...flags
  },
  (args) =>
    Effect.gen(function*() {
      yield* rejectOption("view", Option.toArray(args.traceId))
      if (args.last < 1) {
        return yield* new CliFailure({ reason: "Usage", detail: "--last expects a number of 1 or more" })
      }
      const shown = args.server
        ? yield* fromServer(args, args.traceId, args.last)
        : yield* Effect.flatMap(
          settings(args),
          (config) => fromDisk({ dir: config.localDirectory, spool: config.spoolDirectory }, args.traceId, args.last)
        )
      const text = shown.map(({ source, trace }) => renderTrace(trace, { color: colorOn(), source })).join("\n")
      yield* Console.log(text.trimEnd())
    })
).pipe(
  Command.withDescription("Show traces as trees with a waterfall: names, span types, durations, status, token usage")
)
