"""Team mode: a shared MLflow tracking server on PostgreSQL, with proxied artifacts, on 127.0.0.1.

`mlgate team start` / `mlgate team stop` (what `make team-server` and
`make team-server-stop` run); the tests start and stop the same server through
`mlgate.team.server`. Nothing here imports mlflow or model/: the server is a process.
"""
