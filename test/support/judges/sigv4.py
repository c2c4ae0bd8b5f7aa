# botocore's SigV4Auth signs each request our signer signed, at the same time and with the same
# credentials; prints the Authorization header it computed for each (the judge's verdicts).
import base64
import datetime
import json
import os
from unittest import mock

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

cases = json.load(open(os.environ["CASES"], encoding="utf-8"))
verdicts = []
for case in cases:
    credentials = Credentials(case["accessKeyId"], case["secretAccessKey"], case.get("sessionToken"))
    request = AWSRequest(
        method=case["method"],
        url=case["url"],
        data=base64.b64decode(case["body"]),
        headers=case["headers"],
    )
    at = datetime.datetime.strptime(case["date"], "%Y%m%dT%H%M%SZ")
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=at):
        botocore.auth.SigV4Auth(credentials, case["service"], case["region"]).add_auth(request)
    verdicts.append(request.headers["Authorization"])
print(json.dumps(verdicts))
