import { describe, expect, inject, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { MlflowClient, Search } from "../../src/index.js"
import { mlflowUrl, ownServer, postJson, uniqueName } from "./helpers.js"

/**
 * What MLflow 3.18 takes of a search (the length of a filter, the tables it joins, the order),
 * judged by real servers: what we accept, the project's server and a SQLite one answer; what we
 * refuse (before any request), the SQLite server refuses too (sent to it raw), but for the refusals
 * listed as deliberate, which it takes.
 */

interface Case {
  readonly label: string
  readonly filter?: string
  readonly orderBy?: ReadonlyArray<string>
}

const all = (count: number, clause: (i: number) => string) =>
  Array.from({ length: count }, (_, i) => clause(i)).join(" AND ")
const tags = (count: number) => all(count, (i) => `tags.k${i} = 'y'`)

const accepted: ReadonlyArray<Case> = [
  { label: "495 span conditions", filter: all(495, () => "span.name = 'a'") },
  { label: "495 attribute conditions", filter: all(495, () => "attributes.status = 'OK'") },
  { label: "63 tag conditions", filter: tags(63) },
  { label: "63 metadata conditions", filter: all(63, (i) => `metadata.k${i} = 'y'`) },
  { label: "63 feedback conditions", filter: all(63, (i) => `feedback.k${i} = 'y'`) },
  { label: "63 tag and 432 attribute conditions", filter: `${tags(63)} AND ${all(432, () => "status = 'OK'")}` },
  { label: "63 tag and 432 span conditions", filter: `${tags(63)} AND ${all(432, () => "span.type = 'LLM'")}` },
  { label: "300 tag presence tests", filter: all(300, (i) => `tags.k${i} IS NULL`) },
  { label: "300 trace name conditions", filter: all(300, (i) => `tags.mlflow.traceName != 'n${i}'`) },
  { label: "62 tag conditions ordered by a tag", filter: tags(62), orderBy: ["tags.z DESC"] },
  {
    label: "63 tag conditions ordered by name and session",
    filter: tags(63),
    orderBy: ["name", "metadata.mlflow.trace.session"]
  },
  ...[
    "timestamp_ms DESC",
    "timestamp",
    "timestamp DESC",
    "name ASC",
    "run_id desc",
    "experiment_id",
    "request_id",
    "end_time_ms",
    "execution_time DESC",
    "attributes.status",
    "attribute.status",
    "trace.status",
    "tags.env",
    "tag.env desc",
    "tags.`my key` DESC",
    "tags.mlflow.traceName",
    "metadata.x ASC",
    "timestamp_ms\tDESC",
    "timestamp_ms   DESC"
  ].map((order) => ({ label: `order ${JSON.stringify(order)}`, orderBy: [order] })),
  { label: "two orders", orderBy: ["name", "timestamp_ms DESC"] }
]

const refused: ReadonlyArray<Case> = [
  { label: "1001 attribute conditions", filter: all(1001, () => "attributes.status = 'OK'") },
  { label: "998 attribute conditions", filter: all(998, () => "attributes.status = 'OK'") },
  { label: "496 span conditions", filter: all(496, () => "span.name = 'a'") },
  { label: "64 tag conditions", filter: tags(64) },
  { label: "64 feedback presence tests", filter: all(64, (i) => `feedback.k${i} IS NOT NULL`) },
  { label: "64 issue conditions", filter: all(64, (i) => `issue.id = 'i${i}'`) },
  { label: "63 tag conditions ordered by a tag", filter: tags(63), orderBy: ["tags.z"] },
  { label: "62 tag conditions ordered by two tags", filter: tags(62), orderBy: ["tags.z", "tags.w"] },
  {
    label: "an IN list of 4000 names",
    filter: `attributes.name IN (${Array.from({ length: 4000 }, (_, i) => `'n${i}'`).join(",")})`
  },
  ...[
    "attr.status",
    "metadata.mlflow.trace.tokenUsage",
    "metadata.mlflow.trace.cost",
    "span.name",
    "feedback.x",
    "expectation.x",
    "issue.id",
    "unknown",
    "timestamp_ms DESCENDING",
    "timestamp_ms DESC NULLS",
    "",
    "  timestamp_ms   DESC  ",
    "TIMESTAMP_MS",
    "Name",
    "TAGS.env",
    "timestamp_ms DESC, name",
    "attributes.",
    "(timestamp_ms)",
    "timestamp_ms;",
    "tags.a-b",
    "tags.a b"
  ].map((order) => ({ label: `order ${JSON.stringify(order)}`, orderBy: [order] })),
  { label: "a key twice", orderBy: ["timestamp_ms DESC", "timestamp ASC"] },
  { label: "the trace name twice", orderBy: ["name", "tags.mlflow.traceName"] }
]

/** Refused on purpose, though the SQLite server takes them. */
const deliberate: ReadonlyArray<Case & { readonly reason: string }> = [
  {
    label: "600 attribute conditions",
    filter: all(600, () => "attributes.status = 'OK'"),
    reason: "one limit for every kind of condition: span conditions take twice the depth, and fail past 495"
  },
  {
    label: "order \"tags.\"",
    orderBy: ["tags."],
    reason: "an empty tag key orders by nothing"
  },
  {
    label: "order \"tags.'quoted key'\"",
    orderBy: ["tags.'quoted key'"],
    reason: "one way to quote a key in an order: back-ticks"
  }
]

/** The server's answer to a search sent as is. */
const raw = (url: string, experimentId: string, search: Case) =>
  Effect.promise(async () => {
    const response = await fetch(`${url}/api/3.0/mlflow/traces/search`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        locations: [{ type: "MLFLOW_EXPERIMENT", mlflow_experiment: { experiment_id: experimentId } }],
        max_results: 1,
        ...(search.filter === undefined ? {} : { filter: search.filter }),
        ...(search.orderBy === undefined ? {} : { order_by: search.orderBy })
      })
    })
    await response.arrayBuffer()
    return response.status
  })

const ours = (url: string, experimentId: string, search: Case) =>
  Effect.exit(
    Search.searchTraces({
      experimentIds: [experimentId],
      filter: search.filter,
      orderBy: search.orderBy,
      maxResults: 1,
      includeSpans: false
    }).pipe(Effect.provide(MlflowClient.layerConfigFetch({ trackingUri: url })))
  )

const experiment = (url: string) =>
  Effect.map(
    postJson(`${url}/api/2.0/mlflow/experiments/create`, { name: uniqueName("limits") }),
    (answer: { experiment_id: string }) => answer.experiment_id
  )

describe("the limits of a search, judged by MLflow 3.18", () => {
  it.scopedLive(
    "what we accept the servers take; what we refuse the SQLite store refuses",
    () =>
      Effect.gen(function*() {
        const project = mlflowUrl()
        const sqlite = inject("mlflowBackend") === "sqlite" ? project : (yield* ownServer({
          backendStoreUri: `sqlite:///${
            path.join(fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-limits-")), "mlflow.db")
          }`
        })).url
        const servers = [...new Set([project, sqlite])]
        const experiments = new Map<string, string>()
        for (const url of servers) experiments.set(url, yield* experiment(url))

        const wrong: Array<string> = []
        for (const search of accepted) {
          for (const url of servers) {
            const exit = yield* ours(url, experiments.get(url)!, search)
            if (Exit.isFailure(exit)) {
              wrong.push(`${search.label}: refused at ${url}: ${String(exit.cause)}`.slice(0, 400))
            }
          }
        }
        for (const search of [...refused, ...deliberate]) {
          const exit = yield* ours(sqlite, experiments.get(sqlite)!, search)
          const tag = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error._tag : undefined
          if (tag !== "SearchFilterError" && tag !== "SearchOrderError") {
            wrong.push(`${search.label}: not refused before the request (${Exit.isSuccess(exit) ? "sent" : tag})`)
          }
          const status = yield* raw(sqlite, experiments.get(sqlite)!, search)
          const expected = "reason" in search ? "taken" : "refused"
          if ((status === 200 ? "taken" : "refused") !== expected) {
            wrong.push(`${search.label}: the SQLite server answers ${status}, expected ${expected}`)
          }
        }
        expect(wrong).toEqual([])
      }),
    600_000
  )
})
