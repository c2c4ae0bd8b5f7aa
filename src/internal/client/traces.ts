import * as Effect from "effect/Effect"
import type { SpanData, TraceInfo } from "../../Trace.js"
import { lazyModule } from "../common/lazy.js"
import { scrub } from "../common/scrub.js"
import * as Otlp from "../format/otlp.js"
import { traceDataToJson, traceInfoToProtoJson } from "../format/traceJson.js"
import type { StoredTrace } from "../format/traceRead.js"
import * as Answers from "./answers.js"
import { type MlflowError, MlflowTransportError } from "./errors.js"
import type { Request, Service } from "./model.js"
import { artifactUrl } from "./url.js"

/** a trace asked for by the user may be large (our own budget allows 16 MiB of spans) */
const TRACE_READ_CAP = 64 * 1024 * 1024

const TRACES = "/api/3.0/mlflow/traces"

// reading traces back, and a Databricks workspace's cloud storage: loaded on first use
const loadTraceRead = lazyModule(() => import("../format/traceRead.js"))
const loadCloudUpload = lazyModule(() => import("./cloudUpload.js"))

type TraceCalls = Pick<
  Service,
  | "startTrace"
  | "logSpans"
  | "uploadTraceData"
  | "uploadArtifact"
  | "getTraceInfo"
  | "getTrace"
  | "searchTraces"
  | "setTraceTag"
  | "deleteTraceTag"
  | "deleteTraces"
>

/** Writing, reading, searching, tagging and deleting traces. */
export const make = (request: Request, trackingUri: string, resource: Otlp.Resource): TraceCalls => {
  const decoder = <A, I>(schema: Parameters<typeof Answers.decode<A, I>>[0], method: string, path: string) =>
    Answers.decode(schema, method, /^https?:\/\//.test(path) ? path : `${trackingUri}${path}`)

  const startTrace = (info: TraceInfo) =>
    request("POST", TRACES, { json: { trace: { trace_info: traceInfoToProtoJson(info) } } }).pipe(
      Effect.flatMap(decoder(Answers.StartTraceAnswer, "POST", TRACES)),
      Effect.map((body): Readonly<Record<string, string>> => body.trace?.trace_info?.tags ?? {})
    )

  const logSpans = (experimentId: string, spans: ReadonlyArray<SpanData>) =>
    Effect.flatMap(
      Otlp.encodeTraceRequestYielding(spans, resource),
      (body) =>
        Effect.asVoid(request("POST", "/v1/traces", {
          bytes: { body, contentType: "application/x-protobuf" },
          headers: { "x-mlflow-experiment-id": experimentId }
        }))
    )

  const uploadArtifact = (
    artifactLocation: string,
    file: string,
    body: Uint8Array,
    contentType: string,
    traceId?: string
  ) => {
    // a Databricks workspace keeps trace data in its cloud storage, written through signed URLs
    if (artifactLocation.startsWith("dbfs:") && traceId !== undefined) {
      return Effect.asVoid(Effect.flatMap(
        loadCloudUpload,
        (CloudUpload) => CloudUpload.uploadTraceFile(request, traceId, file === "traces.json" ? undefined : file, body)
      ))
    }
    const url = artifactUrl(trackingUri, artifactLocation, file)
    if (url === undefined) {
      return Effect.fail<MlflowError>(
        new MlflowTransportError({
          reason: "InvalidUrl",
          method: "PUT",
          url: scrub(artifactLocation),
          detail: "only mlflow-artifacts: and http(s) artifact locations can be written by a remote client; " +
            "start the server with --serve-artifacts",
          description: "unsupported artifact location"
        })
      )
    }
    return Effect.asVoid(request("PUT", url, { bytes: { body, contentType } }))
  }

  const uploadTraceData = (artifactLocation: string, spans: ReadonlyArray<SpanData>, traceId?: string) =>
    uploadArtifact(
      artifactLocation,
      "traces.json",
      new TextEncoder().encode(traceDataToJson(spans)),
      "application/json",
      traceId
    )

  const infoPath = (traceId: string) => `${TRACES}/${encodeURIComponent(traceId)}`
  const getTraceInfo = (traceId: string) =>
    request("GET", infoPath(traceId)).pipe(
      Effect.flatMap(decoder(Answers.TraceInfoAnswer, "GET", infoPath(traceId))),
      Effect.zipWith(loadTraceRead, (body, { decodeTraceInfo }) => decodeTraceInfo(body.trace.trace_info))
    )

  const fromArtifact = (info: StoredTrace["info"]): Effect.Effect<StoredTrace, MlflowError> => {
    const location = info.tags["mlflow.artifactLocation"]
    // a Databricks workspace's: read through a signed URL it hands out
    const dbfs = location?.startsWith("dbfs:") === true
    const url = location === undefined || dbfs ? undefined : artifactUrl(trackingUri, location, "traces.json")
    if (url === undefined && !dbfs) return Effect.succeed({ info, spans: [] })
    const read = url === undefined
      ? Effect.flatMap(
        loadCloudUpload,
        (CloudUpload) => CloudUpload.downloadTraceData(request, info.traceId, TRACE_READ_CAP)
      )
      : request("GET", url, { maxAnswerBytes: TRACE_READ_CAP })
    return read.pipe(
      Effect.flatMap(decoder(Answers.TraceData, "GET", url ?? `${trackingUri}/(trace ${info.traceId} data)`)),
      Effect.zipWith(
        loadTraceRead,
        (body, { decodeDictSpan, rootFirst }) => ({ info, spans: rootFirst((body.spans ?? []).map(decodeDictSpan)) })
      )
    )
  }

  const GET = `${TRACES}/get`
  const getTrace = (traceId: string) =>
    request("GET", GET, { query: { trace_id: traceId, allow_partial: "true" }, maxAnswerBytes: TRACE_READ_CAP }).pipe(
      Effect.flatMap(decoder(Answers.TraceAnswer, "GET", GET)),
      Effect.zipWith(loadTraceRead, (body, { decodeProtoSpan, decodeTraceInfo, rootFirst }): StoredTrace => ({
        info: decodeTraceInfo(body.trace.trace_info),
        spans: rootFirst((body.trace.spans ?? []).map(decodeProtoSpan))
      })),
      // an older server, or spans kept as an artifact: the info, then `traces.json`
      Effect.catchIf(
        (error) => error._tag === "MlflowApiError" && error.status !== 401 && error.status !== 403,
        () => Effect.flatMap(getTraceInfo(traceId), fromArtifact)
      )
    )

  const SEARCH = `${TRACES}/search`
  const searchTraces: Service["searchTraces"] = (search) =>
    request("POST", SEARCH, {
      json: {
        locations: search.experimentIds.map((id) => ({
          type: "MLFLOW_EXPERIMENT",
          mlflow_experiment: { experiment_id: id }
        })),
        ...(search.filter === undefined || search.filter === "" ? {} : { filter: search.filter }),
        max_results: search.maxResults ?? 100,
        ...(search.orderBy === undefined ? {} : { order_by: [...search.orderBy] }),
        ...(search.pageToken === undefined ? {} : { page_token: search.pageToken })
      }
    }).pipe(
      Effect.flatMap(decoder(Answers.SearchAnswer, "POST", SEARCH)),
      Effect.zipWith(loadTraceRead, (body, { decodeTraceInfo }) => ({
        traces: (body.traces ?? []).map(decodeTraceInfo),
        nextPageToken: body.next_page_token || undefined
      }))
    )

  const tagsPath = (traceId: string) => `${infoPath(traceId)}/tags`
  const setTraceTag = (traceId: string, key: string, value: string) =>
    Effect.asVoid(request("PATCH", tagsPath(traceId), { json: { key, value } }))
  const deleteTraceTag = (traceId: string, key: string) =>
    Effect.asVoid(request("DELETE", tagsPath(traceId), { json: { key } }))

  const DELETE = `${TRACES}/delete-traces`
  const deleteTraces: Service["deleteTraces"] = (which) =>
    request("POST", DELETE, {
      json: "traceIds" in which
        ? { experiment_id: which.experimentId, request_ids: [...which.traceIds] }
        : {
          experiment_id: which.experimentId,
          max_timestamp_millis: which.olderThanMillis,
          ...(which.maxTraces === undefined ? {} : { max_traces: which.maxTraces })
        }
    }).pipe(
      Effect.flatMap(decoder(Answers.DeleteAnswer, "POST", DELETE)),
      Effect.map((body) => Number(body.traces_deleted ?? 0))
    )

  return {
    startTrace,
    logSpans,
    uploadTraceData,
    uploadArtifact,
    getTraceInfo,
    getTrace,
    searchTraces,
    setTraceTag,
    deleteTraceTag,
    deleteTraces
  }
}
