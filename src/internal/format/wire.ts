import * as Schema from "effect/Schema"

/**
 * The shapes MLflow's REST API answers (proto JSON) and `traces.json` holds (`Span.to_dict`), as
 * far as we read them: every field optional, unknown fields ignored. Integers may arrive as
 * numbers, strings or (from the bigint-safe parser) bigints.
 */

/** An integer in proto JSON: a number, a decimal string, or a bigint past 2^53. */
export const Integer = Schema.Union(Schema.Number, Schema.String, Schema.BigIntFromSelf)

const Text = Schema.optional(Schema.String)
const StringRecord = Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String }))

/** OTel proto JSON `AnyValue`. */
export interface AnyValue {
  readonly string_value?: string | undefined
  readonly bool_value?: boolean | undefined
  readonly int_value?: typeof Integer.Type | undefined
  readonly double_value?: number | string | undefined
  readonly array_value?: { readonly values?: ReadonlyArray<AnyValue> | undefined } | undefined
  readonly kvlist_value?: { readonly values?: ReadonlyArray<KeyValue> | undefined } | undefined
  readonly bytes_value?: string | undefined
}

/** OTel proto JSON `KeyValue`. */
export interface KeyValue {
  readonly key: string
  readonly value?: AnyValue | undefined
}

export const AnyValue: Schema.Schema<AnyValue> = Schema.Struct({
  string_value: Text,
  bool_value: Schema.optional(Schema.Boolean),
  int_value: Schema.optional(Integer),
  double_value: Schema.optional(Schema.Union(Schema.Number, Schema.String)),
  array_value: Schema.optional(
    Schema.Struct({ values: Schema.optional(Schema.Array(Schema.suspend(() => AnyValue))) })
  ),
  kvlist_value: Schema.optional(
    Schema.Struct({ values: Schema.optional(Schema.Array(Schema.suspend(() => KeyValue))) })
  ),
  bytes_value: Text
})

export const KeyValue: Schema.Schema<KeyValue> = Schema.Struct({
  key: Schema.String,
  value: Schema.optional(AnyValue)
})

const Status = Schema.optional(Schema.Struct({
  code: Schema.optional(Schema.Union(Schema.String, Schema.Number)),
  message: Text
}))

/** A span of `GetTrace` (OTel proto JSON; ids base64). */
export const ProtoSpan = Schema.Struct({
  trace_id: Text,
  span_id: Text,
  parent_span_id: Text,
  name: Text,
  kind: Schema.optional(Schema.Union(Schema.String, Schema.Number)),
  start_time_unix_nano: Schema.optional(Integer),
  end_time_unix_nano: Schema.optional(Integer),
  status: Status,
  attributes: Schema.optional(Schema.Array(KeyValue)),
  events: Schema.optional(Schema.Array(Schema.Struct({
    name: Text,
    time_unix_nano: Schema.optional(Integer),
    attributes: Schema.optional(Schema.Array(KeyValue))
  }))),
  links: Schema.optional(Schema.Array(Schema.Struct({
    trace_id: Text,
    span_id: Text,
    attributes: Schema.optional(Schema.Array(KeyValue))
  })))
})

/** A span of `traces.json` (`Span.to_dict`: attribute values are JSON strings; ids base64). */
export const DictSpan = Schema.Struct({
  trace_id: Text,
  span_id: Text,
  parent_span_id: Schema.optional(Schema.NullOr(Schema.String)),
  name: Text,
  kind: Schema.optional(Schema.Union(Schema.String, Schema.Number)),
  start_time_unix_nano: Schema.optional(Integer),
  end_time_unix_nano: Schema.optional(Integer),
  status: Status,
  attributes: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  events: Schema.optional(Schema.Array(Schema.Struct({
    name: Text,
    time_unix_nano: Schema.optional(Integer),
    attributes: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
  }))),
  /** `Link.to_dict`: the linked trace by its MLflow id (`tr-<hex>`), the span id in hex */
  links: Schema.optional(Schema.Array(Schema.Struct({
    trace_id: Text,
    span_id: Text,
    attributes: Schema.optional(Schema.NullOr(Schema.Record({ key: Schema.String, value: Schema.Unknown })))
  })))
})

/** `traces.json`. */
export const TraceData = Schema.Struct({ spans: Schema.optional(Schema.Array(DictSpan)) })

/** An assessment (proto JSON). */
export const Assessment = Schema.Struct({
  assessment_id: Text,
  assessment_name: Text,
  trace_id: Text,
  span_id: Text,
  source: Schema.optional(Schema.Struct({ source_type: Text, source_id: Text })),
  create_time: Text,
  last_update_time: Text,
  feedback: Schema.optional(Schema.Struct({
    value: Schema.optional(Schema.Unknown),
    error: Schema.optional(Schema.Struct({ error_code: Text, error_message: Text }))
  })),
  expectation: Schema.optional(Schema.Struct({ value: Schema.optional(Schema.Unknown) })),
  rationale: Text,
  metadata: StringRecord,
  overrides: Text,
  valid: Schema.optional(Schema.Boolean)
})

/** TraceInfo V3 (proto JSON). */
export const TraceInfo = Schema.Struct({
  trace_id: Schema.String,
  trace_location: Schema.optional(Schema.Struct({
    mlflow_experiment: Schema.optional(Schema.Struct({ experiment_id: Text }))
  })),
  request_time: Text,
  execution_duration_ms: Schema.optional(Integer),
  /** a proto `Duration`: `"1.5s"` */
  execution_duration: Text,
  state: Text,
  request_preview: Text,
  response_preview: Text,
  client_request_id: Text,
  trace_metadata: StringRecord,
  tags: StringRecord,
  assessments: Schema.optional(Schema.Array(Assessment))
})
