import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { artifactUrl, type Service } from "../../MlflowClient.js"
import type { Json } from "../common/json.js"
import * as AssessmentJson from "../format/assessmentJson.js"
import { decodeDictSpan, decodeProtoSpan, decodeTraceInfo, rootFirst, type StoredTrace } from "../format/traceRead.js"

/**
 * The client's reading, tagging, deleting and assessment calls, over its `request`.
 *
 * @internal
 */
export const makeQueries = (
  request: Service["request"],
  trackingUri: string,
  getTraceInfo: Service["getTraceInfo"]
): Pick<
  Service,
  | "getTrace"
  | "searchTraces"
  | "setTraceTag"
  | "deleteTraceTag"
  | "deleteTraces"
  | "createAssessment"
  | "getAssessment"
  | "updateAssessment"
  | "deleteAssessment"
> => {
  /** a trace asked for by the user may be large (our own budget allows 16 MiB of spans) */
  const TRACE_READ_CAP = 64 * 1024 * 1024
  const fromArtifact = (info: StoredTrace["info"]) => {
    const location = info.tags["mlflow.artifactLocation"]
    const url = location === undefined ? Option.none() : artifactUrl(trackingUri, location, "traces.json")
    if (Option.isNone(url)) return Effect.succeed<StoredTrace>({ info, spans: [] })
    return Effect.map(request("GET", url.value, { maxAnswerBytes: TRACE_READ_CAP }), (body: any) => ({
      info,
      spans: rootFirst((body.spans ?? []).map(decodeDictSpan))
    }))
  }

  const getTrace: Service["getTrace"] = (traceId) =>
    request("GET", "/api/3.0/mlflow/traces/get", {
      query: { trace_id: traceId, allow_partial: "true" },
      maxAnswerBytes: TRACE_READ_CAP
    }).pipe(
      Effect.map((body: any): StoredTrace => ({
        info: decodeTraceInfo(body.trace.trace_info),
        spans: rootFirst((body.trace.spans ?? []).map(decodeProtoSpan))
      })),
      Effect.catchIf(
        (error) => error._tag === "MlflowApiError" && error.status !== 401 && error.status !== 403,
        () =>
          getTraceInfo(traceId).pipe(
            Effect.flatMap((body: any) => fromArtifact(decodeTraceInfo(body.trace.trace_info)))
          )
      )
    )

  const searchTraces: Service["searchTraces"] = (search) =>
    request("POST", "/api/3.0/mlflow/traces/search", {
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
    }).pipe(Effect.map((body: any) => ({
      traces: (body.traces ?? []).map(decodeTraceInfo),
      nextPageToken: body.next_page_token || undefined
    })))

  const tagsPath = (traceId: string) => `/api/3.0/mlflow/traces/${encodeURIComponent(traceId)}/tags`
  const setTraceTag: Service["setTraceTag"] = (traceId, key, value) =>
    Effect.asVoid(request("PATCH", tagsPath(traceId), { json: { key, value } }))
  const deleteTraceTag: Service["deleteTraceTag"] = (traceId, key) =>
    Effect.asVoid(request("DELETE", tagsPath(traceId), { json: { key } }))

  const deleteTraces: Service["deleteTraces"] = (which) =>
    request("POST", "/api/3.0/mlflow/traces/delete-traces", {
      json: "traceIds" in which
        ? { experiment_id: which.experimentId, request_ids: [...which.traceIds] }
        : {
          experiment_id: which.experimentId,
          max_timestamp_millis: which.olderThanMillis,
          ...(which.maxTraces === undefined ? {} : { max_traces: which.maxTraces })
        }
    }).pipe(Effect.map((body: any) => Number(body.traces_deleted ?? 0)))

  const assessmentsPath = (traceId: string, assessmentId?: string) =>
    `/api/3.0/mlflow/traces/${encodeURIComponent(traceId)}/assessments` +
    (assessmentId === undefined ? "" : `/${encodeURIComponent(assessmentId)}`)
  const createAssessment: Service["createAssessment"] = (assessment) =>
    request("POST", assessmentsPath(String(assessment.trace_id)), { json: { assessment } as Json }).pipe(
      Effect.map((body: any) => AssessmentJson.decode(body.assessment))
    )
  const getAssessment: Service["getAssessment"] = (traceId, assessmentId) =>
    request("GET", assessmentsPath(traceId, assessmentId)).pipe(
      Effect.map((body: any) => AssessmentJson.decode(body.assessment))
    )
  const updateAssessment: Service["updateAssessment"] = (traceId, assessmentId, assessment, updateMask) =>
    request("PATCH", assessmentsPath(traceId, assessmentId), {
      json: {
        assessment: { ...assessment, trace_id: traceId, assessment_id: assessmentId },
        update_mask: updateMask.join(",")
      } as Json
    }).pipe(Effect.map((body: any) => AssessmentJson.decode(body.assessment)))
  const deleteAssessment: Service["deleteAssessment"] = (traceId, assessmentId) =>
    Effect.asVoid(request("DELETE", assessmentsPath(traceId, assessmentId)))

  return {
    getTrace,
    searchTraces,
    setTraceTag,
    deleteTraceTag,
    deleteTraces,
    createAssessment,
    getAssessment,
    updateAssessment,
    deleteAssessment
  }
}
