import * as Command from "@effect/cli/Command"
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import { type CliFailure, ExitCode } from "./failure.js"
import { push } from "./push.js"
import { search } from "./search.js"
import { printable, warn } from "./terminal.js"
import { view } from "./view.js"

/**
 * The `effect-mlflow` command line. Exit codes: 0 done, 1 failed (nothing found, the server away or
 * refusing, traces not stored), 2 wrong usage (flags, settings, a filter), 130 interrupted.
 *
 * @internal
 */

const root = Command.make("effect-mlflow").pipe(
  Command.withDescription("MLflow traces of Effect programs: view them, push them to a server, search a server"),
  Command.withSubcommands([view, push, search])
)

/** A failure's message on one line (its details, error texts from servers included, shown printable), then its context. */
const failed = (error: CliFailure) =>
  Console.error(
    [`effect-mlflow: ${printable(error.message)}`, ...(error.context ?? []).map((line) => `  ${printable(line)}`)]
      .join("\n")
  )

const cli = Command.run(root, { name: "effect-mlflow", version: "0.2.0" })

export const main = (argv: ReadonlyArray<string>): Effect.Effect<number, never, NodeContext.NodeContext> =>
  cli(argv).pipe(
    Effect.as(ExitCode.ok),
    Effect.catchAll((error) =>
      ValidationError.isValidationError(error)
        ? Effect.succeed(ExitCode.usage) // @effect/cli printed it, with the usage
        : Effect.as(failed(error), error.exitCode)
    ),
    Effect.catchAllDefect((defect) => Effect.as(warn(Cause.pretty(Cause.die(defect))), ExitCode.failed)),
    // the library's own log lines (the sink's) stay out of the command's output
    Logger.withMinimumLogLevel(LogLevel.Warning)
  )

NodeRuntime.runMain(main(process.argv).pipe(Effect.provide(NodeContext.layer)), {
  disableErrorReporting: true,
  teardown: (exit, onExit) =>
    onExit(
      Exit.isSuccess(exit)
        ? Number(exit.value)
        : Exit.isInterrupted(exit)
        ? ExitCode.interrupted
        : ExitCode.failed
    )
})
