import { Effect, Layer, Logger, Option } from "effect"
import { inject } from "vitest"
import type { Sink } from "../../src/index.js"
import { Mlflow, MlflowTracing } from "../../src/index.js"
import type { Options } from "../../src/MlflowConfig.js"

export const mlflowUrl = (): string => inject("mlflowUrl")
export const flaskOnlyUrl = (): string => inject("mlflowFlaskOnlyUrl")

let counter = 0
export const uniqueName = (prefix: string): string => `${prefix}-${Date.now()}-${process.pid}-${counter++}`

/** Runs `program` traced into MLflow (the layer is released, so flushed, before returning). */
export const runTraced = <A, E>(
  program: Effect.Effect<A, E>,
  options: Options
): Promise<{ readonly result: A; readonly traceId: string }> =>
  Effect.gen(function*() {
    const result = yield* program
    const traceId = Option.getOrThrow(yield* Mlflow.lastTraceId)
    return { result, traceId }
  }).pipe(
    Effect.provide(MlflowTracing.layer(options) as Layer.Layer<MlflowTracing.MlflowTracing>),
    Effect.runPromise
  )

/** `GET /api/3.0/mlflow/traces/get`: trace info and spans from the tracking store. */
export const restGetTrace = async (url: string, traceId: string): Promise<any> => {
  const response = await fetch(`${url}/api/3.0/mlflow/traces/get?trace_id=${traceId}&allow_partial=false`)
  if (!response.ok) throw new Error(`GET trace ${traceId}: ${response.status} ${await response.text()}`)
  return (await response.json()).trace
}

/** Decodes an OTLP JSON `AnyValue` as the server returns it (snake_case). */
export const anyValue = (value: any): unknown => {
  if (value === undefined || value === null) return null
  if ("string_value" in value) return value.string_value
  if ("bool_value" in value) return value.bool_value
  if ("int_value" in value) return Number(value.int_value)
  if ("double_value" in value) return value.double_value
  if ("array_value" in value) return (value.array_value.values ?? []).map(anyValue)
  if ("kvlist_value" in value) {
    return Object.fromEntries((value.kvlist_value.values ?? []).map((kv: any) => [kv.key, anyValue(kv.value)]))
  }
  return null
}

export const restAttributes = (span: any): Record<string, unknown> =>
  Object.fromEntries((span.attributes ?? []).map((kv: any) => [kv.key, anyValue(kv.value)]))

/** Span attribute values in `Trace.to_dict()` are JSON strings (raw value when not JSON). */
export const pyAttributes = (span: any): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(span.attributes).map(([key, value]) => {
      try {
        return [key, JSON.parse(value as string)]
      } catch {
        return [key, value]
      }
    })
  )

export const base64ToHex = (value: string | null | undefined): string | null =>
  value ? Buffer.from(value, "base64").toString("hex") : null

/**
 * Traces `t0`..`t<n-1>` (CHAIN spans with `inputs(i)`) exported in one batch by one worker (they
 * are queued before it takes them), flushed; answers the stats after the layer is released.
 */
export const exportOneBatch = (
  options: Options,
  n: number,
  inputs: (i: number) => unknown = (i) => ({ i })
): Promise<Sink.Stats> =>
  Effect.gen(function*() {
    yield* Effect.forEach(
      Array.from({ length: n }, (_, i) => i),
      (i) => Effect.succeed(i).pipe(Mlflow.span(`t${i}`, { spanType: "CHAIN", inputs: inputs(i) })),
      { discard: true }
    )
    const tracing = yield* MlflowTracing.MlflowTracing
    yield* tracing.flush()
    return yield* tracing.stats
  }).pipe(
    Effect.provide(
      MlflowTracing.layer({ workers: 1, batchSize: n, ...options }) as Layer.Layer<MlflowTracing.MlflowTracing>
    ),
    Effect.provide(Logger.remove(Logger.defaultLogger)),
    Effect.runPromise
  )
