/**
 * The embedded default: with no tracking server configured, finished traces are written to a local
 * directory, one file per trace, in MLflow's `Trace.to_json()` format, readable by Python's
 * `mlflow.entities.Trace.from_json`, by `effect-mlflow view`, and sent to a server by
 * `effect-mlflow push`.
 *
 * Layout of the directory (`mlflow-traces` unless `EFFECT_MLFLOW_LOCAL_DIR` or `file:<dir>` says):
 *
 * - `<trace id>.json`: a finished trace (`tr-` and 32 hex digits). It is replaced whole, never
 *   edited in place: a write goes to a temporary `.<name>.<pid>.<random>.tmp` file that is then
 *   renamed over it, so a reader sees the old file or the new one, never half of one.
 * - `<trace id>.json.lock`: held (created exclusively) while a process writes that trace, so that
 *   several processes can share the directory (a span that ends late, in another process of the
 *   same trace, is spliced in, not lost). A lock older than 30 seconds was left by a dead process
 *   and is broken.
 *
 * With `localMaxBytes` or `localMaxAge` (`EFFECT_MLFLOW_LOCAL_MAX_BYTES`, `EFFECT_MLFLOW_LOCAL_MAX_AGE`),
 * the oldest trace files (by modification time) are removed, each under its lock, until the
 * directory is within them; the directory is measured after writes, at most every 10 seconds unless
 * it was found past its size.
 *
 * @since 0.1.0
 */
import { DEFAULT_LOCAL_DIRECTORY } from "./internal/common/defaults.js"

/**
 * The directory used when neither `MLFLOW_TRACKING_URI` nor a directory is given.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultDirectory: string = DEFAULT_LOCAL_DIRECTORY
