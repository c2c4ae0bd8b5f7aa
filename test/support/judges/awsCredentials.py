# botocore's own resolution of credentials and region, case by case: each case is environment
# variables and the texts of the shared credentials and config files. Network providers are off.
import json
import os
import tempfile

import botocore.exceptions
import botocore.session

cases = json.load(open(os.environ["CASES"], encoding="utf-8"))
verdicts = []
for case in cases:
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        del os.environ[name]
    directory = tempfile.mkdtemp()
    for variable, key in (("AWS_SHARED_CREDENTIALS_FILE", "credentialsFile"), ("AWS_CONFIG_FILE", "configFile")):
        path = os.path.join(directory, key)
        if case.get(key) is not None:
            with open(path, "w", encoding="utf-8") as file:
                file.write(case[key])
        os.environ[variable] = path
    os.environ.update(case["env"])
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    session = botocore.session.Session()
    try:
        credentials = session.get_credentials()
        frozen = None if credentials is None else credentials.get_frozen_credentials()
        found = None if frozen is None else [frozen.access_key, frozen.secret_key, frozen.token]
    except botocore.exceptions.PartialCredentialsError:
        found = "partial"
    verdicts.append({"credentials": found, "region": session.get_config_variable("region")})
print(json.dumps(verdicts))
