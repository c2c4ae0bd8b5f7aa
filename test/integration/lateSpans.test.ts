import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Option } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Mlflow, MlflowTracing } from "../../src/index.js"
import type { MlflowConfig } from "../../src/index.js"
import { mlflowUrl, python, pythonGetTraces, uniqueName } from "./helpers.js"

/** A root whose forked child is still running after the root ended and after the grace period. */
const lateChild = (options: MlflowConfig.Options) =>
  Effect.gen(function*() {
    const release = yield* Deferred.make<void>()
    const started = yield* Deferred.make<void>()
    const [traceId, child] = yield* Effect.gen(function*() {
      const fiber = yield* Deferred.succeed(started, undefined).pipe(
        Effect.zipRight(Deferred.await(release)),
        Effect.as("late result"),
        Mlflow.span("background", { spanType: "TASK" }),
        Effect.forkDaemon
      )
      yield* Deferred.await(started)
      return [Option.getOrThrow(yield* Mlflow.currentTraceId), fiber] as const
    }).pipe(Mlflow.span("request", { spanType: "CHAIN" }))
    yield* Effect.sleep("1500 millis") // past the grace period: the trace is exported without the child
    yield* Deferred.succeed(release, undefined)
    yield* Fiber.join(child)
    const tracing = yield* MlflowTracing.MlflowTracing
    yield* tracing.flush()
    return { traceId, stats: yield* tracing.stats }
  }).pipe(
    Effect.provide(MlflowTracing.layer({ lateSpanGrace: "200 millis", ...options }))
  )

describe("spans that end after their trace was exported", () => {
  it.live("reach the real server's trace over OTLP", () =>
    Effect.gen(function*() {
      const { stats, traceId } = yield* lateChild({ trackingUri: mlflowUrl(), experimentName: uniqueName("late") })
      expect(stats.lateSpans).toBe(1)
      const [trace] = yield* pythonGetTraces(mlflowUrl(), [traceId])
      const byName = Object.fromEntries(trace.data.spans.map((s: any) => [s.name, s]))
      expect(Object.keys(byName).sort()).toEqual(["background", "request"])
      expect(byName.background.parent_span_id).toBe(byName.request.span_id)
      expect(JSON.parse(byName.background.attributes["mlflow.spanOutputs"])).toBe("late result")
    }))

  it.live("are added to the local store's trace file", () =>
    Effect.gen(function*() {
      const directory = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-late-"))
      const { stats, traceId } = yield* lateChild({ localDirectory: directory })
      expect(stats.lateSpans).toBe(1)
      const names = yield* python(`
import json
from mlflow.entities import Trace
t = Trace.from_json(open(${JSON.stringify(path.join(directory, `${traceId}.json`))}).read())
print(json.dumps([s.name for s in t.data.spans]))
`)
      expect(names).toEqual(["request", "background"])
    }))
})
