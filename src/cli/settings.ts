import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { DEFAULT_LOCAL_DIRECTORY } from "../internal/common/defaults.js"
import { withoutUndefined } from "../internal/common/options.js"
import * as MlflowClient from "../MlflowClient.js"
import * as MlflowConfig from "../MlflowConfig.js"
import { CliFailure } from "./failure.js"

/**
 * The settings every command shares: MLflow's environment variables, overridden by flags.
 *
 * @internal
 */

const text = (name: string, description: string) =>
  Options.text(name).pipe(Options.withDescription(description), Options.optional)

export const flags = {
  trackingUri: text("tracking-uri", "the MLflow tracking server (default: MLFLOW_TRACKING_URI)"),
  experimentId: text("experiment-id", "the experiment (default: MLFLOW_EXPERIMENT_ID)"),
  experimentName: text("experiment-name", "the experiment, by name (default: MLFLOW_EXPERIMENT_NAME)"),
  dir: text("dir", "the local store directory (default: EFFECT_MLFLOW_LOCAL_DIR, or mlflow-traces)"),
  spool: text("spool", "the spool directory (default: EFFECT_MLFLOW_SPOOL_DIR)")
}

export interface Flags {
  readonly trackingUri: Option.Option<string>
  readonly experimentId: Option.Option<string>
  readonly experimentName: Option.Option<string>
  readonly dir: Option.Option<string>
  readonly spool: Option.Option<string>
}

const usage = (error: MlflowConfig.MlflowConfigError) => new CliFailure({ reason: "Usage", detail: error.message })

/** The settings, and the local store's directory (also when a tracking server is set). */
export interface Settings extends MlflowConfig.MlflowConfig {
  readonly localDirectory: string
}

/** The environment's settings with the flags over them, validated. */
export const settings = (given: Flags): Effect.Effect<Settings, CliFailure> =>
  Effect.map(validated(given), ({ config, options }) => ({
    ...config,
    localDirectory: config.destination._tag === "Local"
      ? config.destination.directory
      : options.localDirectory ?? DEFAULT_LOCAL_DIRECTORY
  }))

const validated = (given: Flags) =>
  Effect.gen(function*() {
    const env = yield* Effect.mapError(MlflowConfig.fromEnv, usage)
    const options: MlflowConfig.Options = {
      ...env,
      ...withoutUndefined({
        trackingUri: Option.getOrUndefined(given.trackingUri),
        experimentId: Option.getOrUndefined(given.experimentId),
        experimentName: Option.getOrUndefined(given.experimentName),
        localDirectory: Option.getOrUndefined(given.dir),
        spoolDirectory: Option.getOrUndefined(given.spool)
      })
    }
    // a flag naming the experiment one way replaces what the environment says the other way
    const chosen: MlflowConfig.Options = Option.isSome(given.experimentId) && Option.isNone(given.experimentName)
      ? { ...options, experimentName: undefined }
      : Option.isSome(given.experimentName) && Option.isNone(given.experimentId)
      ? { ...options, experimentId: undefined }
      : options
    return { config: yield* Effect.mapError(MlflowConfig.make(chosen), usage), options: chosen }
  })

export type ServerDestination = Extract<MlflowConfig.Destination, { readonly _tag: "Server" }>

/** The tracking server of the settings, or a usage error saying how to name one. */
export const server = (
  config: MlflowConfig.MlflowConfig,
  command: string
): Effect.Effect<ServerDestination, CliFailure> =>
  config.destination._tag === "Server"
    ? Effect.succeed(config.destination)
    : Effect.fail(
      new CliFailure({
        reason: "Usage",
        detail: `${command} needs an MLflow tracking server: set MLFLOW_TRACKING_URI or pass --tracking-uri ` +
          "(start one with `npm run mlflow:server` in the effect-mlflow repository, or `mlflow server`)"
      })
    )

/** A client of the settings' server, over `fetch` (or `node:https` with TLS settings), signed when they say so. */
export const client = (config: MlflowConfig.MlflowConfig, destination: ServerDestination) =>
  Effect.mapError(MlflowClient.fromConfig(config, destination), usage)

/** The experiments to read: the one the settings name. */
export const experimentsOf = (destination: ServerDestination) =>
  destination.experiment._tag === "Name"
    ? { experimentNames: [destination.experiment.name] }
    : { experimentIds: [destination.experiment.id] }

/** A server's failure as the command's, its text scrubbed by the client already. */
export const serverFailure = (error: { readonly message: string }) =>
  new CliFailure({ reason: "Server", detail: error.message })
