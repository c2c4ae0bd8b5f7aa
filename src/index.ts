/**
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as Assessment from "./Assessment.js"
/**
 * @since 0.1.0
 */
export * as HttpTracing from "./HttpTracing.js"
/**
 * @since 0.1.0
 */
export * as Mlflow from "./Mlflow.js"
/**
 * @since 0.1.0
 */
export * as MlflowClient from "./MlflowClient.js"
/**
 * @since 0.1.0
 */
export * as MlflowConfig from "./MlflowConfig.js"
/**
 * @since 0.1.0
 */
export * as MlflowTracing from "./MlflowTracing.js"
/**
 * @since 0.1.0
 */
export { MlflowTracingLive } from "./MlflowTracing.js"
/**
 * @since 0.1.0
 */
export * as Redaction from "./Redaction.js"
/**
 * @since 0.1.0
 */
export * as Search from "./Search.js"
/**
 * @since 0.1.0
 */
export * as SearchFilter from "./SearchFilter.js"
/**
 * @since 0.1.0
 */
export * as Sink from "./Sink.js"
/**
 * @since 0.1.0
 */
export * as SpanType from "./SpanType.js"
/**
 * @since 0.1.0
 */
export * as Trace from "./Trace.js"
/**
 * @since 0.1.0
 */
export * as TracedService from "./TracedService.js"
/**
 * @since 0.2.0
 */
export * as TraceContext from "./TraceContext.js"
