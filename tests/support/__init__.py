"""What the harness's tests share: ports, processes, project copies, servers, Prometheus, the CI runner.

Nothing here is a test, and no test module imports another test module:
anything two test modules both need lives here.
"""
