"""A request the client must change, worded as MLflow's scoring server words an error."""

from __future__ import annotations

import json


def error_body(error_code: str, message: str) -> bytes:
    """An error as MLflow's scoring server words one: `{"error_code", "message"}`."""
    return json.dumps({"error_code": error_code, "message": message}).encode()


class ClientError(Exception):
    """A request the client must change; never the server's fault."""

    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message

    def body(self) -> bytes:
        return error_body(self.error_code, self.message)


def bad_request(message: str) -> ClientError:
    return ClientError(400, "BAD_REQUEST", message)


def schema_error(message: str) -> ClientError:
    return ClientError(400, "INVALID_PARAMETER_VALUE", message)
