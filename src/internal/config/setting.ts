/**
 * The shape of the settings table: one entry per setting, with the variables it is read from, how
 * each is read, how the option is checked, and its default and meaning as the README shows them.
 * The environment reader (`fromEnv`), the checks of `make` (`verify`) and the README's configuration
 * table (held to it by a test) all come from the entries.
 *
 * @internal
 */
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Option from "effect/Option"

/** A setting with a value it cannot take: the setting, with its variable, and what is wrong. */
export interface Problem {
  readonly setting: string
  readonly detail: string
}

/**
 * One setting. `I` is the option's type, `R` what the layer uses once checked (with its default).
 */
export interface Setting<I, R = I> {
  readonly _tag: "Setting"
  /** the variables it is read from, the first that is set winning (see `combine`); none: an option only */
  readonly env: ReadonlyArray<string>
  /** which of `env` messages name; default the first */
  readonly named?: number | undefined
  /** one variable: `undefined` when unset */
  readonly read: (name: string) => Config.Config<I | undefined>
  /** the values of `env`, in order, as one; default the first that is set */
  readonly combine?: ((values: ReadonlyArray<I | undefined>) => I | undefined) | undefined
  /** the option's value (`undefined` when not given) as the layer uses it, or what is wrong with it */
  readonly check: (value: I | undefined) => Either.Either<R, string>
  /** the default, as the README's table shows it */
  readonly default?: string | undefined
  /** the meaning, as the README's table shows it */
  readonly doc?: string | undefined
}

/** Settings that make one option of their own (`aws`, `databricks`, `otlp`): `I` is that option's type. */
export interface Group<T extends Table, I = InputOf<T>> {
  readonly _tag: "Group"
  readonly settings: T
  /** a variable that, set to `false`, leaves the whole option unset (as `MLFLOW_ENABLE_OTLP_EXPORTER`) */
  readonly switch?: Setting<boolean, boolean | undefined> | undefined
  /** the option from its settings' values; default the values as they are */
  readonly assemble?: ((values: InputOf<T>) => I | undefined) | undefined
  /** the README's one row for the whole group (instead of a row per setting) */
  readonly summary?: { readonly default: string; readonly doc: string } | undefined
}

export type Entry = Setting<any, any> | Group<any, any>

export type Table = { readonly [option: string]: Entry }

/** The options a table describes: what `make` takes and the environment gives. */
export type InputOf<T extends Table> = {
  readonly [K in keyof T]?:
    | (T[K] extends Setting<infer I, any> ? I : T[K] extends Group<any, infer I> ? I : never)
    | undefined
}

type KeysAgree<A, B> = [keyof A] extends [keyof B] ? [keyof B] extends [keyof A] ? true : false : false

type NestedKeysAgree<A, B> = {
  [K in keyof A & keyof B]-?: KeysAgree<NonNullable<A[K]>, NonNullable<B[K]>>
}[keyof A & keyof B]

/**
 * `true` when `A` and `B` have the same keys (and so do their groups, such as `aws`) and each is
 * assignable to the other.
 */
export type Agree<A, B> = KeysAgree<A, B> extends true
  ? [A] extends [B] ? [B] extends [A] ? false extends NestedKeysAgree<A, B> ? false : true : false : false
  : false

const first = <A>(values: ReadonlyArray<A | undefined>): A | undefined => values.find((value) => value !== undefined)

/** How messages name a setting: its option, and the variable it is read from. */
export const labelOf = (option: string, setting: Setting<any, any>): string => {
  const variable = setting.env[setting.named ?? 0]
  return variable === undefined ? option : `${option} (${variable})`
}

/** The variable a setting is read from (the `index`th of its `env`), for messages that name it. */
export const envOf = (setting: Setting<any, any>, index = 0): string => setting.env[index]

/** `setting`'s check of `value`, failing with a problem that names it as `option`. */
export const verify = <I, R>(option: string, setting: Setting<I, R>, value: I | undefined): Either.Either<R, Problem> =>
  Either.mapLeft(setting.check(value), (detail) => ({ setting: labelOf(option, setting), detail }))

const readEntry = (entry: Entry): Config.Config<unknown> | undefined => {
  if (entry._tag === "Group") {
    const values = fromEnv(entry.settings)
    const assemble = entry.assemble ?? ((values: unknown) => values)
    if (entry.switch === undefined) return Config.map(values, assemble)
    return Config.zipWith(
      readEntry(entry.switch)!,
      values,
      (on, values) => on === false ? undefined : assemble(values)
    )
  }
  if (entry.env.length === 0) return undefined
  const combine = entry.combine ?? first
  return Config.map(Config.all(entry.env.map(entry.read)), combine)
}

/**
 * The options of a table from the variables (of the current `ConfigProvider`), in the table's order,
 * as `O`: which must agree with the table (the same keys, of the same types).
 */
export const fromEnv = <T extends Table, O = InputOf<T>>(
  table: T,
  ..._agree: Agree<O, InputOf<T>> extends true ? [] : [disagree: never]
): Config.Config<O> =>
  Config.all(
    Object.fromEntries(
      Object.entries(table).flatMap(([option, entry]) => {
        const config = readEntry(entry)
        return config === undefined ? [] : [[option, config] as const]
      })
    )
  ) as Config.Config<any>

/** A setting with its checks, `check` taking the given value (`I`) to what the layer uses (`R`). */
export const setting = <I, R = I | undefined>(
  read: (name: string) => Config.Config<I | undefined>,
  check: (value: I | undefined) => Either.Either<R, string>,
  fields: Omit<Setting<I, R>, "_tag" | "read" | "check">
): Setting<I, R> => ({ _tag: "Setting", read, check, ...fields })

/** For settings that are options only. */
export const noVariable = <I>(_: string): Config.Config<I | undefined> => Config.succeed(undefined)

// checks

/** The value as given, whatever it is. */
export const given = <A>(value: A | undefined): Either.Either<A | undefined, string> => Either.right(value)

export const orElse = <A>(fallback: A) => (value: A | undefined): Either.Either<A, string> =>
  Either.right(value ?? fallback)

/** `undefined` stays so; a value goes through `check`. */
export const optional = <I, R>(check: (value: I) => Either.Either<R, string>) =>
(
  value: I | undefined
): Either.Either<R | undefined, string> => value === undefined ? Either.right(undefined) : check(value)

export const positiveInt = (fallback: number) => (value: number | undefined): Either.Either<number, string> =>
  value === undefined
    ? Either.right(fallback)
    : Number.isInteger(value) && value > 0
    ? Either.right(value)
    : Either.left(`expected a whole number greater than 0, got ${value}`)

export const duration =
  (fallback: Duration.Duration) =>
  (value: Duration.DurationInput | undefined): Either.Either<Duration.Duration, string> => {
    if (value === undefined) return Either.right(fallback)
    const decoded = Option.getOrUndefined(Duration.decodeUnknown(value))
    return decoded !== undefined && Duration.isFinite(decoded) && Duration.toMillis(decoded) >= 0
      ? Either.right(decoded)
      : Either.left(`expected a finite, non-negative duration, got ${String(value)}`)
  }

/** One of `values`. */
export const oneOf =
  <A extends string>(values: ReadonlyArray<A>, fallback: A) => (value: A | undefined): Either.Either<A, string> => {
    if (value === undefined) return Either.right(fallback)
    if (values.includes(value)) return Either.right(value)
    const quoted = values.map((v) => `"${v}"`)
    return Either.left(`expected ${quoted.slice(0, -1).join(", ")} or ${quoted.at(-1)}, got "${value}"`)
  }

type Checked<S> = S extends Setting<any, infer R> ? R : never

type SettingKeys<T extends Table> = { [K in keyof T]: T[K] extends Setting<any, any> ? K : never }[keyof T]

/** The checks of `table`'s settings over `options`, by option. */
export const checker =
  <T extends Table>(table: T, options: InputOf<T>) =>
  <K extends SettingKeys<T> & string>(option: K): Either.Either<Checked<T[K]>, Problem> =>
    verify(option, table[option] as Setting<any, any>, options[option])
