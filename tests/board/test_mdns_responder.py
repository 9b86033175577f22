"""firmware/hal/mdns.py, the device's service responder, checked with python-zeroconf as the client."""

import asyncio
import contextlib
import os
import threading

from hypothesis import given, settings
from hypothesis import strategies as st
from zeroconf import (
    DNSAddress,
    DNSIncoming,
    DNSOutgoing,
    DNSPointer,
    DNSQuestion,
    DNSService,
    DNSText,
    IPVersion,
    Zeroconf,
    const,
)

from firmware.hal.mdns import Responder, serve

TXT = {"api_enabled": "1", "path": "/api/v1", "serial": "246f2810021e", "product_type": "HWE-P1"}


def query(*questions: tuple[str, int], unicast: bool = False) -> bytes:
    out = DNSOutgoing(const._FLAGS_QR_QUERY, multicast=not unicast)
    for name, qtype in questions:
        out.add_question(DNSQuestion(name, qtype, const._CLASS_IN))
    return out.packets()[0]


def records(pkt: bytes) -> list:
    msg = DNSIncoming(pkt)
    assert msg.valid and msg.is_response()
    return msg.answers()


def test_ptr_query_gets_the_instance_with_srv_txt_and_a():
    r = Responder("smartmeter", [("_hwenergy._tcp", 80, TXT)], ip="192.168.1.7")
    got = records(r.answer(query(("_hwenergy._tcp.local.", const._TYPE_PTR))))
    ptr = [x for x in got if isinstance(x, DNSPointer)]
    srv = [x for x in got if isinstance(x, DNSService)]
    txt = [x for x in got if isinstance(x, DNSText)]
    a = [x for x in got if isinstance(x, DNSAddress)]
    assert [p.alias for p in ptr] == ["smartmeter._hwenergy._tcp.local."]
    assert [(s.port, s.server) for s in srv] == [(80, "smartmeter.local.")]
    assert b"\x0cpath=/api/v1" in txt[0].text and b"serial=246f2810021e" in txt[0].text
    assert [x.address for x in a] == [bytes([192, 168, 1, 7])]


def test_other_questions():
    r = Responder("smartplug-10021e", [("_hwenergy._tcp", 80, TXT), ("_http._tcp", 80, {"path": "/"})],
                  ip="10.0.0.9")
    enum = records(r.answer(query(("_services._dns-sd._udp.local.", const._TYPE_PTR))))
    assert sorted(p.alias for p in enum) == ["_http._tcp.local.", "_hwenergy._tcp.local."]
    srv = records(r.answer(query(("smartplug-10021e._http._tcp.local.", const._TYPE_SRV))))
    assert [s.port for s in srv if isinstance(s, DNSService)] == [80]
    a = records(r.answer(query(("SmartPlug-10021E.local.", const._TYPE_A))))  # names are case-blind
    assert [x.address for x in a] == [bytes([10, 0, 0, 9])]
    assert r.answer(query(("_googlecast._tcp.local.", const._TYPE_PTR))) is None  # not ours: silence
    assert r.answer(query(("otherhost.local.", const._TYPE_A))) is None


def test_a_one_shot_resolver_gets_its_id_and_question_back():
    r = Responder("smartmeter", [], ip="192.168.1.7")
    q = bytearray(query(("smartmeter.local.", const._TYPE_A), unicast=True))
    q[0:2] = b"\x12\x34"
    out = r.answer(bytes(q), legacy=True)
    assert out[0:2] == b"\x12\x34"
    msg = DNSIncoming(out)
    assert [x.name for x in msg.questions] == ["smartmeter.local."]


def test_no_address_before_joining():
    r = Responder("smartmeter", [("_hwenergy._tcp", 80, {})])
    got = records(r.answer(query(("_hwenergy._tcp.local.", const._TYPE_PTR))))
    assert not [x for x in got if isinstance(x, DNSAddress)]
    assert [x for x in got if isinstance(x, DNSText)][0].text == b"\x00"  # empty TXT is one empty string


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_garbage_never_raises(data):
    r = Responder("smartmeter", [("_hwenergy._tcp", 80, TXT)], ip="192.168.1.7")
    out = r.answer(data)
    assert out is None or DNSIncoming(out).valid


def test_compression_loops_are_refused():
    r = Responder("smartmeter", [], ip="1.2.3.4")
    loop = b"\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00" + b"\xc0\x0c" + b"\x00\x01\x00\x01"
    assert r.answer(loop) is None and r.ignored == 1


def test_live_on_loopback_zeroconf_resolves_the_service():
    host = f"smartmeter-resp{os.getpid()}"
    r = Responder(host, [("_hwenergy._tcp", 18099, TXT)])
    loop = asyncio.new_event_loop()
    task = loop.create_task(serve(r, lambda: "127.0.0.1", poll_ms=5))

    def run() -> None:
        with contextlib.suppress(asyncio.CancelledError):
            loop.run_until_complete(task)
        loop.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    zc = Zeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
    try:
        info = zc.get_service_info("_hwenergy._tcp.local.", f"{host}._hwenergy._tcp.local.", timeout=3000)
        assert info is not None
        assert info.port == 18099 and info.server == f"{host}.local."
        assert info.properties[b"product_type"] == b"HWE-P1"
        assert info.parsed_addresses() == ["127.0.0.1"]
        assert r.answered >= 1
    finally:
        zc.close()
        loop.call_soon_threadsafe(task.cancel)
        t.join(timeout=5)
