"""A tray for the end-to-end tests (a fake; there is no desktop here): a StatusNotifierWatcher
and host on the session bus, as a desktop panel has, plus what a person does with it.

`python tray.py serve` owns org.kde.StatusNotifierWatcher, takes the registration of the app's
tray icon (libayatana-appindicator registers its StatusNotifierItem there), and answers the
extra methods of dev.refill.Test at /test:
  Menu() -> s       the item's menu as JSON, read over com.canonical.dbusmenu as a panel reads
                    it: [{"id": 3, "label": "Open Refill", "enabled": true, "depth": 0}, ...]
  Click(id: i)      a click on that entry (com.canonical.dbusmenu Event "clicked")
  Items() -> as     the registered items ("busname/path")
`python tray.py close-window TITLE` asks the X window titled TITLE to close, as a window
manager's close button does (WM_DELETE_WINDOW), so the app decides what closing means.

Run with the Bluetooth rig's venv (dbus-fast, python-xlib).
"""

import asyncio
import json
import sys
import time

from dbus_fast import BusType, RequestNameReply, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.service import PropertyAccess, ServiceInterface, dbus_property, method, signal

WATCHER = "org.kde.StatusNotifierWatcher"


class Watcher(ServiceInterface):
    def __init__(self):
        super().__init__(WATCHER)
        self.items = []
        # Who is calling: dbus-fast does not hand it to methods, a message handler notes it.
        self.sender = None

    @method()
    def RegisterStatusNotifierItem(self, service: "s"):
        # libayatana-appindicator gives its object path; others give a bus name.
        sender = self.sender
        item = f"{sender}{service}" if service.startswith("/") else f"{service}/StatusNotifierItem"
        if item not in self.items:
            self.items.append(item)
            self.StatusNotifierItemRegistered(item)

    @method()
    def RegisterStatusNotifierHost(self, service: "s"):
        pass

    @dbus_property(access=PropertyAccess.READ)
    def RegisteredStatusNotifierItems(self) -> "as":
        return self.items

    @dbus_property(access=PropertyAccess.READ)
    def IsStatusNotifierHostRegistered(self) -> "b":
        return True

    @dbus_property(access=PropertyAccess.READ)
    def ProtocolVersion(self) -> "i":
        return 0

    @signal()
    def StatusNotifierItemRegistered(self, item) -> "s":
        return item

    @signal()
    def StatusNotifierItemUnregistered(self, item) -> "s":
        return item

    @signal()
    def StatusNotifierHostRegistered(self):
        pass


class Test(ServiceInterface):
    def __init__(self, bus, watcher):
        super().__init__("dev.refill.Test")
        self.bus = bus
        self.watcher = watcher

    async def _menu(self):
        if not self.watcher.items:
            raise Exception("no tray item is registered")
        name, _, path = self.watcher.items[-1].partition("/")
        path = "/" + path
        item = await self.bus.introspect(name, path)
        proxy = self.bus.get_proxy_object(name, path, item)
        props = proxy.get_interface("org.freedesktop.DBus.Properties")
        menu_path = (await props.call_get("org.kde.StatusNotifierItem", "Menu")).value
        menu = self.bus.get_proxy_object(name, menu_path, await self.bus.introspect(name, menu_path))
        return menu.get_interface("com.canonical.dbusmenu")

    @method()
    async def Menu(self) -> "s":
        dbusmenu = await self._menu()
        # Panels say the menu is about to open; GTK fills submenus then.
        try:
            await dbusmenu.call_about_to_show(0)
        except Exception:
            pass
        _, layout = await dbusmenu.call_get_layout(0, -1, [])
        entries = []

        def walk(node, depth):
            nid, props, children = node
            if nid != 0:
                label = props.get("label", Variant("s", "")).value
                kind = props.get("type", Variant("s", "standard")).value
                entries.append(
                    {
                        "id": nid,
                        "label": label.replace("_", ""),
                        "enabled": props.get("enabled", Variant("b", True)).value,
                        "visible": props.get("visible", Variant("b", True)).value,
                        "separator": kind == "separator",
                        "depth": depth,
                    }
                )
            for child in children:
                walk(child.value, depth + (0 if nid == 0 else 1))

        walk(layout, 0)
        return json.dumps(entries)

    @method()
    async def Click(self, nid: "i"):
        dbusmenu = await self._menu()
        await dbusmenu.call_event(nid, "clicked", Variant("i", 0), int(time.time()))

    @method()
    def Items(self) -> "as":
        return self.watcher.items


async def serve():
    bus = await MessageBus(bus_type=BusType.SESSION).connect()
    watcher = Watcher()
    bus.export("/StatusNotifierWatcher", watcher)

    def note_sender(message):
        if message.member == "RegisterStatusNotifierItem":
            watcher.sender = message.sender
        return None

    bus.add_message_handler(note_sender)
    bus.export("/test", Test(bus, watcher))
    reply = await bus.request_name(WATCHER)
    if reply != RequestNameReply.PRIMARY_OWNER:
        sys.exit(f"another tray owns the name ({reply})")
    print("ready", flush=True)
    await bus.wait_for_disconnect()


def close_window(title):
    from Xlib import X, display, protocol

    d = display.Display()
    wm_protocols = d.intern_atom("WM_PROTOCOLS")
    delete = d.intern_atom("WM_DELETE_WINDOW")
    found = []

    def walk(window):
        try:
            name = window.get_wm_name()
            if isinstance(name, bytes):
                name = name.decode("utf-8", "replace")
            if name == title:
                found.append(window)
            for child in window.query_tree().children:
                walk(child)
        except Exception:
            pass

    walk(d.screen().root)
    if not found:
        sys.exit(f"no window is titled {title!r}")
    for window in found:
        event = protocol.event.ClientMessage(
            window=window, client_type=wm_protocols, data=(32, [delete, X.CurrentTime, 0, 0, 0])
        )
        window.send_event(event)
    d.flush()
    print(len(found))


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        asyncio.run(serve())
    elif sys.argv[1] == "close-window":
        close_window(sys.argv[2])
