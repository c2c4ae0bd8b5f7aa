import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { MlflowClient } from "../../src/index.js"

// where undici (Node's own, and the npm package) keeps the dispatcher that the process's `fetch` uses
const DISPATCHER_KEYS = [Symbol.for("undici.globalDispatcher.1"), Symbol.for("undici.globalDispatcher.2")]
const dispatchers = () => DISPATCHER_KEYS.map((key) => (globalThis as unknown as Record<symbol, unknown>)[key])

describe("the process's fetch", () => {
  // The TLS transport comes from @effect/platform-node, whose module graph loads the npm `undici`; at load,
  // that package installs an Agent of its own as the process-wide dispatcher when Node's has not been made
  // yet, so every later `fetch` of the program (ours included) went through a foreign undici version.
  it.effect("keeps its own dispatcher when TLS settings load the node:https transport", () =>
    Effect.gen(function*() {
      yield* Layer.build(
        MlflowClient.httpClientLayer({ ca: undefined, clientCert: undefined, rejectUnauthorized: false })
      )
        .pipe(Effect.scoped)
      const Undici = yield* Effect.promise(() => import("undici"))
      for (const dispatcher of dispatchers()) assert.isFalse(dispatcher instanceof Undici.Agent)
      // and fetch runs on Node's own
      assert.strictEqual(yield* Effect.promise(() => fetch("data:,ok").then((response) => response.text())), "ok")
      assert.isDefined(dispatchers()[0])
      assert.isFalse(dispatchers()[0] instanceof Undici.Agent)
    }))
})
