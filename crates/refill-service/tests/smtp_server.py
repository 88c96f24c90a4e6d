"""A mail server Refill did not write (aiosmtpd, from PyPI), on a loopback port, for tests/mail.rs.

Usage: smtp_server.py MODE CERT KEY USER PASSWORD

MODE is "starttls" (STARTTLS offered and required before anything is sent), "tls" (TLS from the
first byte, as on port 465) or "refuse" (as starttls, but every recipient is refused for good).
Everyone must sign in as USER with PASSWORD. Prints "port N" once it listens, then one JSON line
per message it took: the envelope's sender and recipients, whether TLS carried it, who signed in,
and the message as sent.
"""

import json
import logging
import warnings
import socket
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

# aiosmtpd warns of its own deprecated login_data and of AUTH without TLS (TLS is there from the
# first byte), neither of which is the test's business.
warnings.simplefilter("ignore")
logging.getLogger("mail.log").setLevel(logging.ERROR)

mode, cert, key, user, password = sys.argv[1:6]
context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if mode == "refuse":
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        print(
            json.dumps(
                {
                    "from": envelope.mail_from,
                    "to": envelope.rcpt_tos,
                    # STARTTLS sets the session's ssl; TLS from the start is the transport's.
                    "tls": session.ssl is not None
                    or server.transport.get_extra_info("ssl_object") is not None,
                    "user": session.auth_data,
                    "message": envelope.content.decode("utf-8", "replace"),
                }
            ),
            flush=True,
        )
        return "250 Message accepted"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login.decode() == user
        and auth_data.password.decode() == password
    )
    return AuthResult(success=ok, auth_data=auth_data.login.decode() if ok else None)


with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]

common = dict(
    hostname="127.0.0.1",
    port=port,
    authenticator=authenticator,
    auth_required=True,
)
if mode == "tls":
    controller = Controller(Handler(), ssl_context=context, auth_require_tls=False, **common)
else:
    controller = Controller(
        Handler(), tls_context=context, require_starttls=True, auth_require_tls=True, **common
    )
controller.start()
print(f"port {port}", flush=True)
# Until the test closes stdin (or dies).
sys.stdin.read()
controller.stop()
