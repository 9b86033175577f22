# Server-sent events as ESPHome's web_server sends them on /events. Portable (MicroPython asyncio).
#
#   hub = EventHub(max_clients=4, max_queue=32, ticks_ms=None)
#   hub.publish_state(key, json_text)  a `state` event to every client, only when the text changed since
#                                      the last one published for that key; True when it went out
#   hub.publish(event, data)           any event (e.g. 'warnings' with a JSON list)
#   hub.subscribe() -> client or None  None when max_clients are connected (the route answers 503)
#   await hub.stream(request, sse, client, snapshot)
#                                      the body of one /events connection (microdot.sse.sse_response):
#                                      a `ping` (retry 30000 ms) first, then one `state` event per entity
#                                      (snapshot() yields their JSON texts), then what is published
#   await hub.ping_loop(period_s=10)   a `ping` to every client every period (ESPHome: 10 s)
#
# A client that does not read (its queue passes max_queue events) is cut off rather than buffered: a
# stalled browser cannot eat the module's memory. Counters: hub.counters (sent, clients_refused,
# clients_dropped, connects).
import asyncio

try:
    from time import ticks_ms as _ticks_ms
except ImportError:  # CPython
    import time as _time

    def _ticks_ms():
        return int(_time.monotonic() * 1000) & 0x3FFFFFFF

RETRY_S = 30


class _Client:
    __slots__ = ('queue', 'event', 'closed')

    def __init__(self):
        self.queue = []
        self.event = asyncio.Event()
        self.closed = False


class EventHub:
    def __init__(self, max_clients=4, max_queue=32, ticks_ms=None):
        self.max_clients = max_clients
        self.max_queue = max_queue
        self.ticks_ms = ticks_ms or _ticks_ms
        self.clients = []
        self.last = {}
        self.counters = {'connects': 0, 'sent': 0, 'clients_refused': 0, 'clients_dropped': 0}

    def subscribe(self):
        if len(self.clients) >= self.max_clients:
            self.counters['clients_refused'] += 1
            return None
        c = _Client()
        self.clients.append(c)
        self.counters['connects'] += 1
        return c

    def unsubscribe(self, c):
        c.closed = True
        c.event.set()
        if c in self.clients:
            self.clients.remove(c)

    def publish(self, event, data):
        for c in self.clients:
            if len(c.queue) >= self.max_queue:
                c.closed = True  # it stopped reading: cut it off, its stream ends
                self.counters['clients_dropped'] += 1
            else:
                c.queue.append((event, data))
            c.event.set()

    def publish_state(self, key, text):
        if self.last.get(key) == text:
            return False
        self.last[key] = text
        self.publish('state', text)
        return True

    async def _send(self, sse, data, event, retry=None):
        await sse.send(data, event=event, event_id=str(self.ticks_ms()), retry=retry)
        self.counters['sent'] += 1

    async def stream(self, request, sse, c, snapshot):
        try:
            await self._send(sse, '', 'ping', RETRY_S)
            for text in snapshot():
                await self._send(sse, text, 'state')
            while not c.closed:
                if len(sse.queue) > self.max_queue:  # written to the socket too slowly
                    self.counters['clients_dropped'] += 1
                    del sse.queue[:]
                    _close(request)
                    return
                if not c.queue:
                    c.event.clear()
                    await c.event.wait()
                    continue
                event, data = c.queue.pop(0)
                await self._send(sse, data, event)
            _close(request)
        finally:
            self.unsubscribe(c)

    async def ping_loop(self, period_s=10):
        while True:
            await asyncio.sleep(period_s)
            self.publish('ping', '')


def _close(request):
    try:
        request.sock[1].close()
    except Exception:
        pass
