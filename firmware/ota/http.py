# POST /update and GET /api/ota over microdot: the manual's multipart form (field "update", any name is
# taken) or a raw body (application/octet-stream). Portable. The upload itself is service.upload().
#
#   await handle_update(svc, request) -> (status, JSON dict)
# allow_downgrade=1 in the query string (or a form field before the file) lets an older version with a
# security counter not below the floor in. After a refusal the rest of the body is read and dropped so
# the client gets the answer instead of a reset connection.
import asyncio

from firmware.ota import service
from firmware.ota.service import CHUNK

YES = ('1', 'true', 'yes', 'on')


async def _drain(read, stall_s):
    while True:
        try:
            chunk = await asyncio.wait_for(read(CHUNK), stall_s)
        except asyncio.TimeoutError:
            return
        if not chunk:
            return


async def handle_update(svc, request):
    allow = (request.args.get('allow_downgrade') or '').lower() in YES
    ctype = (request.content_type or '').split(';')[0].strip().lower()
    if ctype == 'multipart/form-data':
        from microdot.multipart import FormDataIter
        parts = FormDataIter(request)
        while True:
            try:
                name, value = await parts.__anext__()
            except StopAsyncIteration:
                break
            except ValueError:   # a form microdot cannot parse: the client's error, not the module's
                # (microdot's message is left out: int()'s wording differs between the interpreters)
                return 400, {'error': 'POST /update: expected a multipart form (the page\'s "update" field) '
                                      'or a raw image body; got a malformed form'}
            if isinstance(value, str):
                if name == 'allow_downgrade' and value.lower() in YES:
                    allow = True
                continue
            step = FormDataIter.buffer_size

            async def part(n, value=value, step=step):
                # never more than the form reader's buffer at once: a longer read takes the buffer whole,
                # a boundary split across its end included, and the part's end is never found
                return await value.read(min(n, step))
            status, doc = await svc.upload(part, allow)
            if status != 200:
                await _drain(part, service.BOOT.get('stall_s', service.STALL_S))
            return status, doc
        return 400, {'error': 'POST /update: multipart form without a file: expected the image in a file '
                              'field (the page\'s "update" field)'}
    left = [request.content_length or 0]
    if not left[0]:
        return 411, {'error': 'POST /update: expected the image as the body with a Content-Length, or a '
                              'multipart form; got no body'}
    stream = request.stream

    async def read(n):
        if left[0] <= 0:
            return b''
        data = await stream.read(min(n, left[0]))
        left[0] -= len(data)
        return data
    status, doc = await svc.upload(read, allow)
    if status != 200:
        await _drain(read, service.BOOT.get('stall_s', service.STALL_S))
    return status, doc
