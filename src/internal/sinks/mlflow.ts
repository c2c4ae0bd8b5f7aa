import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type { Destination, TraceInfoDelivery } from "../../MlflowConfig.js"
import type { Trace } from "../../Trace.js"
import { isTransient, type MlflowApiError, type MlflowError } from "../client/errors.js"
import type { Service as MlflowClientService } from "../client/model.js"
import { TraceMetadataKey, TraceTagKey } from "../common/keys.js"
import { ExportError, type Held, type Sink } from "../export/sink.js"
import * as Attachments from "./attachmentUpload.js"
import { isolating } from "./isolate.js"
import { continuesRemote, spansCarry, withTraceInfoOnRoot } from "./spansOnly.js"
import { summable } from "./summable.js"

/** @internal Which experiment traces go to. */
export type ExperimentRef = Extract<Destination, { readonly _tag: "Server" }>["experiment"]

const toExportError = (error: MlflowError) =>
  new ExportError({
    detail: error.message,
    retryable: isTransient(error),
    reason: error._tag === "MlflowApiError" ? `HTTP ${error.status} ${error.errorCode}` : error.description,
    ...(error._tag === "MlflowApiError" && error.retryAfterMillis !== undefined
      ? { retryAfterMillis: error.retryAfterMillis }
      : {})
  })

/**
 * The server refused a spans request as a whole, for what it holds (not for its own state): too
 * large, malformed, or spans for a trace it no longer takes spans for (archived: `INVALID_STATE`).
 */
const refusedWhole = (error: MlflowError): error is MlflowApiError =>
  error._tag === "MlflowApiError" && !isTransient(error) &&
  (error.status === 413 || error.status === 400 || error.errorCode === "INVALID_STATE")

const rejection = (error: MlflowApiError) =>
  new ExportError({
    detail: `${error.message}${
      error.status === 413 ? " (the trace alone is larger than the server or a proxy takes)" : ""
    }`,
    retryable: false,
    reason: `HTTP ${error.status} ${error.errorCode}`
  })

const continuedWithoutSpanStorage = new ExportError({
  detail: "this trace continues one begun in another service, and this server keeps a trace's spans in " +
    "one traces.json artifact that the originating service writes: its spans cannot be added",
  retryable: false,
  reason: "continued trace without span storage"
})

const otlpUnsupported = (error: MlflowError): error is MlflowApiError =>
  error._tag === "MlflowApiError" && (error.status === 404 || error.status === 501)

/**
 * The MLflow server sink: the spans of a batch as one OTLP request to `/v1/traces`, then
 * `StartTraceV3` for the trace info of the traces that need it (see `TraceInfoDelivery`); the others
 * are built by the server from their spans, which carry on the root what it reads there. When the
 * server cannot store spans (404/501 from `/v1/traces`), `traces.json` is uploaded to the trace's
 * artifact location instead, for the rest of the process. A Databricks workspace takes no OTLP
 * for an experiment (`spansOverOtlp: false`): every trace goes as its info and `traces.json`, as
 * MLflow's client sends it there.
 *
 * @internal
 */
export const make = (
  client: MlflowClientService,
  experiment: ExperimentRef,
  traceInfo: TraceInfoDelivery,
  options: { readonly spansOverOtlp?: boolean | undefined } = {}
): Effect.Effect<Sink> =>
  Effect.gen(function*() {
    const resolved = yield* Ref.make(Option.none<string>())
    const otlp = yield* Ref.make(options.spansOverOtlp !== false)

    const resolve: Effect.Effect<string, MlflowError | ExportError> = experiment._tag === "Id"
      ? Effect.succeed(experiment.id)
      : experiment._tag === "Name"
      ? client.getOrCreateExperiment(experiment.name)
      : Effect.flatMap(
        client.getExperimentByName(experiment.name),
        (found) =>
          Option.isSome(found) && found.value.experimentId === experiment.id
            ? Effect.succeed(experiment.id)
            : Effect.fail(
              new ExportError({
                detail: `MLFLOW_EXPERIMENT_ID (${experiment.id}) and MLFLOW_EXPERIMENT_NAME ("${experiment.name}") ` +
                  (Option.isSome(found)
                    ? `name different experiments: "${experiment.name}" is experiment ${found.value.experimentId}`
                    : `disagree: there is no experiment named "${experiment.name}"`) +
                  "; set one of them, or make them agree",
                retryable: false
              })
            )
      )
    const experimentId = Effect.flatMap(
      Ref.get(resolved),
      Option.match({
        onSome: Effect.succeed,
        onNone: () => resolve.pipe(Effect.tap((id) => Ref.set(resolved, Option.some(id))))
      })
    )

    const logSpans = (id: string, spans: Trace["spans"]) =>
      Effect.flatMap(Ref.get(otlp), (enabled) =>
        enabled
          ? client.logSpans(id, summable(spans)).pipe(
            Effect.as(true),
            Effect.catchIf(otlpUnsupported, (error) =>
              Effect.zipRight(
                Ref.set(otlp, false),
                Effect.logInfo(
                  `effect-mlflow: the server cannot store spans over OTLP (${error.status}); ` +
                    "uploading traces.json artifacts instead"
                )
              ).pipe(Effect.as(false)))
          )
          : Effect.succeed(false))

    // what an attempt already stored of a trace, so that a retry sends only the rest (by the
    // identity of the exporter's trace objects: forgotten with them)
    const spansStored = new WeakSet<Trace>()
    const infoStored = new WeakSet<Trace>()
    // requests sent for a trace, answered or not: at shutdown, a trace with one unanswered is asked about
    const spansSent = new WeakSet<Trace>()
    const infoSent = new WeakSet<Trace>()
    // whether a trace gets its own StartTraceV3: decided at its first attempt, kept for its retries
    const withInfo = new WeakMap<Trace, boolean>()
    // traces given a StartTraceV3 that their spans could have done without (`auto`, not behind)
    const infoOptional = new WeakSet<Trace>()
    const decide = (trace: Trace, complete: boolean, continued: boolean): boolean => {
      let decided = withInfo.get(trace)
      if (decided === undefined) {
        const carried = !continued && spansCarry(trace)
        decided = !continued && (complete || !carried)
        if (decided && carried && traceInfo === "auto") infoOptional.add(trace)
        withInfo.set(trace, decided)
      }
      return decided
    }

    const attachments = Attachments.make(client, experimentId, { afterTraceInfo: options.spansOverOtlp === false })

    const storeTrace = ({ located, trace }: { readonly trace: Trace; readonly located: Trace }) =>
      infoStored.has(trace) ? Effect.void : Effect.suspend(() => {
        infoSent.add(trace)
        return client.startTrace(located.info)
      }).pipe(
        Effect.flatMap((tags) => {
          if (tags[TraceTagKey.SPANS_LOCATION] === "TRACKING_STORE") return Effect.void
          const location = tags[TraceTagKey.ARTIFACT_LOCATION]
          return location === undefined ? Effect.void : attachments.storeAt(trace, location).pipe(
            // their content back inline where the attachments could not be stored
            Effect.zipRight(Effect.suspend(() =>
              client.uploadTraceData(location, attachments.outgoing(trace).spans, located.info.traceId)
            ))
          )
        }),
        Effect.tap(() =>
          Effect.sync(() => infoStored.add(trace))
        )
      )

    const logSpansIsolating = (id: string, traces: ReadonlyArray<Trace>) =>
      isolating({
        send: (part: ReadonlyArray<Trace>) => logSpans(id, part.flatMap((trace) => trace.spans)),
        refused: (error: MlflowError) => refusedWhole(error) ? rejection(error) : undefined,
        both: (left: boolean, right: boolean) => left && right,
        alone: true
      })(traces).pipe(Effect.map(({ rejected, value }) => ({ sent: value, rejected })))

    const exportTraces: Sink["export"] = (traces, context) =>
      Effect.gen(function*() {
        const id = yield* experimentId
        const complete = traceInfo === "always" || (traceInfo === "auto" && context?.backlogged !== true) ||
          !(yield* Ref.get(otlp))
        yield* Effect.forEach(traces, attachments.store, { concurrency: 4, discard: true })
        const items = traces.map((trace) => {
          const located = { ...attachments.outgoing(trace), info: { ...trace.info, experimentId: id } }
          const continued = continuesRemote(trace)
          const info = decide(trace, complete, continued)
          return {
            trace,
            located,
            info,
            continued,
            outgoing: info || continued ? located : { ...located, spans: withTraceInfoOnRoot(located) }
          }
        })
        const unsent = items.filter(({ trace }) => !spansStored.has(trace))
        for (const { trace } of unsent) spansSent.add(trace)
        const { rejected, sent } = unsent.length === 0
          ? { rejected: [], sent: true }
          : yield* logSpansIsolating(id, unsent.map(({ outgoing }) => outgoing))
        const refused = new Set(rejected.map((r) => r.traceId))
        if (sent) { for (const { trace } of unsent) if (!refused.has(trace.info.traceId)) spansStored.add(trace) }
        const stored = items.filter(({ trace }) => !refused.has(trace.info.traceId))
        if (!sent) {
          // no span storage: a trace goes out as its info and a traces.json artifact, which for a
          // continued trace would overwrite what the originating service stored
          for (const { continued, trace } of stored) {
            if (continued) rejected.push({ traceId: trace.info.traceId, error: continuedWithoutSpanStorage })
          }
        }
        // spans the server could not take (no span storage): every trace goes through its info
        const downgraded: Array<(typeof items)[number]> = []
        yield* Effect.forEach(
          sent ? stored.filter((item) => item.info) : stored.filter((item) => !item.continued),
          (item) =>
            sent && infoOptional.has(item.trace) && !infoStored.has(item.trace) && context?.behindNow?.() === true
              ? Effect.sync(() => downgraded.push(item))
              : storeTrace(item),
          { concurrency: 4, discard: true }
        )
        if (downgraded.length > 0) {
          // fallen behind meanwhile: these go abridged after all, their roots sent again with what
          // the server reads there (one request for all of them)
          yield* logSpans(id, downgraded.map(({ located }) => withTraceInfoOnRoot(located)[0]))
          for (const { trace } of downgraded) withInfo.set(trace, false)
        }
        const abridged = stored.filter((item) => !item.info && !item.continued).length + downgraded.length
        return { rejected, abridged: sent ? abridged : 0 }
      }).pipe(Effect.mapError((error) => error._tag === "ExportError" ? error : toExportError(error)))

    const exportLateSpans: Sink["exportLateSpans"] = (_traceId, spans) =>
      Effect.gen(function*() {
        const id = yield* experimentId
        const sent = yield* logSpans(id, spans)
        if (!sent) {
          return yield* new ExportError({
            detail: "a span ended after its trace was stored, and this server keeps spans in traces.json only",
            retryable: false
          })
        }
      }).pipe(Effect.catchTags({
        MlflowApiError: (error) => Effect.fail(toExportError(error)),
        MlflowTransportError: (error) => Effect.fail(toExportError(error))
      }))

    const partiallyStored = (traces: ReadonlyArray<Trace>) =>
      traces.filter((trace) => spansStored.has(trace) && !infoStored.has(trace) && withInfo.get(trace) !== false).length

    // stored whole: its StartTraceV3 went through, which is sent after its spans
    const holds: NonNullable<Sink["holds"]> = (traceIds) =>
      Effect.forEach(
        traceIds,
        (traceId) =>
          client.getTraceInfo(traceId).pipe(
            Effect.map((info) => info.metadata[TraceMetadataKey.INFO_FINALIZED] === "true" ? traceId : undefined),
            Effect.catchIf(
              (error) =>
                error._tag === "MlflowApiError" &&
                (error.status === 404 || error.errorCode === "RESOURCE_DOES_NOT_EXIST"),
              () => Effect.succeed(undefined)
            )
          ),
        { concurrency: 4 }
      ).pipe(
        Effect.map((found) => new Set(found.filter((id): id is string => id !== undefined))),
        Effect.mapError(toExportError)
      )

    // what the server holds of a trace cut off at shutdown: known from the answers, or asked
    const heldAfterCutOff: NonNullable<Sink["heldAfterCutOff"]> = (traces, millis) =>
      Effect.flatMap(Ref.get(otlp), (overOtlp) => {
        const known = (trace: Trace): Held | undefined => {
          if (infoStored.has(trace)) return "whole"
          if (!spansSent.has(trace) && !infoSent.has(trace)) return "none"
          if (overOtlp && spansStored.has(trace) && !infoSent.has(trace)) {
            return withInfo.get(trace) === false ? "abridged" : "part"
          }
          return undefined
        }
        const ask = (trace: Trace): Effect.Effect<Held> =>
          client.getTraceInfo(trace.info.traceId).pipe(
            Effect.map((info): Held =>
              info.metadata[TraceMetadataKey.INFO_FINALIZED] === "true"
                // stored from its info and a traces.json artifact: whether the upload went through is not told
                ? overOtlp ? "whole" : "unknown"
                : withInfo.get(trace) === false
                ? "abridged"
                : "part"
            ),
            Effect.catchAll((error) =>
              Effect.succeed<Held>(
                error._tag === "MlflowApiError" &&
                  (error.status === 404 || error.errorCode === "RESOURCE_DOES_NOT_EXIST")
                  ? "none"
                  : "unknown"
              )
            )
          )
        return Effect.flatMap(Clock.currentTimeMillis, (start) =>
          Effect.forEach(
            traces,
            (trace) => {
              const held = known(trace)
              if (held !== undefined) return Effect.succeed(held)
              return Effect.flatMap(Clock.currentTimeMillis, (now) =>
                Effect.timeoutTo(ask(trace), {
                  duration: Duration.millis(Math.max(0, start + millis - now)),
                  onSuccess: (answer): Held => answer,
                  onTimeout: (): Held => "unknown"
                }))
            },
            { concurrency: 4 }
          ))
      })

    // asked of the store, not of `/health` (which answers while the database is away): the server
    // is back when it reads the experiment, or refuses to for a reason of its own (not transient)
    const probe = Effect.flatMap(
      Ref.get(resolved),
      Option.match({
        onNone: () => client.isHealthy,
        onSome: (id) =>
          client.getExperiment(id).pipe(
            Effect.as(true),
            Effect.catchAll((error) => Effect.succeed(!isTransient(error))),
            Effect.timeoutTo({ duration: Duration.seconds(5), onSuccess: (up) => up, onTimeout: () => false })
          )
      })
    )

    return {
      export: exportTraces,
      exportLateSpans,
      partiallyStored,
      heldAfterCutOff,
      probe,
      storesAttachments: true,
      holds
    }
  })
