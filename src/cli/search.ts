import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as MlflowClient from "../MlflowClient.js"
import * as Search from "../Search.js"
import * as SearchFilter from "../SearchFilter.js"
import { CliFailure, rejectOption } from "./failure.js"
import { formatDuration } from "./render.js"
import { client, experimentsOf, flags, server, serverFailure, settings } from "./settings.js"

/**
 * `effect-mlflow search <filter>`: the traces of the experiment that match a filter string
 * (validated first, as `SearchFilter.parse` does), as a table.
 *
 * @internal
 */

const cell = (text: string, width: number) => text.length <= width ? text : `${text.slice(0, width - 1)}…`

/** Rows as columns padded to their widest cell; the last column is not padded. */
export const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i].length)))
  const line = (row: ReadonlyArray<string>) =>
    row.map((text, i) => i === row.length - 1 ? text : text.padEnd(widths[i])).join("  ").trimEnd()
  return [line(header), ...rows.map(line)].join("\n")
}

export const search = Command.make(
  "search",
  {
    filter: Args.text({ name: "filter" }).pipe(
      Args.withDescription(`an MLflow filter string, e.g. "tag.env = 'prod' AND execution_time_ms > 1000" ("" for all)`)
    ),
    maxResults: Options.integer("max-results").pipe(
      Options.withDescription("how many traces, at most 500"),
      Options.withDefault(20)
    ),
    orderBy: Options.text("order-by").pipe(
      Options.withDescription(`e.g. "timestamp_ms DESC" (the default) or "execution_time_ms DESC"`),
      Options.withDefault("timestamp_ms DESC")
    ),
    ...flags
  },
  (args) =>
    Effect.gen(function*() {
      yield* rejectOption("search", [args.filter])
      if (args.maxResults < 1 || args.maxResults > 500) {
        return yield* new CliFailure({ reason: "Usage", detail: "--max-results expects a number from 1 to 500" })
      }
      const filter = args.filter.trim()
      if (filter !== "") {
        yield* SearchFilter.parse(filter).pipe(
          Effect.mapError((error) => new CliFailure({ reason: "Usage", detail: `invalid filter: ${error.message}` }))
        )
      }
      const config = yield* settings(args)
      const destination = yield* server(config, "search")
      const service = yield* client(config, destination)
      const page = yield* Search.searchTraces({
        ...experimentsOf(destination),
        filter: filter === "" ? undefined : filter,
        maxResults: args.maxResults,
        orderBy: [args.orderBy],
        includeSpans: false
      }).pipe(
        Effect.provideService(MlflowClient.MlflowClient, service),
        Effect.catchTag("SearchFilterError", (error) =>
          Effect.fail(new CliFailure({ reason: "Usage", detail: `invalid filter: ${error.message}` }))),
        Effect.catchTags({
          MlflowApiError: (e) =>
            Effect.fail(serverFailure(e)),
          MlflowTransportError: (e) => Effect.fail(serverFailure(e))
        })
      )
      if (page.traces.length === 0) {
        yield* Console.error("no traces match")
        return
      }
      yield* Console.log(table(
        ["TRACE ID", "TIME (UTC)", "STATE", "DURATION", "NAME", "REQUEST"],
        page.traces.map(({ info }) => [
          info.traceId,
          new Date(info.requestTimeMs).toISOString().replace("T", " ").replace(/\.\d+Z$/, ""),
          info.state,
          formatDuration(info.executionDurationMs),
          cell(info.tags["mlflow.traceName"] ?? "", 32),
          cell((info.requestPreview ?? "").replace(/\s+/g, " "), 60)
        ])
      ))
      if (page.nextPageToken._tag === "Some") {
        yield* Console.error(`(more than ${args.maxResults}: raise --max-results)`)
      }
    })
).pipe(Command.withDescription("Search the experiment's traces with an MLflow filter string; prints a table"))
