import { Deferred, Effect, Fiber, Layer, Option } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { Mlflow, MlflowTracing } from "../../src/index.js"
import type { MlflowConfig } from "../../src/index.js"
import { python, pythonGetTraces } from "../harness/mlflow.js"
import { mlflowUrl, uniqueName } from "./helpers.js"

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
    Effect.provide(MlflowTracing.layer({ lateSpanGrace: "200 millis", ...options }) as Layer.Layer<
      MlflowTracing.MlflowTracing
    >),
    Effect.runPromise
  )

describe("spans that end after their trace was exported", () => {
  it("reach the real server's trace over OTLP", async () => {
    const { stats, traceId } = await lateChild({ trackingUri: mlflowUrl(), experimentName: uniqueName("late") })
    expect(stats.lateSpans).toBe(1)
    const [trace] = await pythonGetTraces(mlflowUrl(), [traceId])
    const byName = Object.fromEntries(trace.data.spans.map((s: any) => [s.name, s]))
    expect(Object.keys(byName).sort()).toEqual(["background", "request"])
    expect(byName.background.parent_span_id).toBe(byName.request.span_id)
    expect(JSON.parse(byName.background.attributes["mlflow.spanOutputs"])).toBe("late result")
  })

  it("are added to the local store's trace file", async () => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-late-"))
    const { stats, traceId } = await lateChild({ localDirectory: directory })
    expect(stats.lateSpans).toBe(1)
    const names = await python(`
import json
from mlflow.entities import Trace
t = Trace.from_json(open(${JSON.stringify(path.join(directory, `${traceId}.json`))}).read())
print(json.dumps([s.name for s in t.data.spans]))
`)
    expect(names).toEqual(["request", "background"])
  })
})
