/**
 * Reading traces back: search (one page, or a `Stream` over all pages), get, delete. Filters are
 * validated before any request; answers are parsed bigint-safe.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Limits from "./internal/client/searchLimits.js"
import type { StoredTraceInfo } from "./internal/format/traceRead.js"
import { MlflowApiError, MlflowClient, type MlflowError } from "./MlflowClient.js"
import * as SearchFilter from "./SearchFilter.js"
import type { Trace } from "./Trace.js"

/**
 * A trace read back from MLflow: its info (with assessments) and its spans, root first.
 *
 * @since 0.1.0
 * @category models
 */
export interface StoredTrace extends Trace {
  readonly info: StoredTraceInfo
}

/**
 * @since 0.1.0
 * @category models
 */
export interface SearchOptions {
  /** experiments to search; with `experimentNames`, the union; default experiment `0` */
  readonly experimentIds?: ReadonlyArray<string> | undefined
  readonly experimentNames?: ReadonlyArray<string> | undefined
  /** a filter string (validated first) or a `SearchFilter.Filter` */
  readonly filter?: string | SearchFilter.Filter | undefined
  /** e.g. `["timestamp_ms DESC"]`; MLflow's default is newest first */
  readonly orderBy?: ReadonlyArray<string> | undefined
  /** page size, at most 500; default 100 */
  readonly maxResults?: number | undefined
  readonly pageToken?: string | undefined
  /** fetch each trace's spans too; default `true` */
  readonly includeSpans?: boolean | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Page {
  readonly traces: ReadonlyArray<StoredTrace>
  readonly nextPageToken: Option.Option<string>
}

/**
 * An order MLflow would refuse (an unknown key, a duplicate, a direction other than ASC or DESC),
 * or one that takes the search past what MLflow's store joins.
 *
 * @since 0.2.0
 * @category errors
 */
export const SearchOrderError: typeof Limits.SearchOrderError = Limits.SearchOrderError

/**
 * @since 0.2.0
 * @category errors
 */
export type SearchOrderError = Limits.SearchOrderError

/** The filter as sent, and the order checked against it. */
const checked = (
  options: SearchOptions
): Effect.Effect<string | undefined, SearchFilter.SearchFilterError | SearchOrderError> =>
  Effect.gen(function*() {
    const filter = options.filter === undefined
      ? undefined
      : typeof options.filter === "string"
      ? options.filter
      : yield* SearchFilter.renderEither(options.filter)
    const parsed = filter === undefined ? { clauses: [] } : yield* SearchFilter.parse(filter)
    const refused = Limits.checkOrderBy(options.orderBy ?? [], Limits.joinedTables(parsed))
    if (refused !== undefined) return yield* refused
    return filter
  })

const experimentIds = (client: MlflowClient["Type"], options: SearchOptions) =>
  Effect.gen(function*() {
    const ids = [...(options.experimentIds ?? [])]
    for (const name of options.experimentNames ?? []) {
      const found = yield* client.getExperimentByName(name)
      if (Option.isNone(found)) {
        return yield* new MlflowApiError({
          reason: "Status",
          method: "GET",
          url: "/api/2.0/mlflow/experiments/get-by-name",
          status: 404,
          errorCode: "RESOURCE_DOES_NOT_EXIST",
          detail: `no experiment named "${name}"`
        })
      }
      ids.push(found.value.experimentId)
    }
    return ids.length === 0 ? ["0"] : ids
  })

/**
 * One page of traces matching the options.
 *
 * @since 0.1.0
 * @category search
 */
export const searchTraces = (
  options: SearchOptions = {}
): Effect.Effect<Page, MlflowError | SearchFilter.SearchFilterError | SearchOrderError, MlflowClient> =>
  Effect.gen(function*() {
    const filter = yield* checked(options)
    const client = yield* MlflowClient
    const ids = yield* experimentIds(client, options)
    const page = yield* client.searchTraces({
      experimentIds: ids,
      filter,
      maxResults: options.maxResults,
      orderBy: options.orderBy,
      pageToken: options.pageToken
    })
    const traces = options.includeSpans === false
      ? page.traces.map((info): StoredTrace => ({ info, spans: [] }))
      : yield* Effect.forEach(
        page.traces,
        (info) => Effect.map(client.getTrace(info.traceId), (trace) => ({ ...trace, info })),
        { concurrency: 4 }
      )
    return { traces, nextPageToken: Option.fromNullable(page.nextPageToken) }
  })

/**
 * Every trace matching the options, page after page.
 *
 * @since 0.1.0
 * @category search
 */
export const stream = (
  options: SearchOptions = {}
): Stream.Stream<StoredTrace, MlflowError | SearchFilter.SearchFilterError | SearchOrderError, MlflowClient> =>
  Stream.paginateEffect(options.pageToken, (pageToken: string | undefined) =>
    Effect.map(
      searchTraces({ ...options, pageToken }),
      (page) => [page.traces, Option.map(page.nextPageToken, (token): string | undefined => token)] as const
    )).pipe(Stream.flattenIterables)

/**
 * A trace with its spans (from the tracking store, or its `traces.json` artifact).
 *
 * @since 0.1.0
 * @category read
 */
export const getTrace = (traceId: string): Effect.Effect<StoredTrace, MlflowError, MlflowClient> =>
  Effect.flatMap(MlflowClient, (client) => client.getTrace(traceId))

/**
 * Deletes traces by id, or those older than a time (the retention job), at most `maxTraces` of
 * them, oldest first. Answers how many were deleted.
 *
 * @since 0.1.0
 * @category delete
 */
export const deleteTraces = (
  request:
    | { readonly experimentId: string; readonly traceIds: ReadonlyArray<string> }
    | { readonly experimentId: string; readonly olderThan: Date | number; readonly maxTraces?: number | undefined }
): Effect.Effect<number, MlflowError, MlflowClient> =>
  Effect.flatMap(MlflowClient, (client) =>
    client.deleteTraces(
      "traceIds" in request
        ? request
        : {
          experimentId: request.experimentId,
          olderThanMillis: request.olderThan instanceof Date ? request.olderThan.getTime() : request.olderThan,
          maxTraces: request.maxTraces
        }
    ))
