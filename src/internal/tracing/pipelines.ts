import type { TraceAssembler } from "./assembler.js"

/**
 * The trace assembler of each running pipeline, by its `MlflowTracing` service: the side channel
 * through which an OpenTelemetry span processor feeds the pipeline of the layer in context.
 */
const assemblers = new WeakMap<object, TraceAssembler>()

/** Records the assembler of a pipeline's service. */
export const register = (service: object, assembler: TraceAssembler): void => {
  assemblers.set(service, assembler)
}

/** The trace assembler of a running pipeline, for span processors that feed it. */
export const assemblerOf = (service: object): TraceAssembler | undefined => assemblers.get(service)
