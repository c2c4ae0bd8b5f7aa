import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, FastCheck as fc, Fiber, Supervisor, TestClock, TestContext } from "effect"
import { Mlflow, MlflowTracing } from "../../src/index.js"
import * as TestTracing from "../../src/testing/TestTracing.js"

/** A program described as data, so the same program runs with and without tracing. */
type Program =
  | { readonly _tag: "Succeed"; readonly value: number }
  | { readonly _tag: "Fail"; readonly error: string }
  | { readonly _tag: "Die"; readonly defect: string }
  | { readonly _tag: "Interrupt" }
  | { readonly _tag: "Sleep"; readonly millis: number; readonly then: Program }
  | { readonly _tag: "Span"; readonly name: string; readonly body: Program; readonly mlflow: boolean }
  | { readonly _tag: "Zip"; readonly left: Program; readonly right: Program }
  | { readonly _tag: "All"; readonly items: ReadonlyArray<Program> }
  | { readonly _tag: "Race"; readonly left: Program; readonly right: Program }
  | { readonly _tag: "Timeout"; readonly millis: number; readonly body: Program }
  | { readonly _tag: "ForkJoin"; readonly body: Program }
  | { readonly _tag: "ForkInterrupt"; readonly body: Program }
  | { readonly _tag: "ForkDaemon"; readonly body: Program }
  | { readonly _tag: "Catch"; readonly body: Program }
  | { readonly _tag: "Ensuring"; readonly body: Program; readonly finalizer: Program }

const program: fc.Arbitrary<Program> = fc.letrec<{ program: Program }>((tie) => ({
  program: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.record({ _tag: fc.constant("Succeed" as const), value: fc.integer({ min: 0, max: 9 }) }),
    fc.record({ _tag: fc.constant("Fail" as const), error: fc.constantFrom("e1", "e2") }),
    fc.record({ _tag: fc.constant("Die" as const), defect: fc.constantFrom("d1", "d2") }),
    fc.constant({ _tag: "Interrupt" as const }),
    fc.record({ _tag: fc.constant("Sleep" as const), millis: fc.integer({ min: 0, max: 50 }), then: tie("program") }),
    fc.record({
      _tag: fc.constant("Span" as const),
      name: fc.constantFrom("a", "b", "c"),
      body: tie("program"),
      mlflow: fc.boolean()
    }),
    fc.record({ _tag: fc.constant("Zip" as const), left: tie("program"), right: tie("program") }),
    fc.record({ _tag: fc.constant("All" as const), items: fc.array(tie("program"), { maxLength: 3 }) }),
    fc.record({ _tag: fc.constant("Race" as const), left: tie("program"), right: tie("program") }),
    fc.record({ _tag: fc.constant("Timeout" as const), millis: fc.integer({ min: 1, max: 40 }), body: tie("program") }),
    fc.record({ _tag: fc.constant("ForkJoin" as const), body: tie("program") }),
    fc.record({ _tag: fc.constant("ForkInterrupt" as const), body: tie("program") }),
    fc.record({ _tag: fc.constant("ForkDaemon" as const), body: tie("program") }),
    fc.record({ _tag: fc.constant("Catch" as const), body: tie("program") }),
    fc.record({ _tag: fc.constant("Ensuring" as const), body: tie("program"), finalizer: tie("program") })
  )
})).program

const interpret = (p: Program): Effect.Effect<unknown, string> => {
  switch (p._tag) {
    case "Succeed":
      return Effect.succeed(p.value)
    case "Fail":
      return Effect.fail(p.error)
    case "Die":
      return Effect.die(p.defect)
    case "Interrupt":
      return Effect.interrupt
    case "Sleep":
      return Effect.zipRight(Effect.sleep(p.millis), interpret(p.then))
    case "Span":
      return p.mlflow
        ? interpret(p.body).pipe(Mlflow.span(p.name, { spanType: "TOOL", inputs: { name: p.name } }))
        : Effect.withSpan(interpret(p.body), p.name)
    case "Zip":
      return Effect.zip(interpret(p.left), interpret(p.right))
    case "All":
      return Effect.all(p.items.map(interpret), { concurrency: "unbounded" })
    case "Race":
      return Effect.race(interpret(p.left), interpret(p.right))
    case "Timeout":
      return Effect.timeoutOption(interpret(p.body), p.millis)
    case "ForkJoin":
      return Effect.flatMap(Effect.fork(interpret(p.body)), Fiber.join)
    case "ForkInterrupt":
      return Effect.flatMap(Effect.fork(interpret(p.body)), Fiber.interrupt).pipe(Effect.as("interrupted"))
    case "ForkDaemon":
      // a daemon that outlives the program: bounded, so the test clock can finish it
      return Effect.forkDaemon(Effect.timeout(interpret(p.body), 100)).pipe(Effect.as("daemon"))
    case "Catch":
      return Effect.catchAllCause(
        interpret(p.body),
        (cause) => Effect.succeed(Cause.isInterruptedOnly(cause) ? "i" : "c")
      )
    case "Ensuring":
      return Effect.ensuring(interpret(p.body), Effect.ignore(interpret(p.finalizer)))
  }
}

/** An exit without fiber ids, comparable across runs. */
const normalize = (exit: Exit.Exit<unknown, string>) =>
  Exit.match(exit, {
    onSuccess: (value) => ({ success: value }),
    onFailure: (cause) => ({
      failures: [...Cause.failures(cause)],
      defects: [...Cause.defects(cause)],
      interrupted: Cause.isInterrupted(cause)
    })
  })

/** Runs a program to completion under the test clock (a daemon gets time to finish too). */
const runToEnd = <R>(effect: Effect.Effect<unknown, string, R>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust("1 second")
    const exit = yield* Fiber.await(fiber)
    yield* TestClock.adjust("1 second")
    return exit
  })

describe("tracing never changes the program", () => {
  it("gives the same Exit with and without tracing; every started span ends exactly once", async () => {
    const rejections: Array<unknown> = []
    const onRejection = (reason: unknown) => rejections.push(reason)
    process.on("unhandledRejection", onRejection)
    try {
      await fc.assert(
        fc.asyncProperty(program, async (p) => {
          const plain = await Effect.runPromise(runToEnd(interpret(p)).pipe(Effect.provide(TestContext.TestContext)))
          const traced = await Effect.runPromise(
            Effect.gen(function*() {
              const exit = yield* runToEnd(interpret(p))
              const traces = yield* TestTracing.traces
              const stats = yield* Effect.flatMap(MlflowTracing.MlflowTracing, (t) => t.stats)
              return { exit, traces, stats }
            }).pipe(Effect.provide(TestTracing.layer()), Effect.provide(TestContext.TestContext))
          )
          assert.deepStrictEqual(normalize(traced.exit), normalize(plain))
          const spans = traced.traces.flatMap((t) => t.spans)
          const late = traced.stats.lateSpans
          assert.strictEqual(traced.stats.spans.started, traced.stats.spans.ended, "every started span ended")
          assert.strictEqual(spans.length + late, traced.stats.spans.ended, "every ended span was exported once")
          assert.strictEqual(new Set(spans.map((s) => s.spanId)).size, spans.length, "no span exported twice")
          for (const span of spans) assert.include(["OK", "ERROR"], span.status.code)
          assert.strictEqual(traced.stats.inProgress, 0)
        }),
        { numRuns: 200 }
      )
    } finally {
      process.off("unhandledRejection", onRejection)
    }
    assert.deepStrictEqual(rejections, [])
  })

  it.live("leaves no fiber and no timer behind once the layer is released", () =>
    Effect.gen(function*() {
      const timersBefore = process.getActiveResourcesInfo().filter((r) => r === "Timeout").length
      const supervisor = yield* Supervisor.track
      yield* Effect.gen(function*() {
        yield* Effect.all(
          Array.from({ length: 20 }, (_, i) => Effect.sleep(1).pipe(Mlflow.span(`s${i}`))),
          { concurrency: "unbounded" }
        ).pipe(Effect.withSpan("root"))
        yield* Effect.forkDaemon(Effect.sleep(5).pipe(Effect.withSpan("daemon")))
      }).pipe(
        Effect.provide(
          MlflowTracing.layerSink({ export: () => Effect.void, exportLateSpans: () => Effect.void })
        ),
        Effect.supervised(supervisor)
      )
      yield* Effect.sleep(50)
      const running = (yield* supervisor.value).filter((fiber) => fiber.unsafePoll() === null)
      assert.deepStrictEqual(running.map((fiber) => fiber.id()), [])
      yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
      const timersAfter = process.getActiveResourcesInfo().filter((r) => r === "Timeout").length
      assert.isAtMost(timersAfter, timersBefore)
    }))

  it.effect("a sink that throws, fails or hangs never reaches the program", () =>
    Effect.gen(function*() {
      for (
        const sink of [
          { export: () => Effect.die(new Error("sink bug")), exportLateSpans: () => Effect.void },
          { export: () => Effect.never, exportLateSpans: () => Effect.never },
          {
            export: () => {
              throw new Error("thrown synchronously")
            },
            exportLateSpans: () => Effect.void
          }
        ]
      ) {
        const result = yield* Effect.succeed(42).pipe(
          Mlflow.span("work"),
          Effect.provide(
            MlflowTracing.layerSink(sink as any, { shutdownTimeout: "1 second" })
          ),
          Effect.fork,
          Effect.tap(() => TestClock.adjust("2 seconds")),
          Effect.flatMap(Fiber.join)
        )
        assert.strictEqual(result, 42)
      }
    }))
})
