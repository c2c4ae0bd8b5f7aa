import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { checkOrderBy, joinedTables } from "../internal/client/searchLimits.js"
import * as MlflowClient from "../MlflowClient.js"
import * as Search from "../Search.js"
import * as SearchFilter from "../SearchFilter.js"
import { CliFailure, invalidFilter, invalidOrder, rejectOption } from "./failure.js"
import { formatDuration } from "./render.js"
import { client, experimentsOf, flags, server, serverFailure, settings } from "./settings.js"
import { printable } from "./terminal.js"

/**
 * `effect-mlflow search <filter>`: the traces of the experiment that match a filter string
 * (validated first, as `SearchFilter.parse` does), as a table.
 *
 * @internal
 */

/** Foreign text as a cell of at most `width` characters. */
const cell = (text: string, width: number) => {
  const shown = printable(text)
  return shown.length <= width ? shown : `${shown.slice(0, width - 1)}…`
}

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
      const parsed = filter === ""
        ? { clauses: [] }
        : yield* SearchFilter.parse(filter).pipe(Effect.mapError(invalidFilter))
      const refusedOrder = checkOrderBy([args.orderBy], joinedTables(parsed))
      if (refusedOrder !== undefined) return yield* invalidOrder(refusedOrder)
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
        Effect.catchTag("SearchFilterError", (error) => Effect.fail(invalidFilter(error))),
        Effect.catchTag("SearchOrderError", (error) => Effect.fail(invalidOrder(error))),
        Effect.catchTags({
          MlflowApiError: (e) => Effect.fail(serverFailure(e)),
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
          printable(info.traceId),
          new Date(info.requestTimeMs).toISOString().replace("T", " ").replace(/\.\d+Z$/, ""),
          printable(info.state),
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
