import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { MlflowClient } from "../../src/index.js"

// where undici (Node's own, and the npm package) keeps the dispatcher that the process's `fetch` uses
const DISPATCHER_KEYS = [Symbol.for("undici.globalDispatcher.1"), Symbol.for("undici.globalDispatcher.2")]
const dispatchers = () => DISPATCHER_KEYS.map((key) => (globalThis as unknown as Record<symbol, unknown>)[key])

describe("the process's fetch", () => {
  // TLS settings once loaded @effect/platform-node's client, whose module graph brings the npm `undici`: at
  // load, that package made an Agent of its own the process-wide dispatcher when Node had made none yet,
  // so every later `fetch` of the program (ours included) went through a foreign undici version.
  it.effect("keeps its dispatcher when TLS settings load the node:https transport", () =>
    Effect.gen(function*() {
      const before = dispatchers()
      yield* Layer.build(
        MlflowClient.httpClientLayer({ ca: undefined, clientCert: undefined, rejectUnauthorized: false })
      )
        .pipe(Effect.scoped)
      assert.deepStrictEqual(dispatchers(), before)
    }))
})
