/**
 * The program each runtime runs, written as a user of the packed library would (it imports
 * `effect-mlflow`, not the sources): a traced pipeline (whose export the test has refused once, so it
 * is retried), a flush, then a second trace that only the end of the program (the layer's release)
 * delivers. Bun and Deno run it as a script (the settings as JSON in the first argument, the report
 * as JSON on the last line of output); workerd runs it through `worker.ts`.
 */
import { Context, Effect, Exit, Layer, Option, Scope } from "effect"
import { Mlflow, MlflowTracing, type Sink } from "effect-mlflow"

/** What the test hands the program. */
export interface Settings {
  readonly trackingUri: string
  readonly experimentName: string
  readonly runtime: string
}

/** What the program reports on its last line of output. */
export interface Report {
  readonly answer: string
  readonly pipelineTraceId: string
  readonly epilogueTraceId: string
  readonly flushed: boolean
  /** the stats once the pipeline's trace was flushed, and once the layer was released */
  readonly afterFlush: Sink.Stats
  readonly afterRelease: Sink.Stats
}

const retrieve = (question: string) =>
  Effect.sleep("5 millis").pipe(
    Effect.as(["MLflow stores traces."]),
    Mlflow.span("retrieve", { spanType: "RETRIEVER", inputs: { question } })
  )

const generate = (documents: ReadonlyArray<string>) =>
  Effect.succeed(`From ${documents.length} document: ${documents[0]}`).pipe(
    Mlflow.span("generate", { spanType: "LLM" })
  )

/** A step that fails and is recovered from: its span ends in error, the pipeline's does not. */
const check = Effect.fail("unchecked").pipe(
  Mlflow.span("check", { spanType: "TOOL" }),
  Effect.orElseSucceed(() => "skipped")
)

const pipeline = (runtime: string) =>
  Effect.gen(function*() {
    const documents = yield* retrieve(`on ${runtime}`)
    const answer = yield* generate(documents)
    yield* check
    return answer
  }).pipe(Mlflow.span("pipeline", { spanType: "CHAIN", inputs: { runtime } }))

const lastTraceId = Effect.map(Mlflow.lastTraceId, Option.getOrThrow)

/**
 * Runs the program to its end: the tracing layer is built in a scope of its own and released (so the
 * epilogue's trace exported) before the program answers.
 */
export const run = (settings: Settings): Promise<Report> =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(
      MlflowTracing.layer({
        trackingUri: settings.trackingUri,
        experimentName: settings.experimentName,
        retryInitialDelay: "100 millis"
      }),
      scope
    )
    const tracing = Context.get(context, MlflowTracing.MlflowTracing)
    const traced = yield* Effect.gen(function*() {
      const answer = yield* pipeline(settings.runtime)
      const pipelineTraceId = yield* lastTraceId
      const flushed = yield* tracing.flush("20 seconds")
      const afterFlush = yield* tracing.stats
      yield* Effect.void.pipe(Mlflow.span("epilogue"))
      return { answer, pipelineTraceId, epilogueTraceId: yield* lastTraceId, flushed, afterFlush }
    }).pipe(Effect.provide(context))
    yield* Scope.close(scope, Exit.void)
    return { ...traced, afterRelease: yield* tracing.stats }
  }).pipe(Effect.runPromise)

declare const Deno: { readonly args: ReadonlyArray<string> } | undefined

if ((import.meta as { readonly main?: boolean }).main === true) {
  const args = typeof Deno === "undefined" ? process.argv.slice(2) : Deno.args
  // eslint-disable-next-line no-console -- the report, read by the test
  console.log(JSON.stringify(await run(JSON.parse(args[0]))))
}
