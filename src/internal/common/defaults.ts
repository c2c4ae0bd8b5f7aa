/** Where traces go without a tracking URI: MLflow trace files in this directory. */
export const DEFAULT_LOCAL_DIRECTORY = "mlflow-traces"
