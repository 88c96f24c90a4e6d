"""Hooks for the schemathesis run of tests/openapi.rs.

Generated headers are kept to what HTTP allows (RFC 9110: a name is a token; a value is visible
ASCII, obs-text, spaces and tabs). A request with other bytes in a header is not HTTP: the HTTP
layer (hyper) refuses it with a bare 400 before the API sees it, so it tells nothing about the API.
"""

import schemathesis

_TOKEN = set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _value_ok(value):
    return all(c in "\t " or 0x21 <= ord(c) <= 0x7E or 0x80 <= ord(c) <= 0xFF for c in value)


def _name_ok(name):
    return bool(name) and all(c in _TOKEN for c in name)


@schemathesis.hook
def filter_headers(context, headers):
    if headers is None:
        return True
    return all(_name_ok(k) and _value_ok(str(v)) for k, v in headers.items())


class _Text:
    """A text body as it is: the admin API's catalog (CSV) and model files (TOML) are documented
    as strings of their media type, which schemathesis has no serializer of its own for.
    Negative cases that are not strings are sent as their text."""

    def _data(self, value):
        text = value if isinstance(value, str) else str(value)
        return {"data": text.encode("utf-8", "surrogatepass")}

    def as_requests(self, context, value):
        return self._data(value)

    def as_werkzeug(self, context, value):
        return self._data(value)


schemathesis.serializer("text/csv")(_Text)
schemathesis.serializer("application/toml")(_Text)
