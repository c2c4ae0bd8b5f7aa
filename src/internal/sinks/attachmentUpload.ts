import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Trace } from "../../Trace.js"
import { isTransient, type MlflowError } from "../client/errors.js"
import type { Service as MlflowClientService } from "../client/model.js"
import { artifactUrl } from "../client/url.js"
import type { ExportError } from "../export/sink.js"
import { inlineAttachments } from "../format/inlineContent.js"

/**
 * Trace attachments on an MLflow server: each under `attachments/<id>` in the trace's artifact
 * location, which the server puts at `<experiment artifact location>/traces/<trace id>/artifacts`
 * (with or without a `StartTraceV3`), so they are stored before the spans that refer to them. Where
 * they cannot be (artifacts the client cannot write, a refusal), the spans carry the content inline.
 *
 * @internal
 */
export const make = (
  client: MlflowClientService,
  experimentId: Effect.Effect<string, MlflowError | ExportError>,
  options: { readonly afterTraceInfo?: boolean | undefined } = {}
) => {
  let knownRoot: Option.Option<string> | undefined
  const root = Effect.suspend(() =>
    knownRoot !== undefined ? Effect.succeed(knownRoot) : Effect.flatMap(experimentId, client.getExperiment).pipe(
      Effect.map(({ artifactLocation }) =>
        artifactUrl(client.trackingUri, artifactLocation, "attachments") === undefined
          ? Option.none<string>()
          : Option.some(artifactLocation.replace(/\/+$/, ""))
      ),
      Effect.tap((found) =>
        Option.isNone(found)
          ? Effect.logInfo(
            "effect-mlflow: the experiment's artifacts cannot be written by a remote client (start the server " +
              "with --serve-artifacts); images and audio in span inputs and outputs stay inline"
          )
          : Effect.void
      ),
      Effect.tap((found) => Effect.sync(() => knownRoot = found))
    )
  )

  // by the identity of the exporter's trace objects, so that a retry does not upload again
  const done = new WeakMap<Trace, "stored" | "inline">()
  const inline = (trace: Trace, error: MlflowError) =>
    Effect.logWarning(
      `effect-mlflow: the attachments of trace ${trace.info.traceId} could not be stored (${error.message}); ` +
        "its images and audio stay inline"
    ).pipe(Effect.zipRight(Effect.sync(() => done.set(trace, "inline"))))

  const storeIn = (trace: Trace, location: Effect.Effect<Option.Option<string>, MlflowError | ExportError>) =>
    Effect.gen(function*() {
      const attachments = trace.attachments ?? []
      if (attachments.length === 0 || done.has(trace)) return
      const found = yield* location
      if (Option.isNone(found)) return void done.set(trace, "inline")
      yield* Effect.forEach(
        attachments,
        (attachment) =>
          // as MLflow's client: the type guessed from the file name, which has no extension
          client.uploadArtifact(
            found.value,
            `attachments/${attachment.id}`,
            attachment.content(),
            "application/octet-stream",
            trace.info.traceId
          ),
        { concurrency: 4, discard: true }
      )
      done.set(trace, "stored")
    }).pipe(Effect.catchIf(
      (error): error is MlflowError => error._tag !== "ExportError" && !isTransient(error),
      (error) => inline(trace, error)
    ))

  /** Before the trace's spans: its location is known from the experiment's. */
  const store = (trace: Trace): Effect.Effect<void, MlflowError | ExportError> =>
    options.afterTraceInfo === true
      ? Effect.void
      : storeIn(
        trace,
        Effect.map(root, Option.map((found) => `${found}/traces/${trace.info.traceId}/artifacts`))
      )

  /**
   * A Databricks workspace hands out storage for a trace only once its info is there: the attachments
   * go between `StartTraceV3` and `traces.json`, into the trace's artifact location.
   */
  const storeAt = (trace: Trace, location: string): Effect.Effect<void, MlflowError | ExportError> =>
    options.afterTraceInfo === true ? storeIn(trace, Effect.succeed(Option.some(location))) : Effect.void

  /** The trace as it goes out: its content back inline where its attachments could not be stored. */
  const outgoing = (trace: Trace): Trace =>
    done.get(trace) === "inline" ? { ...trace, spans: inlineAttachments(trace.spans, trace.attachments ?? []) } : trace

  return { store, storeAt, outgoing }
}
