import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Answers from "./answers.js"
import type { MlflowError } from "./errors.js"
import type { Experiment, Request, Service } from "./model.js"

const GET_BY_NAME = "/api/2.0/mlflow/experiments/get-by-name"
const GET = "/api/2.0/mlflow/experiments/get"
const CREATE = "/api/2.0/mlflow/experiments/create"

/** Finding and creating experiments. */
export const make = (
  request: Request,
  trackingUri: string
): Pick<Service, "getExperiment" | "getExperimentByName" | "createExperiment" | "getOrCreateExperiment"> => {
  const decodeExperiment = Answers.decode(Answers.ExperimentAnswer, "GET", `${trackingUri}${GET_BY_NAME}`)
  const decodeById = Answers.decode(Answers.ExperimentAnswer, "GET", `${trackingUri}${GET}`)

  const toExperiment = (
    { experiment }: typeof Answers.ExperimentAnswer.Type,
    fallbackName: string
  ): Experiment => ({
    experimentId: experiment.experiment_id,
    name: experiment.name ?? fallbackName,
    artifactLocation: experiment.artifact_location ?? "",
    lifecycleStage: experiment.lifecycle_stage ?? "active"
  })

  const getExperiment = (id: string): Effect.Effect<Experiment, MlflowError> =>
    request("GET", GET, { query: { experiment_id: id } }).pipe(
      Effect.flatMap(decodeById),
      Effect.map((answer) => toExperiment(answer, ""))
    )
  const decodeCreated = Answers.decode(Answers.CreateExperimentAnswer, "POST", `${trackingUri}${CREATE}`)

  const getExperimentByName = (name: string): Effect.Effect<Option.Option<Experiment>, MlflowError> =>
    request("GET", GET_BY_NAME, { query: { experiment_name: name } }).pipe(
      Effect.flatMap(decodeExperiment),
      Effect.map((answer) => Option.some(toExperiment(answer, name))),
      Effect.catchIf(
        (error) => error._tag === "MlflowApiError" && error.errorCode === "RESOURCE_DOES_NOT_EXIST",
        () => Effect.succeedNone
      )
    )

  const createExperiment = (name: string) =>
    request("POST", CREATE, { json: { name } }).pipe(
      Effect.flatMap(decodeCreated),
      Effect.map((body) => body.experiment_id)
    )

  const idOr = (onNone: () => Effect.Effect<string, MlflowError>) =>
    Option.match({ onSome: (experiment: Experiment) => Effect.succeed(experiment.experimentId), onNone })

  const getOrCreateExperiment = (name: string) =>
    getExperimentByName(name).pipe(
      Effect.flatMap(idOr(() =>
        createExperiment(name).pipe(
          Effect.catchIf(
            (error) => error._tag === "MlflowApiError" && error.errorCode === "RESOURCE_ALREADY_EXISTS",
            // another process created it between our lookup and create
            () => getExperimentByName(name).pipe(Effect.flatMap(idOr(() => createExperiment(name))))
          )
        )
      ))
    )

  return { getExperiment, getExperimentByName, createExperiment, getOrCreateExperiment }
}
