# A small asynchronous HTTP/1.0 GET client for MicroPython (asyncio.open_connection) and CPython alike.
#
#   status, body = await get(host, port, '/api/plug/v1/reading', timeout_s=3)
#   status, body = await get(host, port, path, headers='X-Requested-With: peakguard\r\n')   # more headers
#
# One request per connection (HTTP/1.0, Connection: close): nothing to keep in memory between polls.
# The body is read up to Content-Length (or to the end of the stream), at most max_body bytes.
# Every failure raises HttpError saying what was expected, what came, and from where.
import asyncio


class HttpError(Exception):
    pass


async def read_response(reader, where, max_body):
    """(status, body) read from a stream with readline() and read(n): the response to one HTTP/1.0 request."""
    line = await reader.readline()
    parts = line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b'HTTP/') or not parts[1].isdigit():
        raise HttpError('%s: expected a status line like "HTTP/1.1 200 OK", got %r' % (where, line[:60]))
    status = int(parts[1])
    length = None
    n_headers = 0
    while True:
        h = await reader.readline()
        if not h:
            raise HttpError('%s: connection closed inside the response headers' % where)
        if h == b'\r\n' or h == b'\n':
            break
        n_headers += 1
        if n_headers > 64:
            raise HttpError('%s: expected at most 64 header lines, got more' % where)
        i = h.find(b':')
        k = h[:i].strip().lower() if i > 0 else b''
        v = h[i + 1:].strip() if i > 0 else b''
        if k == b'content-length':
            if not v.isdigit():
                raise HttpError('%s: Content-Length: expected digits, got %r' % (where, v[:20]))
            length = int(v)
        elif k == b'transfer-encoding' and v.lower() != b'identity':
            raise HttpError('%s: expected a plain body (HTTP/1.0), got Transfer-Encoding %r' % (
                where, v[:20]))
    if length is not None and length > max_body:
        raise HttpError('%s: expected a body of at most %d bytes, Content-Length says %d' % (
            where, max_body, length))
    chunks = []
    got = 0
    want = max_body + 1 if length is None else length
    while got < want:
        b = await reader.read(want - got)
        if not b:
            break
        chunks.append(b)
        got += len(b)
    if length is not None and got < length:
        raise HttpError('%s: body cut short: expected %d bytes, got %d' % (where, length, got))
    if got > max_body:
        raise HttpError('%s: expected a body of at most %d bytes, got more' % (where, max_body))
    return status, b''.join(chunks)


async def _exchange(host, port, path, max_body, headers):
    where = 'http://%s:%d%s' % (host, port, path)
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(('GET %s HTTP/1.0\r\nHost: %s\r\nAccept: application/json\r\n%sConnection: close\r\n\r\n'
                      % (path, host, headers)).encode())
        await writer.drain()
        return await read_response(reader, where, max_body)
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except Exception:  # the peer may already be gone; the request's outcome is decided
            pass


async def get(host, port, path, timeout_s=3, max_body=2048, headers=''):
    """(status, body bytes) of GET http://host:port/path; HttpError or OSError on failure. headers: more
    header lines, each ending in CRLF."""
    try:
        return await asyncio.wait_for(_exchange(host, port, path, max_body, headers), timeout_s)
    except asyncio.TimeoutError:
        raise HttpError('http://%s:%d%s: expected a response within %s s, got none' % (
            host, port, path, timeout_s))
