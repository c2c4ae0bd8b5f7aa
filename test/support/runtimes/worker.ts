/**
 * The workerd program: a module worker whose `fetch` runs `program.ts` with the settings given as the
 * request's body, and answers the report once the tracing layer is released, so within the request
 * (work left after the answer would need `ctx.waitUntil`). On `/kept` it traces one span per request
 * through a layer built once and kept across requests (a runtime at module scope), each request
 * flushing before it answers. A file apart: Bun serves a script's default export when it has a
 * `fetch`.
 */
import { Effect, ManagedRuntime, Option } from "effect"
import { Mlflow, MlflowTracing } from "effect-mlflow"
import { run, type Settings } from "./program.js"

let kept: ManagedRuntime.ManagedRuntime<MlflowTracing.MlflowTracing, unknown> | undefined

const keptRequest = (settings: Settings) => {
  kept ??= ManagedRuntime.make(
    MlflowTracing.layer({ trackingUri: settings.trackingUri, experimentName: settings.experimentName })
  )
  return kept.runPromise(Effect.gen(function*() {
    const tracing = yield* MlflowTracing.MlflowTracing
    yield* Effect.sleep("5 millis").pipe(Mlflow.span("request", { inputs: { runtime: settings.runtime } }))
    const traceId = Option.getOrThrow(yield* Mlflow.lastTraceId)
    const flushed = yield* tracing.flush("20 seconds")
    return { traceId, flushed, stats: yield* tracing.stats }
  }))
}

export default {
  async fetch(request: Request): Promise<Response> {
    const settings: Settings = await request.json()
    try {
      return Response.json(await (new URL(request.url).pathname === "/kept" ? keptRequest(settings) : run(settings)))
    } catch (error) {
      return new Response(String(error instanceof Error ? error.stack : error), { status: 500 })
    }
  }
}
