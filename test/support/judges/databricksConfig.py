# The databricks-sdk's own resolution of a workspace's host and credentials, case by case: each case
# is DATABRICKS_* variables, a profile asked for (as MLflow passes the tracking URI's), and the text
# of a configuration file, read from DATABRICKS_CONFIG_FILE or from ~/.databrickscfg.
import json
import os
import tempfile

from databricks.sdk.config import Config

cases = json.load(open(os.environ["CASES"], encoding="utf-8"))
verdicts = []
for case in cases:
    for name in [n for n in os.environ if n.startswith(("DATABRICKS_", "ARM_", "GOOGLE_"))]:
        del os.environ[name]
    home = tempfile.mkdtemp()
    os.environ["HOME"] = home
    if case.get("file") is not None:
        path = os.path.join(home, ".databrickscfg")
        if case.get("fileVia") == "env":
            path = os.path.join(home, "elsewhere.cfg")
            os.environ["DATABRICKS_CONFIG_FILE"] = path
        with open(path, "w", encoding="utf-8") as file:
            file.write(case["file"])
    os.environ.update(case["env"])
    kwargs = {"retry_timeout_seconds": 2, "http_timeout_seconds": 2}
    profile = case.get("profile") or os.environ.get("DATABRICKS_CONFIG_PROFILE")
    try:
        config = Config(profile=profile, **kwargs) if profile else Config(**kwargs)
        verdicts.append({
            "host": config.host,
            "authType": config.auth_type,
            "authorization": config.authenticate().get("Authorization"),
            "workspaceId": config.workspace_id,
        })
    except Exception as error:
        verdicts.append({"error": str(error)})
print(json.dumps(verdicts))
