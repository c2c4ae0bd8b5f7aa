"""MLflow 3.18 as the judge of trace finalization.

Reads a JSON list of cases from the file named by CASES, each {inputs?, outputs?, requestPreview?,
responsePreview?, spans: [[span_id, parent_id, usage?], ...]} (usage absent: the span has none), and
prints for each what MLflow's own client functions make of it: the previews (a preview set by hand
as `mlflow.update_current_trace` keeps it, with NUL replaced as the SQL store does),
`mlflow.traceInputs` / `mlflow.traceOutputs`, and the token usage (as the span processor aggregates
it: best effort, none when aggregation fails).
"""
import json
import os

from mlflow.tracing.processor.base_mlflow import BaseMlflowSpanProcessor
from mlflow.tracing.utils import SpanAggregationNode, aggregate_usage_from_span_nodes, dump_span_attribute_value
from mlflow.tracing.utils.truncation import _get_truncated_preview, _replace_nul

MISSING = object()


def preview(case, key, attribute, role):
    given = case.get(key)
    if given:  # update_current_trace sets a preview only when it is truthy; the store replaces NUL
        return _replace_nul(given)
    value = case.get(attribute, MISSING)
    if value is MISSING:
        return None
    return _get_truncated_preview(dump_span_attribute_value(value), role=role)


def usage(case):
    nodes = [
        SpanAggregationNode(span_id=span[0], parent_id=span[1], data=span[2] if len(span) > 2 else None)
        for span in case["spans"]
    ]
    try:
        return aggregate_usage_from_span_nodes(nodes)
    except Exception:
        return None


def metadata(case, attribute):
    value = case.get(attribute, MISSING)
    raw = None if value is MISSING else dump_span_attribute_value(value)
    return BaseMlflowSpanProcessor._truncate_metadata(None, raw)


def judge(case):
    return {
        "requestPreview": preview(case, "requestPreview", "inputs", "user"),
        "responsePreview": preview(case, "responsePreview", "outputs", "assistant"),
        "traceInputs": metadata(case, "inputs"),
        "traceOutputs": metadata(case, "outputs"),
        "tokenUsage": usage(case),
    }


cases = json.load(open(os.environ["CASES"], encoding="utf-8"))
print(json.dumps([judge(case) for case in cases], ensure_ascii=True))
