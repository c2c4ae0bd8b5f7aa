/** The options given, without those set to `undefined` (so that they do not hide others when spread). */
export const withoutUndefined = <A extends object>(options: A): Partial<A> =>
  Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<A>
