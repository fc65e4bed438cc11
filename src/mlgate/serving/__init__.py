"""Serving a model over MLflow's scoring protocol.

payload   the pure core: a request body in, a checked frame out; predictions to a body
batching  micro-batching of concurrent requests into one predict call
app       the Starlette app (`create_app`) around the two
runner    the process: sockets, uvicorn, workers, a thread-served app for the gates
"""
