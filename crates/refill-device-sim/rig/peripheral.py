"""A BLE GATT peripheral on a BlueZ (BlueZoo) adapter that exposes a simulated Refill device:

* ESP-IDF provisioning (default): one characteristic per protocomm endpoint, each with its 0x2901
  name, bridged to the device simulator's HTTP endpoints (POST /<endpoint>);
* Improv Wi-Fi (`improv`): its five characteristics, reads and writes bridged to the simulator's
  GET /read/<i> and POST /write/<i>, and its notifications (GET /notifications, long-polled)
  sent as PropertiesChanged on the characteristic's Value, which BlueZ(oo) turns into
  notifications for the central.

usage: peripheral.py ADAPTER_PATH DEVICE_URL LOCAL_NAME [improv]
"""
import asyncio
import sys
import urllib.request

from dbus_fast import BusType, PropertyAccess, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.service import ServiceInterface, dbus_property, method

SERVICE = "021a9004-0382-4aea-bff4-6b3f1c5adfb4"
ENDPOINTS = [
    ("prov-ctrl", 0xFF4F),
    ("prov-scan", 0xFF50),
    ("prov-session", 0xFF51),
    ("prov-config", 0xFF52),
    ("proto-ver", 0xFF53),
    ("custom-data", 0xFF54),
]
IMPROV_SERVICE = "00467768-6228-2272-4663-277478268000"
# (UUID, flags) in the order of refill_provision::improv::Characteristic::ALL.
IMPROV_CHARACTERISTICS = [
    ("00467768-6228-2272-4663-277478268001", ["read", "notify"]),
    ("00467768-6228-2272-4663-277478268002", ["read", "notify"]),
    ("00467768-6228-2272-4663-277478268003", ["write"]),
    ("00467768-6228-2272-4663-277478268004", ["read", "notify"]),
    ("00467768-6228-2272-4663-277478268005", ["read"]),
]
ROOT = "/dev/refill/peripheral"
USER_DESCRIPTION = "00002901-0000-1000-8000-00805f9b34fb"


def char_uuid(endpoint_id):
    return SERVICE[:4] + f"{endpoint_id:04x}" + SERVICE[8:]


class Bridge:
    """Forwards each endpoint request to the simulator over HTTP, keeping its session cookie."""

    def __init__(self, base):
        self.base = base.rstrip("/")
        self.cookie = None

    def post(self, endpoint, body):
        request = urllib.request.Request(f"{self.base}/{endpoint}", data=body, method="POST")
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
        if self.cookie:
            request.add_header("Cookie", self.cookie)
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                cookie = answer.headers.get("Set-Cookie")
                if cookie:
                    self.cookie = cookie.split(";")[0]
                return answer.read()
        except Exception as e:  # the device ignored the request
            print(f"peripheral: {endpoint}: {e}", file=sys.stderr, flush=True)
            return b""


class Service(ServiceInterface):
    def __init__(self, uuid=SERVICE):
        super().__init__("org.bluez.GattService1")
        self.uuid = uuid

    @dbus_property(access=PropertyAccess.READ)
    def UUID(self) -> "s":
        return self.uuid

    @dbus_property(access=PropertyAccess.READ)
    def Primary(self) -> "b":
        return True

    def props(self):
        return {"UUID": Variant("s", self.uuid), "Primary": Variant("b", True)}


class GattCharacteristic(ServiceInterface):
    """A characteristic of the peripheral's one service."""

    def __init__(self, uuid, flags):
        super().__init__("org.bluez.GattCharacteristic1")
        self.uuid = uuid
        self.flags = flags
        self.value = b""

    @dbus_property(access=PropertyAccess.READ)
    def UUID(self) -> "s":
        return self.uuid

    @dbus_property(access=PropertyAccess.READ)
    def Service(self) -> "o":
        return ROOT + "/service0"

    @dbus_property(access=PropertyAccess.READ)
    def Flags(self) -> "as":
        return self.flags

    def props(self):
        return {
            "UUID": Variant("s", self.uuid),
            "Service": Variant("o", ROOT + "/service0"),
            "Flags": Variant("as", self.flags),
        }


class Characteristic(GattCharacteristic):
    """A protocomm endpoint: a write, then a read of the answer."""

    def __init__(self, path, endpoint, endpoint_id, bridge):
        super().__init__(char_uuid(endpoint_id), ["read", "write"])
        self.path = path
        self.endpoint = endpoint
        self.bridge = bridge
        self.written = b""

    @method()
    def ReadValue(self, options: "a{sv}") -> "ay":
        offset = options["offset"].value if "offset" in options else 0
        return self.value[offset:]

    @method()
    async def WriteValue(self, value: "ay", options: "a{sv}"):
        offset = options["offset"].value if "offset" in options else 0
        if offset == 0:
            self.written = bytes(value)
        else:
            self.written = self.written[:offset] + bytes(value)
        if not self.written:
            return  # devices ignore empty writes
        self.value = await asyncio.to_thread(self.bridge.post, self.endpoint, self.written)


def http(method, url, body=None, timeout=15):
    """(status, bytes) of an HTTP request to the simulator."""
    request = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, answer.read()
    except Exception as e:
        print(f"peripheral: {method} {url}: {e}", file=sys.stderr, flush=True)
        return 0, b""


class ImprovCharacteristic(GattCharacteristic):
    """One of Improv's characteristics; notifies by PropertiesChanged on Value."""

    def __init__(self, index, uuid, flags, base):
        super().__init__(uuid, flags)
        self.index = index
        self.base = base
        self.notifying = False

    @dbus_property(access=PropertyAccess.READ)
    def Value(self) -> "ay":
        return self.value

    @dbus_property(access=PropertyAccess.READ)
    def Notifying(self) -> "b":
        return self.notifying

    def props(self):
        return {**super().props(), "Notifying": Variant("b", self.notifying)}

    @method()
    async def ReadValue(self, options: "a{sv}") -> "ay":
        _, value = await asyncio.to_thread(http, "GET", f"{self.base}/read/{self.index}")
        offset = options["offset"].value if "offset" in options else 0
        return value[offset:]

    @method()
    async def WriteValue(self, value: "ay", options: "a{sv}"):
        if value:
            await asyncio.to_thread(http, "POST", f"{self.base}/write/{self.index}", bytes(value))

    @method()
    def StartNotify(self):
        self.notifying = True

    @method()
    def StopNotify(self):
        self.notifying = False

    @method()
    def Confirm(self):
        pass

    def notify(self, value):
        self.value = value
        self.emit_properties_changed({"Value": value})


async def forward_notifications(base, characteristics):
    """Sends the simulator's notifications on to the central, for as long as the peripheral runs."""
    while True:
        status, body = await asyncio.to_thread(http, "GET", f"{base}/notifications")
        if status == 200 and body and body[0] < len(characteristics):
            characteristics[body[0]].notify(bytes(body[1:]))
        elif status == 0:
            await asyncio.sleep(0.2)


class Descriptor(ServiceInterface):
    def __init__(self, char_path, name):
        super().__init__("org.bluez.GattDescriptor1")
        self.char_path = char_path
        self.endpoint_name = name

    @dbus_property(access=PropertyAccess.READ)
    def UUID(self) -> "s":
        return USER_DESCRIPTION

    @dbus_property(access=PropertyAccess.READ)
    def Characteristic(self) -> "o":
        return self.char_path

    @dbus_property(access=PropertyAccess.READ)
    def Flags(self) -> "as":
        return ["read"]

    def props(self):
        return {
            "UUID": Variant("s", USER_DESCRIPTION),
            "Characteristic": Variant("o", self.char_path),
            "Flags": Variant("as", ["read"]),
        }

    @method()
    def ReadValue(self, options: "a{sv}") -> "ay":
        return self.endpoint_name.encode()


class Application(ServiceInterface):
    def __init__(self, objects):
        super().__init__("org.freedesktop.DBus.ObjectManager")
        self.objects = objects

    @method()
    def GetManagedObjects(self) -> "a{oa{sa{sv}}}":
        return {path: {obj.name: obj.props()} for path, obj in self.objects}


class Advertisement(ServiceInterface):
    def __init__(self, local_name, service=SERVICE):
        super().__init__("org.bluez.LEAdvertisement1")
        self.local_name = local_name
        self.service = service

    @dbus_property(access=PropertyAccess.READ)
    def Type(self) -> "s":
        return "peripheral"

    @dbus_property(access=PropertyAccess.READ)
    def ServiceUUIDs(self) -> "as":
        return [self.service]

    @dbus_property(access=PropertyAccess.READ)
    def LocalName(self) -> "s":
        return self.local_name

    @dbus_property(access=PropertyAccess.READ)
    def Discoverable(self) -> "b":
        return True

    @method()
    def Release(self):
        pass


async def main(adapter, device_url, local_name, kind="esp"):
    bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
    base = device_url.rstrip("/")
    if kind == "improv":
        service = IMPROV_SERVICE
        objects = [(ROOT + "/service0", Service(IMPROV_SERVICE))]
        characteristics = []
        for i, (uuid, flags) in enumerate(IMPROV_CHARACTERISTICS):
            characteristic = ImprovCharacteristic(i, uuid, flags, base)
            characteristics.append(characteristic)
            objects.append((f"{ROOT}/service0/char{i}", characteristic))
        asyncio.get_running_loop().create_task(forward_notifications(base, characteristics))
    else:
        service = SERVICE
        bridge = Bridge(device_url)
        objects = [(ROOT + "/service0", Service())]
        for i, (endpoint, endpoint_id) in enumerate(ENDPOINTS):
            char_path = f"{ROOT}/service0/char{i}"
            objects.append((char_path, Characteristic(char_path, endpoint, endpoint_id, bridge)))
            objects.append((char_path + "/desc0", Descriptor(char_path, endpoint)))
    for path, obj in objects:
        bus.export(path, obj)
    bus.export(ROOT, Application(objects))
    bus.export(ROOT + "/adv0", Advertisement(local_name, service))
    node = await bus.introspect("org.bluez", adapter)
    proxy = bus.get_proxy_object("org.bluez", adapter, node)
    await proxy.get_interface("org.bluez.GattManager1").call_register_application(ROOT, {})
    await proxy.get_interface("org.bluez.LEAdvertisingManager1").call_register_advertisement(
        ROOT + "/adv0", {}
    )
    print("peripheral: ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
