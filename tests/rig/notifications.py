"""A notification server for the end-to-end tests (a fake; there is no desktop here).

Owns org.freedesktop.Notifications on the session bus, as a desktop's notification daemon does,
and writes each Notify call as a JSON line to the file given as its argument, so tests see what
reached the bus (a notification library can report success when nothing received it).
A test "clicks" a notification's button with the extra method dev.refill.Test.Invoke(id, key),
which emits ActionInvoked as a daemon does when the user clicks.

Run with the Bluetooth rig's venv (dbus-fast): python notifications.py OUT.jsonl
"""

import asyncio
import json
import sys

from dbus_fast import BusType, RequestNameReply
from dbus_fast.aio import MessageBus
from dbus_fast.service import ServiceInterface, method, signal

PATH = "/org/freedesktop/Notifications"


class Notifications(ServiceInterface):
    def __init__(self, out):
        super().__init__("org.freedesktop.Notifications")
        self.out = out
        self.next_id = 1

    @method()
    def Notify(
        self,
        app_name: "s",
        replaces_id: "u",
        app_icon: "s",
        summary: "s",
        body: "s",
        actions: "as",
        hints: "a{sv}",
        expire_timeout: "i",
    ) -> "u":
        nid = replaces_id or self.next_id
        self.next_id += 1
        record = {
            "id": nid,
            "app_name": app_name,
            "summary": summary,
            "body": body,
            "actions": list(actions),
        }
        with open(self.out, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        return nid

    @method()
    def GetCapabilities(self) -> "as":
        return ["actions", "body"]

    @method()
    def GetServerInformation(self) -> "ssss":
        return ["refill-test-notifications", "refill", "1.0", "1.2"]

    @method()
    def CloseNotification(self, nid: "u"):
        self.NotificationClosed(nid, 3)

    @signal()
    def ActionInvoked(self, nid, key) -> "us":
        return [nid, key]

    @signal()
    def NotificationClosed(self, nid, reason) -> "uu":
        return [nid, reason]


class Test(ServiceInterface):
    def __init__(self, server):
        super().__init__("dev.refill.Test")
        self.server = server

    @method()
    def Invoke(self, nid: "u", key: "s"):
        self.server.ActionInvoked(nid, key)


async def main():
    bus = await MessageBus(bus_type=BusType.SESSION).connect()
    server = Notifications(sys.argv[1])
    bus.export(PATH, server)
    bus.export(PATH, Test(server))
    reply = await bus.request_name("org.freedesktop.Notifications")
    if reply != RequestNameReply.PRIMARY_OWNER:
        sys.exit(f"another notification server owns the name ({reply})")
    print("ready", flush=True)
    await bus.wait_for_disconnect()


asyncio.run(main())
