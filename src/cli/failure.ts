import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

/**
 * Why a command failed, and so its exit code: `Usage` (a flag, a setting or a filter is wrong: 2),
 * `NotFound` (nothing to show: 1), `Server` (the server could not be reached or refused: 1),
 * `Incomplete` (some traces were not stored: 1).
 *
 * @internal
 */
export class CliFailure extends Schema.TaggedError<CliFailure>()("CliFailure", {
  reason: Schema.Literal("Usage", "NotFound", "Server", "Incomplete"),
  detail: Schema.String
}) {
  get message(): string {
    return this.detail
  }
  get exitCode(): number {
    return this.reason === "Usage" ? 2 : 1
  }
}

/** The exit codes scripts can rely on. */
export const ExitCode = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const

/**
 * @effect/cli takes an option it does not know for a positional argument: such a value (no trace
 * id, filter or path starts with "-") is a usage error naming it.
 */
export const rejectOption = (command: string, values: ReadonlyArray<string>) => {
  const option = values.find((value) => value.startsWith("-"))
  return option === undefined
    ? Effect.void
    : Effect.fail(
      new CliFailure({ reason: "Usage", detail: `unknown option ${option} (see effect-mlflow ${command} --help)` })
    )
}
