"""Onboards a simulated device over HTTP with esp-protocomm (PyPI), a protocomm client that
Refill did not write, the way ESP-IDF's esp_prov talks to a device in SoftAP mode.

usage: esp_protocomm_client.py URL POP SSID PASSWORD

The transport is this file's (esp-protocomm ships only BLE): one kept-alive HTTP/1.1
connection, and the session cookie kept from a header spelled exactly `Set-Cookie`, as esp_prov
does. The security1 handshake and the Wi-Fi messages are esp-protocomm's. Prints one JSON line:
{"session": "ok" | "<error>", "wifi": "<state>" | null, "failure": "<reason>" | null}.
"""

import asyncio
import http.client
import json
import sys
from urllib.parse import urlparse

from esp_protocomm import Security1, SecurityError, WifiError, establish_session, provision_wifi


class HttpTransport:
    """esp-protocomm's duck-typed transport over one HTTP connection."""

    def __init__(self, url: str) -> None:
        parsed = urlparse(url)
        self.connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
        self.headers = {
            "Content-type": "application/x-www-form-urlencoded",
            "Accept": "text/plain",
        }

    async def send(self, endpoint: str, data: bytes) -> bytes:
        self.connection.request("POST", "/" + endpoint, data, self.headers)
        response = self.connection.getresponse()
        body = response.read()
        # Case-sensitive, as esp_prov reads it: only `Set-Cookie` counts.
        for name, value in response.getheaders():
            if name == "Set-Cookie":
                self.headers["Cookie"] = value.split(";")[0]
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status} from /{endpoint}")
        return body


async def main(url: str, pop: str, ssid: str, password: str) -> dict:
    transport = HttpTransport(url)
    try:
        security = await establish_session(transport, Security1(pop=pop))
    except SecurityError as error:
        return {"session": f"refused: {error}", "wifi": None, "failure": None}
    try:
        status = await provision_wifi(
            transport, security, ssid, password, timeout=20.0, poll_interval=0.1
        )
    except WifiError as error:
        return {"session": "ok", "wifi": f"error: {error}", "failure": None}
    return {
        "session": "ok",
        "wifi": status.state.name.lower(),
        "failure": status.failure.name.lower() if status.failure is not None else None,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(*sys.argv[1:5]))))
