import { assert, describe, it } from "@effect/vitest"
import { ConfigError, ConfigProvider, Duration, Effect, Exit, Redacted } from "effect"
import { MlflowConfig, MlflowTracing } from "../../src/index.js"

const fromEnv = (env: Record<string, string>) =>
  Effect.flatMap(MlflowConfig.fromEnv, MlflowConfig.make).pipe(
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
  )

const failure = (exit: Exit.Exit<unknown, MlflowConfig.MlflowConfigError>) => {
  assert.isTrue(Exit.isFailure(exit))
  const error = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined
  assert.instanceOf(error, MlflowConfig.MlflowConfigError)
  return error!
}

describe("MlflowConfig", () => {
  it.effect("defaults to the local store", () =>
    Effect.gen(function*() {
      const config = yield* fromEnv({})
      assert.deepStrictEqual(config.destination, { _tag: "Local", directory: "mlflow-traces" })
      assert.strictEqual(Duration.toSeconds(config.requestTimeout), 120)
      assert.strictEqual(config.queueCapacity, 1000)
      assert.strictEqual(config.workers, 10)
    }))

  it.effect("reads MLflow's environment variables", () =>
    Effect.gen(function*() {
      const config = yield* fromEnv({
        MLFLOW_TRACKING_URI: "http://mlflow.internal:5000/",
        MLFLOW_EXPERIMENT_NAME: "chat-service",
        MLFLOW_TRACKING_TOKEN: "secret-token",
        MLFLOW_HTTP_REQUEST_TIMEOUT: "7.5"
      })
      assert.deepStrictEqual(config.destination, {
        _tag: "Server",
        trackingUri: "http://mlflow.internal:5000",
        experiment: { _tag: "Name", name: "chat-service" }
      })
      assert.isTrue(Redacted.isRedacted(config.token))
      assert.strictEqual(Redacted.value(config.token!), "secret-token")
      assert.notInclude(String(config.token), "secret-token")
      assert.strictEqual(Duration.toMillis(config.requestTimeout), 7500)
    }))

  it.effect("keeps both experiment id and name to check they agree, and uses experiment 0 when neither is set", () =>
    Effect.gen(function*() {
      const both = yield* fromEnv({
        MLFLOW_TRACKING_URI: "https://h",
        MLFLOW_EXPERIMENT_ID: "12",
        MLFLOW_EXPERIMENT_NAME: "x"
      })
      assert.deepStrictEqual(both.destination._tag === "Server" && both.destination.experiment, {
        _tag: "IdAndName",
        id: "12",
        name: "x"
      })
      const none = yield* fromEnv({ MLFLOW_TRACKING_URI: "https://h" })
      assert.deepStrictEqual(none.destination._tag === "Server" && none.destination.experiment, { _tag: "Id", id: "0" })
    }))

  it.effect("reads MLFLOW_WORKSPACE trimmed, as MLflow's client does; a blank one is none", () =>
    Effect.gen(function*() {
      assert.strictEqual(
        (yield* fromEnv({ MLFLOW_TRACKING_URI: "https://h", MLFLOW_WORKSPACE: " team-a " })).workspace,
        "team-a"
      )
      assert.isUndefined((yield* fromEnv({ MLFLOW_TRACKING_URI: "https://h", MLFLOW_WORKSPACE: "  " })).workspace)
      assert.isUndefined((yield* fromEnv({ MLFLOW_TRACKING_URI: "https://h" })).workspace)
    }))

  it.effect("maps file: URIs to the local store", () =>
    Effect.gen(function*() {
      const config = yield* fromEnv({ MLFLOW_TRACKING_URI: "file:///tmp/traces" })
      assert.deepStrictEqual(config.destination, { _tag: "Local", directory: "/tmp/traces" })
    }))

  it.effect("rejects bad values with an error naming the setting and what it accepts", () =>
    Effect.gen(function*() {
      const cases: Array<[Record<string, string>, string, RegExp]> = [
        [{ MLFLOW_TRACKING_URI: "ftp://x" }, "MLFLOW_TRACKING_URI", /http\(s\):\/\/ URL/],
        [{ MLFLOW_TRACKING_URI: "sqlite:///mlflow.db" }, "MLFLOW_TRACKING_URI", /mlflow server/],
        [{ MLFLOW_TRACKING_URI: "http://" }, "MLFLOW_TRACKING_URI", /not a valid URL/],
        [{ MLFLOW_HTTP_REQUEST_TIMEOUT: "soon" }, "MLFLOW_HTTP_REQUEST_TIMEOUT", /expected a number/i],
        [{ MLFLOW_HTTP_REQUEST_TIMEOUT: "-1" }, "MLFLOW_HTTP_REQUEST_TIMEOUT", /greater than 0/],
        [
          { MLFLOW_ASYNC_TRACE_LOGGING_MAX_QUEUE_SIZE: "0" },
          "MLFLOW_ASYNC_TRACE_LOGGING_MAX_QUEUE_SIZE",
          /whole number/
        ],
        [{ MLFLOW_ASYNC_TRACE_LOGGING_MAX_WORKERS: "2.5" }, "MLFLOW_ASYNC_TRACE_LOGGING_MAX_WORKERS", /whole number/],
        [{ MLFLOW_TRACKING_URI: "http://h", MLFLOW_TRACKING_USERNAME: "u" }, "MLFLOW_TRACKING_PASSWORD", /both/],
        [{ MLFLOW_TRACKING_URI: "http://h", MLFLOW_EXPERIMENT_ID: " " }, "MLFLOW_EXPERIMENT_ID", /non-empty/]
      ]
      for (const [env, setting, detail] of cases) {
        const error = failure(yield* Effect.exit(fromEnv(env)))
        assert.include(error.message, setting)
        assert.match(error.message, detail)
      }
    }))

  it.effect("fails the layer, not the program, on bad configuration", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.void.pipe(
        Effect.provide(MlflowTracing.layer({ trackingUri: "mysql://db" })),
        Effect.exit
      )
      assert.strictEqual(failure(exit).setting, "trackingUri (MLFLOW_TRACKING_URI)")
    }))

  it.effect("keeps the ConfigError of a bad environment, naming each variable at fault", () =>
    Effect.gen(function*() {
      const error = failure(
        yield* Effect.exit(fromEnv({ MLFLOW_TRACE_SAMPLING_RATIO: "2", MLFLOW_ENABLE_ASYNC_TRACE_LOGGING: "maybe" }))
      )
      assert.isTrue(ConfigError.isConfigError(error.configError))
      assert.strictEqual(error.configError!._op, "And")
      const paths: Array<string> = []
      const walk = (e: ConfigError.ConfigError): void => {
        if (e._op === "And" || e._op === "Or") {
          walk(e.left)
          walk(e.right)
        } else paths.push(e.path.join("."))
      }
      walk(error.configError!)
      assert.sameMembers(paths, ["MLFLOW_TRACE_SAMPLING_RATIO", "MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"])
      assert.include(error.message, "(and 1 more")
    }))

  it.effect("reads typed variables with Config's own parsers, and a blank one as an error, not a silent 0", () =>
    Effect.gen(function*() {
      const config = yield* fromEnv({
        MLFLOW_ENABLE_ASYNC_TRACE_LOGGING: "no",
        EFFECT_MLFLOW_QUEUE_STRATEGY: "dropping",
        EFFECT_MLFLOW_TRACE_INFO: "whenNeeded",
        MLFLOW_TRACE_SAMPLING_RATIO: "0.25"
      })
      assert.strictEqual(config.traceInfo, "whenNeeded")
      const traceInfo = failure(yield* Effect.exit(fromEnv({ EFFECT_MLFLOW_TRACE_INFO: "sometimes" })))
      assert.include(traceInfo.message, "EFFECT_MLFLOW_TRACE_INFO")
      assert.include(traceInfo.message, "always, auto, whenNeeded")
      assert.strictEqual((yield* MlflowConfig.make({})).traceInfo, "auto")
      const invalid = failure(yield* Effect.exit(MlflowConfig.make({ traceInfo: "never" as any })))
      assert.include(invalid.message, "traceInfo")
      assert.isFalse(config.asyncLogging)
      assert.strictEqual(config.queueStrategy, "dropping")
      assert.strictEqual(config.samplingRatio, 0.25)
      const blank = failure(yield* Effect.exit(fromEnv({ MLFLOW_TRACE_SAMPLING_RATIO: " " })))
      assert.include(blank.message, "MLFLOW_TRACE_SAMPLING_RATIO")
      const strategy = failure(yield* Effect.exit(fromEnv({ EFFECT_MLFLOW_QUEUE_STRATEGY: "newest" })))
      assert.include(strategy.message, "EFFECT_MLFLOW_QUEUE_STRATEGY")
      assert.include(strategy.message, "sliding, dropping")
    }))
  it.effect("reads the spool and local-store bounds, with defaults, and names a bad one", () =>
    Effect.gen(function*() {
      const defaults = yield* fromEnv({ MLFLOW_TRACKING_URI: "http://h" })
      assert.isUndefined(defaults.spoolDirectory)
      assert.strictEqual(defaults.spool.maxBytes, 256 * 1024 * 1024)
      assert.strictEqual(Duration.toHours(defaults.spool.maxAge), 7 * 24)
      assert.deepStrictEqual(defaults.localStore, { maxBytes: undefined, maxAge: undefined })
      const config = yield* fromEnv({
        MLFLOW_TRACKING_URI: "http://h",
        EFFECT_MLFLOW_SPOOL_DIR: "/var/spool/traces",
        EFFECT_MLFLOW_SPOOL_MAX_BYTES: "1048576",
        EFFECT_MLFLOW_SPOOL_MAX_AGE: "3600",
        EFFECT_MLFLOW_LOCAL_MAX_BYTES: "2048",
        EFFECT_MLFLOW_LOCAL_MAX_AGE: "60"
      })
      assert.strictEqual(config.spoolDirectory, "/var/spool/traces")
      assert.strictEqual(config.spool.maxBytes, 1048576)
      assert.strictEqual(Duration.toSeconds(config.spool.maxAge), 3600)
      assert.strictEqual(config.localStore.maxBytes, 2048)
      assert.strictEqual(Duration.toSeconds(config.localStore.maxAge!), 60)
      const cases: Array<[Record<string, string>, string]> = [
        [{ EFFECT_MLFLOW_SPOOL_MAX_BYTES: "lots" }, "EFFECT_MLFLOW_SPOOL_MAX_BYTES"],
        [{ EFFECT_MLFLOW_SPOOL_MAX_BYTES: "0" }, "EFFECT_MLFLOW_SPOOL_MAX_BYTES"],
        [{ EFFECT_MLFLOW_SPOOL_MAX_AGE: "-5" }, "EFFECT_MLFLOW_SPOOL_MAX_AGE"],
        [{ EFFECT_MLFLOW_LOCAL_MAX_BYTES: "1.5" }, "EFFECT_MLFLOW_LOCAL_MAX_BYTES"],
        [{ EFFECT_MLFLOW_LOCAL_MAX_AGE: "soon" }, "EFFECT_MLFLOW_LOCAL_MAX_AGE"]
      ]
      for (const [env, variable] of cases) {
        assert.include(failure(yield* Effect.exit(fromEnv(env))).message, variable)
      }
      const blank = failure(yield* Effect.exit(MlflowConfig.make({ spoolDirectory: " " })))
      assert.include(blank.message, "EFFECT_MLFLOW_SPOOL_DIR")
    }))
})
