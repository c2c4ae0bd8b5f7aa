/**
 * A service of the spool test, configured from the environment (MLFLOW_*, EFFECT_MLFLOW_SPOOL_DIR).
 * `produce`: COUNT traces (a root and a child span each), then exits, releasing the layer after at
 * most SHUTDOWN_SECONDS; `replay`: starts, produces nothing, and waits until EXPECT spooled traces
 * were replayed, or WAIT_MILLIS (default 120 s) passed; `drain`: waits until the spool folder holds
 * no waiting trace and no claim (other processes may replay some of them). BATCH_SIZE sets the
 * batch size. Prints its trace ids and final stats as one JSON line.
 */
import { Effect, Option } from "effect"
import * as fs from "node:fs"
import { Mlflow, MlflowTracing } from "../../../src/index.js"

const mode = process.env.MODE ?? "produce"
const count = Number(process.env.COUNT ?? "0")
const expect = Number(process.env.EXPECT ?? "0")
const waitMillis = Number(process.env.WAIT_MILLIS ?? "120000")

const one = (i: number) =>
  Effect.gen(function*() {
    yield* Effect.sleep("1 millis").pipe(Mlflow.span("step", { spanType: "TOOL", inputs: { i } }))
    return i
  }).pipe(Mlflow.span("request", { spanType: "CHAIN", inputs: { i } }))

/** Waiting traces and claims, in every destination's folder of the spool. */
const spoolFiles = () => {
  const spool = process.env.EFFECT_MLFLOW_SPOOL_DIR!
  return fs.readdirSync(spool, { recursive: true }).map(String).filter((name) =>
    /\d+-tr-[0-9a-f]+\.json(\.claim\..*)?$/.test(name) && !name.includes("rejected")
  )
}

let service: MlflowTracing.Service | undefined
const traceIds: Array<string> = []

const main = Effect.gen(function*() {
  service = yield* MlflowTracing.MlflowTracing
  if (mode === "produce") {
    for (let i = 0; i < count; i++) {
      yield* one(i)
      traceIds.push(Option.getOrThrow(yield* Mlflow.lastTraceId))
    }
    return
  }
  for (let waited = 0; waited < waitMillis; waited += 200) {
    if (mode === "drain" ? spoolFiles().length === 0 : (yield* service.stats).replayed >= expect) {
      // a batch's count follows the removal of its files
      if (mode === "drain") yield* Effect.sleep("500 millis")
      return
    }
    yield* Effect.sleep("200 millis")
  }
})

await Effect.runPromise(main.pipe(Effect.provide(MlflowTracing.layerConfig({
  shutdownTimeout: `${Number(process.env.SHUTDOWN_SECONDS ?? "2")} seconds`,
  batchSize: process.env.BATCH_SIZE === undefined ? undefined : Number(process.env.BATCH_SIZE)
}))))
const stats = await Effect.runPromise(service!.stats)
process.stdout.write(JSON.stringify({ traceIds, stats }) + "\n")
