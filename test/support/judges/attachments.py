"""MLflow 3.18 as the judge of attachment extraction.

Reads a JSON list of cases from the file named by CASES, each {value, maxSize?}, sets `value` as the
inputs of a live MLflow span (`LiveSpan.set_inputs`, with MLFLOW_TRACE_MAX_ATTACHMENT_SIZE set to
maxSize when given) and prints for each what MLflow stored: the inputs attribute, with attachment
ids written `#<n>` in the order MLflow made them and the span's trace id written `TRACE`, and the
attachments in that order ({contentType, base64 of the bytes}).
"""
import base64
import json
import logging
import os

import mlflow
from mlflow.tracing.constant import SpanAttributeKey

logging.getLogger("mlflow").setLevel(logging.ERROR)

span = mlflow.start_span_no_context("judge")


def judge(case):
    if case.get("maxSize") is None:
        os.environ.pop("MLFLOW_TRACE_MAX_ATTACHMENT_SIZE", None)
    else:
        os.environ["MLFLOW_TRACE_MAX_ATTACHMENT_SIZE"] = str(case["maxSize"])
    span._attachments.clear()
    span.set_inputs(case["value"])
    text = json.dumps(span._attributes.get(SpanAttributeKey.INPUTS), ensure_ascii=True)
    attachments = []
    for n, (attachment_id, attachment) in enumerate(span._attachments.items()):
        text = text.replace(attachment_id, f"#{n}")
        attachments.append({
            # the content type only goes into the reference (as str() writes it) and the upload's name
            "contentType": str(attachment.content_type),
            "bytes": base64.b64encode(attachment.content_bytes).decode("ascii"),
        })
    return {"value": json.loads(text.replace(span.trace_id, "TRACE")), "attachments": attachments}


cases = json.load(open(os.environ["CASES"], encoding="utf-8"))
print(json.dumps([judge(case) for case in cases], ensure_ascii=True))
