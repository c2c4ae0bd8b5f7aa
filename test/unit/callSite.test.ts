import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Mlflow } from "../../src/index.js"
import { resolveNodeMetadata } from "../../src/internal/environment/node.js"
import * as TestTracing from "../../src/testing/TestTracing.js"

describe("what the MLflow UI shows is true", () => {
  it.effect("a failed Mlflow.span's code.stacktrace points at the user's call, not into the library", () =>
    Effect.gen(function*() {
      yield* Effect.fail("boom").pipe(Mlflow.span("piped"), Effect.ignore)
      yield* Effect.ignore(Mlflow.span(Effect.fail("boom"), "direct"))
      const [piped, direct] = yield* TestTracing.traces
      for (const trace of [piped, direct]) {
        const stack = String(trace.spans[0].attributes["code.stacktrace"])
        assert.include(stack, "callSite.test.ts")
        assert.notInclude(stack, "src/Mlflow.ts")
      }
    }).pipe(Effect.provide(TestTracing.layer())))

  it("mlflow.source.name is the script as run, relative to the working directory (as MLflow's Python SDK writes it)", () => {
    const argv = process.argv[1]
    try {
      process.argv[1] = `${process.cwd()}/examples/quickstart.ts`
      assert.strictEqual(resolveNodeMetadata()["mlflow.source.name"], "examples/quickstart.ts")
      process.argv[1] = "/elsewhere/app.js"
      assert.strictEqual(resolveNodeMetadata()["mlflow.source.name"], "/elsewhere/app.js")
    } finally {
      process.argv[1] = argv
    }
  })
})
