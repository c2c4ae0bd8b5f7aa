import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { type LlmTraceOptions, settings, traceLanguageModel } from "./languageModel.js"

/**
 * The request parameters of one call to a vendor's model: the layer's configuration, then the
 * per-call overrides the vendor's `Config` tag carries, minus settings that are never sent.
 *
 * @internal
 */
export const requestParameters = (
  base: Readonly<Record<string, unknown>>,
  overrides: Effect.Effect<Readonly<Record<string, unknown>> | undefined>,
  notSent: ReadonlyArray<string>
): Effect.Effect<Readonly<Record<string, unknown>>> =>
  Effect.map(overrides, (override) => {
    const merged: Record<string, unknown> = {}
    for (const source of [base, override ?? {}]) {
      for (const key in source) {
        if (source[key] !== undefined && !notSent.includes(key)) merged[key] = source[key]
      }
    }
    return merged
  })

/**
 * A vendor's language model layer with traced calls: `make` builds the vendor's plain service.
 *
 * @internal
 */
export const tracedVendorLayer = <R>(vendor: {
  readonly provider: string
  readonly spanName: string
  readonly model: string
  readonly config: object | undefined
  /** the vendor's per-call `Config` overrides */
  readonly overrides: Effect.Effect<object | undefined>
  readonly notSent: ReadonlyArray<string>
  readonly trace: Omit<LlmTraceOptions, "provider" | "model" | "parameters">
  readonly make: Effect.Effect<LanguageModel.Service, never, R>
}): Layer.Layer<LanguageModel.LanguageModel, never, R> => {
  const parameters = requestParameters(
    { model: vendor.model, ...vendor.config },
    vendor.overrides as Effect.Effect<Readonly<Record<string, unknown>> | undefined>,
    vendor.notSent
  )
  const traced = settings(
    { spanName: vendor.spanName, ...vendor.trace, provider: vendor.provider, model: vendor.model },
    parameters
  )
  return Layer.effect(
    LanguageModel.LanguageModel,
    Effect.map(vendor.make, (service) => traceLanguageModel(service, traced))
  )
}
