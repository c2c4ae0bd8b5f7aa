/**
 * The embedded default: with no tracking server configured, finished traces are written to a local
 * directory, one file per trace (`<trace id>.json`), in MLflow's `Trace.to_json()` format, readable
 * by Python's `mlflow.entities.Trace.from_json`.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import { DEFAULT_LOCAL_DIRECTORY } from "./internal/common/defaults.js"
import * as Internal from "./internal/sinks/localStore.js"
import type { Sink } from "./Sink.js"

/**
 * The directory used when neither `MLFLOW_TRACKING_URI` nor a directory is given.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultDirectory: string = DEFAULT_LOCAL_DIRECTORY

/**
 * A sink that writes each trace to `<directory>/<trace id>.json`. The first write logs, once, where
 * traces go. Spans that end after their trace was written are spliced into the same file. Writes of
 * one file are serialized, within the process and, with a lock file, between processes sharing the
 * directory; each is atomic (a uniquely named temporary file, then a rename).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeSink: (directory: string) => Effect.Effect<Sink> = Internal.makeSink
