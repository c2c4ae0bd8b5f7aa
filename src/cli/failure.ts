import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { SearchOrderError } from "../Search.js"
import type { SearchFilterError } from "../SearchFilter.js"

/**
 * Why a command failed, and so its exit code: `Usage` (a flag, a setting or a filter is wrong: 2),
 * `NotFound` (nothing to show: 1), `Server` (the server could not be reached or refused: 1),
 * `Incomplete` (some traces were not stored: 1).
 *
 * @internal
 */
export class CliFailure extends Schema.TaggedError<CliFailure>()("CliFailure", {
  reason: Schema.Literal("Usage", "NotFound", "Server", "Incomplete"),
  detail: Schema.String,
  /** lines shown under the message, e.g. a filter with a caret under the offending token */
  context: Schema.optional(Schema.Array(Schema.String))
}) {
  get message(): string {
    return this.detail
  }
  get exitCode(): number {
    return this.reason === "Usage" ? 2 : 1
  }
}

/**
 * A filter MLflow would refuse, as a usage error: the reason on one line, then the filter with a
 * caret under the offending token (none for a refusal of the whole filter, such as its length).
 */
export const invalidFilter = (error: SearchFilterError) =>
  error.token === ""
    ? new CliFailure({ reason: "Usage", detail: `invalid filter: ${error.detail}` })
    : new CliFailure({
      reason: "Usage",
      detail: `invalid filter at position ${error.position} (${JSON.stringify(error.token)}): ${error.detail}`,
      context: [error.filter, `${" ".repeat(error.position)}^`]
    })

/** An order MLflow would refuse, as a usage error on one line. */
export const invalidOrder = (error: SearchOrderError) =>
  new CliFailure({ reason: "Usage", detail: `--order-by: ${error.message}` })

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
