# A small mDNS (RFC 6762) / DNS-SD (RFC 6763) responder for the device's services.
#
# MicroPython on the ESP32 answers <hostname>.local by itself (the ESP-IDF responder) but has no API to
# advertise services, so Home Assistant would not discover `_hwenergy._tcp`. This answers questions for
# the service types, instances and the host: PTR (type -> instance, and the _services._dns-sd._udp
# enumeration), SRV (instance -> host:port), TXT, A; a PTR answer carries SRV, TXT and A as additional
# records. Packets are built without name compression; questions are parsed with it. Malformed packets
# are ignored (counted), never raised. Portable: the packet code is pure; serve() needs sockets.

import struct

T_A = 1
T_PTR = 12
T_TXT = 16
T_SRV = 33
T_ANY = 255
C_IN = 1
FLUSH = 0x8000
QU = 0x8000
TTL_HOST = 120
TTL_OTHER = 4500
GROUP = '224.0.0.251'
PORT = 5353
ENUM = '_services._dns-sd._udp.local'


def ip4(text):
    """'192.168.1.7' -> 4 bytes (socket.inet_pton is not on every MicroPython port)."""
    parts = text.split('.')
    if len(parts) != 4:
        raise ValueError('IPv4 address %r: expected 4 numbers' % text)
    return bytes([int(x) for x in parts])


def encode_name(name):
    out = bytearray()
    for label in name.rstrip('.').split('.'):
        b = label.encode()
        if not 0 < len(b) < 64:
            raise ValueError('DNS label %r in %r: expected 1..63 bytes' % (label, name))
        out.append(len(b))
        out += b
    out.append(0)
    return bytes(out)


def read_name(pkt, off):
    """(lowercase dotted name, offset after it) with compression pointers followed; ValueError if bad."""
    labels = []
    end = None
    jumps = 0
    n = len(pkt)
    while True:
        if off >= n:
            raise ValueError('name runs past the packet end')
        ln = pkt[off]
        if ln == 0:
            off += 1
            break
        if ln & 0xC0 == 0xC0:
            if off + 1 >= n:
                raise ValueError('cut compression pointer')
            jumps += 1
            if jumps > 16:
                raise ValueError('compression loop')
            if end is None:
                end = off + 2
            off = ((ln & 0x3F) << 8) | pkt[off + 1]
            continue
        if ln & 0xC0:
            raise ValueError('unknown label type 0x%02X' % ln)
        if off + 1 + ln > n:
            raise ValueError('label runs past the packet end')
        labels.append(bytes(pkt[off + 1:off + 1 + ln]).decode().lower())
        off += 1 + ln
    return '.'.join(labels), (end if end is not None else off)


def parse_query(pkt):
    """(id, [(name, qtype, unicast)], is_query) of a packet; ValueError if it is not a DNS message."""
    if len(pkt) < 12:
        raise ValueError('%d bytes: shorter than a DNS header' % len(pkt))
    qid, flags, qd = struct.unpack('>HHH', pkt[0:6])
    off = 12
    qs = []
    for _ in range(qd):
        name, off = read_name(pkt, off)
        if off + 4 > len(pkt):
            raise ValueError('question cut off')
        qt, qc = struct.unpack('>HH', pkt[off:off + 4])
        off += 4
        qs.append((name, qt, bool(qc & QU)))
    return qid, qs, not flags & 0x8000


def _rr(name, rtype, rdata, ttl, flush):
    return encode_name(name) + struct.pack('>HHIH', rtype, C_IN | (FLUSH if flush else 0), ttl,
                                           len(rdata)) + rdata


def _txt(props):
    out = bytearray()
    for k in sorted(props):  # a fixed order: MicroPython's dicts do not keep the insertion order
        item = ('%s=%s' % (k, props[k])).encode()
        out.append(min(len(item), 255))
        out += item[:255]
    return bytes(out) if out else b'\x00'


class Responder:
    """Records for one host and its services; answer(query) -> response bytes or None."""

    def __init__(self, host, services, ip=None):
        self.host = host.lower() + '.local'
        self.services = []  # (type 'x._tcp.local', instance full name, port, txt)
        for t, port, txt in services:
            t = t.lower().rstrip('.')
            if not t.endswith('.local'):
                t += '.local'
            self.services.append((t, host + '.' + t, port, txt))
        self.ip = ip
        self.answered = 0
        self.ignored = 0

    def _a(self):
        if not self.ip:
            return None
        return _rr(self.host, T_A, ip4(self.ip), TTL_HOST, True)

    def _records(self, name, qt):
        """(answers, additionals) for one question."""
        ans = []
        add = []
        if qt in (T_A, T_ANY) and name == self.host:
            a = self._a()
            if a:
                ans.append(a)
        for t, inst, port, txt in self.services:
            inst_l = inst.lower()
            if name == ENUM and qt in (T_PTR, T_ANY):
                ans.append(_rr(ENUM, T_PTR, encode_name(t), TTL_OTHER, False))
            if name == t and qt in (T_PTR, T_ANY):
                ans.append(_rr(t, T_PTR, encode_name(inst), TTL_OTHER, False))
                add.append(self._srv(inst, port))
                add.append(_rr(inst, T_TXT, _txt(txt), TTL_OTHER, True))
                a = self._a()
                if a:
                    add.append(a)
            if name == inst_l:
                if qt in (T_SRV, T_ANY):
                    ans.append(self._srv(inst, port))
                    a = self._a()
                    if a:
                        add.append(a)
                if qt in (T_TXT, T_ANY):
                    ans.append(_rr(inst, T_TXT, _txt(txt), TTL_OTHER, True))
        return ans, add

    def _srv(self, inst, port):
        return _rr(inst, T_SRV, struct.pack('>HHH', 0, 0, port) + encode_name(self.host), TTL_HOST, True)

    def answer(self, pkt, legacy=False):
        """Response to a query packet, or None when there is nothing of ours to say."""
        try:
            qid, qs, is_query = parse_query(pkt)
        except (ValueError, UnicodeError):
            self.ignored += 1
            return None
        if not is_query:
            return None
        ans = []
        add = []
        for name, qt, _ in qs:
            a, b = self._records(name, qt)
            for r in a:
                if r not in ans:
                    ans.append(r)
            for r in b:
                if r not in add:
                    add.append(r)
        add = [r for r in add if r not in ans]
        if not ans:
            return None
        self.answered += 1
        if legacy:  # RFC 6762 6.7: a one-shot resolver gets its id and questions back
            qbytes = b''.join([encode_name(n) + struct.pack('>HH', qt, C_IN) for n, qt, _ in qs])
            head = struct.pack('>HHHHHH', qid, 0x8400, len(qs), len(ans), 0, len(add))
            return head + qbytes + b''.join(ans) + b''.join(add)
        head = struct.pack('>HHHHHH', 0, 0x8400, 0, len(ans), 0, len(add))
        return head + b''.join(ans) + b''.join(add)


async def serve(responder, ip_now, log=print, poll_ms=50):
    """Answer on UDP 5353 forever. ip_now() -> the station address (None while not joined)."""
    import asyncio
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if hasattr(socket, 'SO_REUSEPORT'):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(('0.0.0.0', PORT))
    s.setblocking(False)
    joined = None
    try:
        while True:
            ip = ip_now()
            if ip and ip != joined:
                try:
                    iface = ip4(ip)
                    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, ip4(GROUP) + iface)
                    if hasattr(socket, 'IP_MULTICAST_IF'):
                        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, iface)
                    joined = ip
                except OSError as e:
                    log('mdns: cannot join %s on %s: %r' % (GROUP, ip, e))
                    joined = ip
            responder.ip = ip
            try:
                pkt, addr = s.recvfrom(1500)
            except OSError:
                await asyncio.sleep(poll_ms / 1000)
                continue
            legacy = addr[1] != PORT  # a one-shot resolver: answer it directly, with its id
            out = responder.answer(pkt, legacy)
            if out is not None:
                try:
                    s.sendto(out, addr if legacy else (GROUP, PORT))
                except OSError as e:
                    log('mdns: cannot send: %r' % (e,))
    finally:
        s.close()
