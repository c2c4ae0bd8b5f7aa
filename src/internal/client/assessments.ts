import * as Effect from "effect/Effect"
import type { Json } from "../common/json.js"
import { lazyModule } from "../common/lazy.js"
import * as Answers from "./answers.js"
import type { Method, Request, Service } from "./model.js"

/** the reader of assessments, loaded by the first call (tracing alone makes none) */
const loadAssessmentJson = lazyModule(() => import("../format/assessmentJson.js"))

/** Feedback and expectations on traces. */
export const make = (
  request: Request,
  trackingUri: string
): Pick<Service, "createAssessment" | "getAssessment" | "updateAssessment" | "deleteAssessment"> => {
  const path = (traceId: string, assessmentId?: string) =>
    `/api/3.0/mlflow/traces/${encodeURIComponent(traceId)}/assessments` +
    (assessmentId === undefined ? "" : `/${encodeURIComponent(assessmentId)}`)
  const call = (method: Method, url: string, json?: Json) =>
    request(method, url, json === undefined ? {} : { json }).pipe(
      Effect.flatMap(Answers.decode(Answers.AssessmentAnswer, method, `${trackingUri}${url}`)),
      Effect.zipWith(loadAssessmentJson, (body, AssessmentJson) => AssessmentJson.decode(body.assessment))
    )

  return {
    createAssessment: (assessment) =>
      call("POST", path(String(assessment.trace_id)), { assessment } as unknown as Json),
    getAssessment: (traceId, assessmentId) => call("GET", path(traceId, assessmentId)),
    updateAssessment: (traceId, assessmentId, assessment, updateMask) =>
      call("PATCH", path(traceId, assessmentId), {
        assessment: { ...assessment, trace_id: traceId, assessment_id: assessmentId },
        update_mask: updateMask.join(",")
      } as unknown as Json),
    deleteAssessment: (traceId, assessmentId) => Effect.asVoid(request("DELETE", path(traceId, assessmentId)))
  }
}
