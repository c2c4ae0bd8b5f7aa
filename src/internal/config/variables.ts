import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"

/** Readers of environment variables, on `Config`, with MLflow's conventions. */

/** A text variable; unset or empty is no value (as in MLflow). */
export const text = (name: string) => Config.option(Config.nonEmptyString(name)).pipe(Config.map(Option.getOrUndefined))
export const secret = (name: string) =>
  Config.option(Config.redacted(Config.nonEmptyString(name))).pipe(Config.map(Option.getOrUndefined))

/**
 * A typed variable: unset is no value; set, it must be one (blank is an error, as in MLflow, not a
 * silent `0`).
 */
export const optional = <A>(name: string, config: Config.Config<A>): Config.Config<A | undefined> =>
  Config.option(
    Config.zipWith(
      Config.string(name).pipe(
        Config.validate({ message: "expected a value, got a blank", validation: (t) => t.trim() !== "" })
      ),
      config,
      (_, value) => value
    )
  ).pipe(Config.map(Option.getOrUndefined))

/** a count: a whole number above 0 */
export const count = (name: string) =>
  optional(
    name,
    Config.number(name).pipe(Config.validate({
      message: "expected a whole number greater than 0",
      validation: (n) => Number.isInteger(n) && n > 0
    }))
  )

/** MLflow gives durations as (fractional) seconds */
export const seconds = (name: string) =>
  optional(
    name,
    Config.number(name).pipe(
      Config.validate({ message: "expected a number of seconds greater than 0", validation: (n) => n > 0 }),
      Config.map((n) => Duration.millis(n * 1000))
    )
  )

/** The first problem of a `ConfigError`, and how many more there are. */
export const problems = (
  error: ConfigError.ConfigError
): Array<{ readonly path: string; readonly message: string }> => {
  switch (error._op) {
    case "And":
    case "Or":
      return [...problems(error.left), ...problems(error.right)]
    case "InvalidData":
    case "MissingData":
    case "SourceUnavailable":
    case "Unsupported":
      return [{ path: error.path.join("."), message: error.message }]
  }
}

export const boolean = (name: string) => optional(name, Config.boolean(name))

export const integer = (name: string) => optional(name, Config.integer(name))

export const literal = <A extends string>(values: ReadonlyArray<A>) => (name: string) =>
  optional(name, Config.literal(...values)(name))

/** a number from 0 to 1 */
export const ratio = (name: string) =>
  optional(
    name,
    Config.number(name).pipe(
      Config.validate({ message: "expected a number from 0 to 1", validation: (n) => n >= 0 && n <= 1 })
    )
  )

/** A `ConfigError` as a problem that names the variable at fault, and how many more there are. */
export const problemOf = (error: ConfigError.ConfigError): { readonly setting: string; readonly detail: string } => {
  const [first, ...rest] = problems(error)
  return {
    setting: first?.path || "environment",
    detail: `${first?.message ?? String(error)}${
      rest.length === 0 ? "" : ` (and ${rest.length} more: ${rest.map((p) => p.path).join(", ")})`
    }`
  }
}
