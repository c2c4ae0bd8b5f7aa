import * as Effect from "effect/Effect"

/**
 * One of our own modules, loaded by a dynamic `import()` on first use, so that a program whose
 * configuration never needs it does not load it at start (see `npm run bench:footprint`). Once
 * loaded, the effect answers synchronously.
 *
 * @internal
 */
export const lazyModule = <A>(load: () => Promise<A>): Effect.Effect<A> => {
  let loaded: A | undefined
  let loading: Promise<A> | undefined
  return Effect.suspend(() =>
    loaded !== undefined
      ? Effect.succeed(loaded)
      : Effect.promise(() => loading ??= load().then((module) => loaded = module))
  )
}
