# Server-sent events as ESPHome's web_server sends them on /events. Portable (MicroPython asyncio).
#
#   hub = EventHub(max_clients=4, max_queue=64, ticks_ms=None)
#   hub.publish_state(key, json_text)  a `state` event to every client, only when the text changed since
#                                      the last one published for that key; True when it went out
#   hub.publish(event, data)           any event (e.g. 'warnings' with a JSON list)
#   hub.subscribe() -> client or None  None when max_clients are connected (the route answers 503)
#   hub.stream(client, snapshot, on_close) -> async iterator
#                                      the response body of one /events connection: a `ping` (retry
#                                      30000 ms) first, then one `state` event per entity (snapshot()
#                                      yields their JSON texts; one chunk each), then what is published;
#                                      on_close()
#                                      closes the connection when the client is cut off
#   await hub.ping_loop(period_s=10)   a `ping` to every client every period (ESPHome: 10 s)
#   await hub.watch(client, reader)    reads the client's side of the connection until it ends (EOF or
#                                      an error): the client is then unsubscribed at once, its stream
#                                      ends and its place is free (counters: clients_gone)
#
# A client that does not read (its queue passes max_queue events) is cut off rather than buffered: a
# stalled browser cannot eat the module's memory. Counters: hub.counters (sent, clients_refused,
# clients_dropped, clients_gone, connects).
import asyncio

try:
    from time import ticks_ms as _ticks_ms
except ImportError:  # CPython
    import time as _time

    def _ticks_ms():
        return int(_time.monotonic() * 1000) & 0x3FFFFFFF

RETRY_S = 30


class _Client:
    __slots__ = ('queue', 'event', 'closed', 'on_close')

    def __init__(self):
        self.queue = []
        self.event = asyncio.Event()
        self.closed = False
        self.on_close = None


class EventHub:
    def __init__(self, max_clients=4, max_queue=64, ticks_ms=None):
        self.max_clients = max_clients
        self.max_queue = max_queue
        self.ticks_ms = ticks_ms or _ticks_ms
        self.clients = []
        self.last = {}
        self.counters = {'connects': 0, 'sent': 0, 'clients_refused': 0, 'clients_dropped': 0,
                         'clients_gone': 0}

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
        for c in list(self.clients):
            if len(c.queue) >= self.max_queue:
                # it stopped reading (or never started): cut it off and free its place; its socket closes,
                # so a writer blocked on it wakes up
                self.unsubscribe(c)
                self.counters['clients_dropped'] += 1
                if c.on_close is not None:
                    try:
                        c.on_close()
                    except Exception:
                        pass
            else:
                c.queue.append((event, data))
            c.event.set()

    def publish_state(self, key, text):
        if self.last.get(key) == text:
            return False
        self.last[key] = text
        self.publish('state', text)
        return True

    def format(self, event, data, retry=None):
        """One event as it goes on the wire (id = the module's ms clock, as ESPHome's millis())."""
        head = 'retry: %d\n' % (retry * 1000) if retry else ''
        return ('%sid: %d\nevent: %s\ndata: %s\n\n' % (head, self.ticks_ms(), event, data)).encode()

    def stream(self, c, snapshot, on_close=None):
        """The response body of one /events connection: an async iterator of encoded events."""
        return _Stream(self, c, snapshot, on_close)

    async def watch(self, c, reader):
        # An event stream's client sends nothing after its request: the read returns only when the
        # connection ends (b'' at EOF, or an error on a reset), or with bytes a client should not send
        # (ignored).
        try:
            while not c.closed:
                if not await reader.read(64):
                    break
        except Exception:  # reset, or the socket closed under us by the stream's end: gone either way
            pass
        if not c.closed:
            self.counters['clients_gone'] += 1
            self.unsubscribe(c)

    async def ping_loop(self, period_s=10):
        while True:
            await asyncio.sleep(period_s)
            self.publish('ping', '')


class _Stream:
    # microdot writes an async-iterator body chunk by chunk (awrite + drain): a client that stops reading
    # blocks its own writer only; the hub cuts it off through on_close when its queue overflows.
    def __init__(self, hub, c, snapshot, on_close):
        self.hub = hub
        self.c = c
        self.snapshot = snapshot
        self.on_close = on_close
        c.on_close = on_close
        self.started = False
        self.snap = None

    def __aiter__(self):
        return self

    async def __anext__(self):
        hub = self.hub
        c = self.c
        if not self.started:
            self.started = True
            self.snap = iter(self.snapshot())
            hub.counters['sent'] += 1
            return hub.format('ping', '', RETRY_S)
        if self.snap is not None:
            # one state event per entity, each written before the next is made (not the whole snapshot in
            # one piece of memory)
            for text in self.snap:
                hub.counters['sent'] += 1
                return hub.format('state', text)
            self.snap = None
        while True:
            if c.closed:
                hub.unsubscribe(c)
                raise StopAsyncIteration
            if c.queue:
                event, data = c.queue.pop(0)
                hub.counters['sent'] += 1
                return hub.format(event, data)
            c.event.clear()
            await c.event.wait()

    async def aclose(self):
        self.hub.unsubscribe(self.c)
