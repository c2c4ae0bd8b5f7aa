import { describe, expect, it } from "@effect/vitest"
import { Effect, Logger, Option } from "effect"
import * as path from "node:path"
import { Mlflow, MlflowTracing } from "../../src/index.js"
import { ownServer, python, uniqueName } from "./helpers.js"

/**
 * Archives every finished trace of the server's store with MLflow's own `SqlAlchemyStore.archive_traces`
 * (its clock moved on past the retention, as MLflow's tests do): their spans move to an archive
 * repository and the server refuses spans for them from then on.
 */
const archiveAll = (dir: string) =>
  python(`
import json, time
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
store = SqlAlchemyStore(${JSON.stringify(`sqlite:///${path.join(dir, "mlflow.db")}`)}, ${
    JSON.stringify(path.join(dir, "artifacts"))
  })
store._get_archive_traces_now_millis = lambda: int(time.time() * 1000) + 3 * 86_400_000
archived = store.archive_traces(
    resolved_trace_archival_location=${JSON.stringify(`file://${path.join(dir, "archive")}`)}, broader_retention="1d"
)
print(json.dumps(archived))
`)

describe("a trace archived on the server (real MLflow server, trace archival)", () => {
  it.scopedLive("spans sent to it are refused: a typed failure, counted, not retried, the rest of the batch stored", () =>
    Effect.gen(function*() {
      // the test archives with MLflow's store on the server's SQLite file (this file runs on SQLite only)
      const server = yield* ownServer()
      const experimentName = uniqueName("archived")
      const options = {
        trackingUri: server.url,
        experimentName,
        workers: 1,
        batchSize: 3,
        retryTimeout: "20 seconds" as const
      }
      const headers = yield* Effect.gen(function*() {
        const headers = yield* Mlflow.traceHeaders.pipe(Mlflow.span("origin"))
        const traceId = Option.getOrThrow(yield* Mlflow.lastTraceId)
        return { headers, traceId }
      }).pipe(Effect.provide(MlflowTracing.layer(options)))
      expect(yield* archiveAll(server.dir)).toBe(1)

      const messages: Array<string> = []
      const stats = yield* Effect.gen(function*() {
        yield* Effect.void.pipe(Mlflow.span("continued"), Mlflow.continueTrace(headers.headers))
        yield* Effect.void.pipe(Mlflow.span("fresh-1"))
        yield* Effect.void.pipe(Mlflow.span("fresh-2"))
        const tracing = yield* MlflowTracing.MlflowTracing
        yield* tracing.flush()
        return yield* tracing.stats
      }).pipe(
        Effect.provide(MlflowTracing.layer(options)),
        Effect.provide(
          Logger.replace(Logger.defaultLogger, Logger.make(({ message }) => void messages.push(String(message))))
        )
      )
      expect({ exported: stats.exported, failed: stats.failed, retried: stats.retried }).toEqual({
        exported: 2,
        failed: 1,
        retried: 0
      })
      const reported = messages.filter((m) => m.includes("Cannot log spans to archived traces"))
      expect(reported.length).toBe(1)
      expect(reported[0]).toContain(headers.traceId)
      const names = yield* python(
        `
import json, mlflow
exp = mlflow.get_experiment_by_name(${JSON.stringify(experimentName)})
print(json.dumps(sorted(t.info.tags.get("mlflow.traceName") for t in mlflow.search_traces(locations=[exp.experiment_id], return_type="list"))))
`,
        { MLFLOW_TRACKING_URI: server.url }
      )
      expect(names).toEqual(["fresh-1", "fresh-2", "origin"])
    }))
})
