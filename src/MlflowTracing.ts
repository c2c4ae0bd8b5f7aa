/**
 * The tracing layers. Providing one makes every span of a program (`Effect.withSpan`, `Effect.fn`,
 * `Mlflow.span`) part of an MLflow trace; releasing it flushes every finished trace.
 *
 * @since 0.1.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as Tracer from "effect/Tracer"
import { mlflowTraceId, otelTraceIdOf, randomUuid } from "./internal/common/ids.js"
import { withoutUndefined } from "./internal/common/options.js"
import { resolveEnvironmentMetadata } from "./internal/environment/environment.js"
import * as Exporter from "./internal/export/exporter.js"
import type { Spool } from "./internal/export/spool.js"
import * as MlflowSink from "./internal/sinks/mlflow.js"
import { type CompletedTrace, TraceAssembler } from "./internal/tracing/assembler.js"
import * as Pipelines from "./internal/tracing/pipelines.js"
import * as InternalTracer from "./internal/tracing/tracer.js"
import * as MlflowClient from "./MlflowClient.js"
import * as MlflowConfig from "./MlflowConfig.js"
import type { Sink, Stats } from "./Sink.js"

/**
 * The running tracing pipeline.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /**
   * Exports every trace whose root has ended and waits until the queue is empty, at most `timeout`
   * (default: the shutdown timeout). Answers whether everything was exported in time.
   */
  readonly flush: (timeout?: Duration.DurationInput) => Effect.Effect<boolean>
  readonly stats: Effect.Effect<Stats>
  /** The id of the trace whose root ended last, in this layer. */
  readonly lastTraceId: Effect.Effect<Option.Option<string>>
  /** Turns recording of new traces on or off for the whole layer (traces in progress finish). */
  readonly setEnabled: (enabled: boolean) => Effect.Effect<void>
  readonly isEnabled: Effect.Effect<boolean>
  /** Whether `Mlflow.span` roots wait for their trace to be stored (`asyncLogging: false`). */
  readonly synchronous: boolean
  /**
   * Sets (`undefined`: removes) a tag of a trace still in this process: in progress, or waiting to
   * be exported. Answers `"applied"`, or `"stored"` when the trace is stored and the tag must be set
   * on the server (a trace being exported right now is waited for).
   */
  readonly tagTrace: (traceId: string, key: string, value: string | undefined) => Effect.Effect<"applied" | "stored">
  /** Says once, as a warning, that spans made under this layer went to another tracer. */
  readonly reportHidden: Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class MlflowTracing extends Context.Tag("effect-mlflow/MlflowTracing")<MlflowTracing, Service>() {}

/**
 * Of the shutdown timeout, the part kept (at most) for asking the destination about traces whose
 * export was cut off with a request unanswered.
 */
const CUT_OFF_ASK_MILLIS = 2000

const nanos = (duration: Duration.Duration): bigint => BigInt(Math.round(Duration.toMillis(duration))) * 1_000_000n

/**
 * Builds the tracer and the export pipeline over a sink, within a scope whose release flushes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  sink: Sink,
  config: MlflowConfig.MlflowConfig
): Effect.Effect<{ readonly tracer: Tracer.Tracer; readonly service: Service }, never, Scope.Scope> =>
  makeDestinations([{ name: "mlflow", sink }], config)

/** A destination of traces, by name (`mlflow`, `otlp`). */
interface Destination {
  readonly name: string
  readonly sink: Sink
  readonly spool?: Spool | undefined
}

/**
 * Several destinations (OTLP dual export) get one exporter each, with its own queue, workers,
 * retries and counts, so that one destination's outage costs the other nothing; a trace is done
 * with (synchronous logging and tags released) when every destination is.
 */
const settleAcross = (destinations: number): ((item: CompletedTrace) => void) | undefined => {
  if (destinations === 1) return undefined
  const seen = new WeakMap<CompletedTrace, number>()
  return (item) => {
    const count = (seen.get(item) ?? 0) + 1
    if (count < destinations) {
      seen.set(item, count)
      return
    }
    seen.delete(item)
    Exporter.releaseWaiters(item)
  }
}

/** What becomes of a destination's traces not exported at shutdown (the spool is written after the warning). */
const fateAtShutdown = (destination: Destination): string =>
  destination.spool === undefined
    ? "counted as dropped (shutdown)"
    : "written to the spool (any it cannot take are counted as dropped)"

const makeDestinations = (
  destinations: ReadonlyArray<Destination>,
  config: MlflowConfig.MlflowConfig
): Effect.Effect<
  { readonly tracer: Tracer.Tracer; readonly service: Service; readonly assembler: TraceAssembler },
  never,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const environment = yield* resolveEnvironmentMetadata
    const multiple = destinations.length > 1
    const settled = settleAcross(destinations.length)
    const exporters = yield* Effect.forEach(destinations, ({ name, sink, spool }) =>
      Exporter.make(sink, {
        capacity: config.queueCapacity,
        strategy: config.queueStrategy,
        workers: config.workers,
        batchSize: config.batchSize,
        environment,
        retry: { initialDelay: config.retryInitialDelay, maxDelay: config.retryMaxDelay, budget: config.retryTimeout },
        attemptTimeout: Duration.times(config.requestTimeout, 2),
        warnInterval: Duration.seconds(30),
        probeInterval: Duration.seconds(1),
        processors: config.spanProcessors,
        attachments: sink.storesAttachments === true && config.extractAttachments
          ? { maxSize: config.maxAttachmentSize, newId: randomUuid }
          : undefined,
        budgets: {
          maxAttributeBytes: config.maxAttributeBytes,
          maxSpanBytes: config.maxSpanBytes,
          maxTraceBytes: config.maxTraceBytes,
          maxSpansPerTrace: config.maxSpansPerTrace
        },
        destination: multiple ? name : undefined,
        settled,
        spool
      }))
    const primary = exporters[0]
    let lastTraceId = Option.none<string>()
    let enabled = config.enabled
    const assembler = new TraceAssembler({
      handoff: (trace) => {
        if (!trace.late) lastTraceId = Option.some(mlflowTraceId(trace.otelTraceId))
        for (const exporter of exporters) exporter.offer(trace)
      },
      onDrop: (reason, traces) => {
        for (const exporter of exporters) exporter.drop(reason, traces)
      },
      onTimeout: () => {
        for (const exporter of exporters) exporter.timedOut()
      },
      graceNanos: nanos(config.lateSpanGrace),
      maxInProgress: config.bufferMaxSize,
      ttlNanos: nanos(config.bufferTtl),
      timeoutNanos: config.traceTimeout === undefined ? undefined : nanos(config.traceTimeout),
      awaitable: !config.asyncLogging
    })
    const tracer = InternalTracer.make({
      assembler,
      sample: (override) => {
        if (!enabled) return false
        const ratio = override ?? config.samplingRatio
        return ratio >= 1 || (ratio > 0 && Math.random() < ratio)
      }
    })

    yield* Clock.currentTimeNanos.pipe(
      Effect.flatMap((now) => Effect.sync(() => assembler.sweep(now))),
      Effect.repeat(Schedule.spaced("1 second")),
      Effect.withTracerEnabled(false),
      Effect.forkScoped
    )

    const flush = (timeout: Duration.DurationInput = config.shutdownTimeout) =>
      Effect.suspend(() => {
        assembler.completeEnded()
        const millis = Duration.toMillis(Duration.decode(timeout))
        return Effect.map(
          Effect.forEach(exporters, (exporter) => exporter.flush(millis), { concurrency: "unbounded" }),
          (drained) => drained.every(Boolean)
        )
      })
    const spans = () => ({ started: assembler.spansStarted, ended: assembler.spansEnded })
    const stats = Effect.suspend(() =>
      multiple
        ? Effect.map(
          Effect.forEach(exporters, (exporter) => exporter.stats(assembler.size, spans())),
          (all) => ({
            ...all[0],
            destinations: Object.fromEntries(destinations.map(({ name }, i) => [name, all[i]]))
          })
        )
        : primary.stats(assembler.size, spans())
    )

    // runs before the workers are interrupted (they were forked first): what is still queued is
    // counted here, what is in flight when they are interrupted by the exporter itself, which asks
    // the destination about traces cut off with a request unanswered in the time kept for it
    const shutdownMillis = Duration.toMillis(config.shutdownTimeout)
    const askMillis = Math.min(CUT_OFF_ASK_MILLIS, shutdownMillis / 5)
    yield* Effect.addFinalizer(() =>
      Clock.currentTimeMillis.pipe(
        Effect.tap((now) => exporters.forEach((exporter) => exporter.drain(now + shutdownMillis))),
        Effect.zipRight(flush(Duration.millis(shutdownMillis - askMillis))),
        Effect.flatMap((drained) =>
          drained ? Effect.void : Effect.flatMap(stats, (current) =>
            Effect.logWarning(
              `effect-mlflow: shut down before the export queue drained (${current.queued} queued, ` +
                `${current.inFlight} in flight${
                  current.destinations === undefined
                    ? ""
                    : Object.entries(current.destinations).map(([name, of], i) =>
                      `; ${name}: ${of.queued} queued, ${of.inFlight} in flight, ${fateAtShutdown(destinations[i])}`
                    ).join("")
                })${
                  multiple
                    ? ""
                    : `; those the destination was sent are asked of it, the others are ${
                      fateAtShutdown(destinations[0])
                    }`
                }`
            ))
        ),
        Effect.zipRight(Effect.forEach(exporters, (exporter) => exporter.close, { discard: true })),
        Effect.withTracerEnabled(false)
      )
    )

    let hiddenReported = false
    const service: Service = {
      reportHidden: Effect.suspend(() => {
        if (hiddenReported) return Effect.void
        hiddenReported = true
        return Effect.logWarning(
          "effect-mlflow: a span under the MLflow tracing layer was made by another tracer, provided inside it " +
            "(an OpenTelemetry NodeSdk layer, say): the innermost tracer wins, so these spans do not reach MLflow. " +
            "Provide one tracer, or the MLflow tracing layer innermost."
        )
      }),
      flush,
      stats,
      lastTraceId: Effect.sync(() => lastTraceId),
      setEnabled: (value) => Effect.sync(() => enabled = value),
      isEnabled: Effect.sync(() => enabled),
      synchronous: !config.asyncLogging,
      tagTrace: (traceId, key, value) =>
        Effect.suspend(() => {
          const record = assembler.find(otelTraceIdOf(traceId))
          if (record === undefined) return primary.tagPending(traceId, key, value)
          if (value === undefined) delete record.updates.tags[key]
          else record.updates.tags[key] = value
          return Effect.succeed("applied" as const)
        })
    }
    Pipelines.register(service, assembler)
    return { tracer, service, assembler }
  })

/** The tracer a program has when none is provided (Effect's own, which exports nothing). */
const defaultTracer = Effect.runSync(Effect.tracer)

const fromPipeline = <E, R>(
  effect: Effect.Effect<{ readonly tracer: Tracer.Tracer; readonly service: Service }, E, R>
) =>
  Layer.unwrapScoped(
    Effect.gen(function*() {
      const { service, tracer } = yield* effect
      const outer = yield* Effect.tracer
      if (outer !== defaultTracer && !InternalTracer.isMlflowTracer(outer)) {
        yield* Effect.logWarning(
          "effect-mlflow: the MLflow tracing layer is provided inside another tracer's layer (an OpenTelemetry " +
            "NodeSdk layer, say) and replaces it: the innermost tracer wins, so spans go to MLflow only, not to " +
            "the other tracer. Provide one tracer, or the other tracer's layer inside this one."
        )
      }
      const runtime = yield* Effect.runtime<never>()
      let lateReported = false
      const releasable = InternalTracer.releasable(tracer, {
        outer: outer === defaultTracer ? undefined : outer,
        afterRelease: () => {
          if (lateReported) return
          lateReported = true
          Runtime.runFork(runtime)(Effect.logWarning(
            "effect-mlflow: a span started after the MLflow tracing layer was released (in a fiber that outlived " +
              "it): its trace is not exported, and counted in the layer's stats as dropped (shutdown)"
          ))
        }
      })
      // runs before the pipeline's own release (flush): spans started from now on are the outer tracer's
      yield* Effect.addFinalizer(() => Effect.sync(releasable.release))
      // `Layer.merge` restores the fiber's tracer in a fiber of its own at release, so the program may keep
      // this one: the released tracer then hands every new span to the one it replaced (`releasable`).
      // Built in sequence instead (which restores it in the program's fiber), a release cut off traces
      // whose requests were unanswered only once those answered (seen with a 60 s answer: 118 s)
      return Layer.merge(Layer.setTracer(releasable.tracer), Layer.succeed(MlflowTracing, service))
    })
  )

/**
 * Tracing into a custom sink (tests, benchmarks, other backends), with the pipeline settings of
 * `options` (the destination settings are ignored).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSink = (
  sink: Sink,
  options: MlflowConfig.Options = {}
): Layer.Layer<MlflowTracing, MlflowConfig.MlflowConfigError> =>
  fromPipeline(Effect.flatMap(MlflowConfig.make(options), (config) => make(sink, config)))

const sinkFor = (config: MlflowConfig.MlflowConfig): Effect.Effect<Sink, MlflowConfig.MlflowConfigError> => {
  const destination = config.destination
  if (destination._tag === "Local") {
    // loaded only when used: the server path stays free of `node:fs`
    return Effect.flatMap(
      Effect.promise(() => import("./internal/sinks/localStore.js")),
      (LocalStore) => LocalStore.makeSink(destination.directory, config.localStore)
    )
  }
  return MlflowClient.fromConfig(config, destination).pipe(
    Effect.flatMap((client) =>
      MlflowSink.make(client, destination.experiment, config.traceInfo, {
        spansOverOtlp: destination.databricks !== true
      })
    )
  )
}

/** The durable spool of the MLflow server's traces, when one is configured. */
const spoolFor = (config: MlflowConfig.MlflowConfig): Effect.Effect<Spool | undefined> => {
  const { destination, spool, spoolDirectory } = config
  if (spoolDirectory === undefined || destination._tag !== "Server") return Effect.succeed(undefined)
  // loaded only when used, like the local store
  return Effect.map(
    Effect.promise(() => import("./internal/sinks/spool.js")),
    (Spool) =>
      Spool.open(
        spoolDirectory,
        Spool.recordOf(config, destination),
        {
          maxBytes: spool.maxBytes,
          maxAgeMillis: Duration.toMillis(spool.maxAge)
        }
      )
  )
}

const otlpSink = (config: MlflowConfig.MlflowConfig, otlp: MlflowConfig.OtlpConfig) =>
  Effect.gen(function*() {
    // loaded only when used: gRPC brings `node:http2`, and neither is needed without OTLP
    const [Otlp, GenAi] = yield* Effect.promise(() =>
      Promise.all([import("./internal/sinks/otlp.js"), import("./internal/format/genAi.js")])
    )
    const transport = otlp.protocol === "grpc"
      ? yield* Effect.flatMap(Effect.promise(() => import("./internal/sinks/grpc.js")), (Grpc) => Grpc.make(otlp))
      : yield* Effect.flatMap(Effect.promise(() => import("./internal/sinks/otlpHttp.js")), (Http) => Http.make(otlp))
        .pipe(Effect.provide(FetchHttpClient.layer))
    return Otlp.make(otlp, transport, config.genAiSemanticConventions ? GenAi.translateSpans : undefined)
  })

/**
 * Where traces go: MLflow (the server or the local store), or with OTLP settings the collector
 * instead, or both with `dualExport`. `mlflow` builds the MLflow sink.
 */
const destinationsFor = <E, R>(
  config: MlflowConfig.MlflowConfig,
  mlflow: Effect.Effect<Sink, E, R>
): Effect.Effect<ReadonlyArray<Destination>, E, R | Scope.Scope> =>
  Effect.gen(function*() {
    const otlp = config.otlp
    const more = Object.entries(config.alsoExportTo).map(([name, sink]) => ({ name, sink }))
    const toMlflow = Effect.zipWith(mlflow, spoolFor(config), (sink, spool) => ({ name: "mlflow", sink, spool }))
    if (otlp === undefined) return [yield* toMlflow, ...more]
    const collector = { name: "otlp", sink: yield* otlpSink(config, otlp) }
    return config.dualExport ? [yield* toMlflow, collector, ...more] : [collector, ...more]
  })

/**
 * The pipeline of `layer(options)` without a tracer of its own: what another tracer (an
 * OpenTelemetry span processor) feeds with its spans.
 *
 * @since 0.2.0
 * @category constructors
 * @internal
 */
export const pipeline = (options: MlflowConfig.Options = {}) =>
  Effect.gen(function*() {
    const config = yield* MlflowConfig.make(options)
    const destinations = yield* destinationsFor(config, sinkFor(config))
    return yield* makeDestinations(destinations, config)
  })

/**
 * Tracing to an MLflow tracking server, or to the local store when no tracking URI is given; with
 * OTLP settings (`otlp`, or `OTEL_EXPORTER_OTLP_*` through `layerConfig`), to the collector instead,
 * or to both with `dualExport`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: MlflowConfig.Options = {}): Layer.Layer<MlflowTracing, MlflowConfig.MlflowConfigError> =>
  fromPipeline(pipeline(options))

/**
 * The tracing options that are not about the connection (those are the client's).
 *
 * @since 0.1.0
 * @category models
 */
export type PipelineOptions = Omit<MlflowConfig.Options, keyof MlflowConfig.Connection | "localDirectory">

/**
 * Tracing to the server of the `MlflowClient` in context: its `HttpClient` (a proxy, a custom
 * agent, `transformClient`), credentials and limits, with the other settings from `options`.
 *
 * @example
 * import { FetchHttpClient } from "@effect/platform"
 * import { Layer } from "effect"
 * import { MlflowClient, MlflowTracing } from "effect-mlflow"
 *
 * const Tracing = MlflowTracing.layerWithClient({ experimentName: "chat" }).pipe(
 *   Layer.provide(MlflowClient.layer({ trackingUri: "http://127.0.0.1:5000" })),
 *   Layer.provide(FetchHttpClient.layer)
 * )
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithClient = (
  options: PipelineOptions = {}
): Layer.Layer<MlflowTracing, MlflowConfig.MlflowConfigError, MlflowClient.MlflowClient> =>
  fromPipeline(Effect.gen(function*() {
    const client = yield* MlflowClient.MlflowClient
    const config = yield* MlflowConfig.make({ ...options, trackingUri: client.trackingUri })
    if (config.destination._tag !== "Server") {
      return yield* new MlflowConfig.MlflowConfigError({
        setting: "trackingUri",
        detail: "the MlflowClient must point at a tracking server"
      })
    }
    const destinations = yield* destinationsFor(
      config,
      MlflowSink.make(client, config.destination.experiment, config.traceInfo, {
        spansOverOtlp: config.destination.databricks !== true
      })
    )
    return yield* makeDestinations(destinations, config)
  }))

/**
 * `layer` with options read from MLflow's environment variables (see `MlflowConfig.fromEnv`),
 * overridden by `overrides`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  overrides: MlflowConfig.Options = {}
): Layer.Layer<MlflowTracing, MlflowConfig.MlflowConfigError> =>
  Layer.unwrapEffect(
    Effect.map(MlflowConfig.fromEnv, (env) => layer({ ...env, ...withoutUndefined(overrides) }))
  )

/**
 * The layer of the design card: MLflow tracing configured from `MLFLOW_*` environment variables.
 *
 * @since 0.1.0
 * @category layers
 */
export const MlflowTracingLive: Layer.Layer<MlflowTracing, MlflowConfig.MlflowConfigError> = layerConfig()
