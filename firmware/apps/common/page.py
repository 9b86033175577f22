# The web pages both apps serve, as ESPHome's web_server v1 draws them. Pure and portable.
#
#   states_page(title, rows, warnings=(), ota=()) -> str
#   states_chunks(title, rows, warnings=(), ota=()) -> iterator of str: the same page in pieces (the head, one
#       per row, the tail), for a response streamed as it is made; rows may be an iterator too
#       "<title> Web Server": the States table (Name / State / Actions), one <tr class="<domain>"
#       id="<domain>-<object id>"> per entity, the OTA Update form (posts to /update) and a small script
#       that follows /events (ESPHome's `state` events: {"id", "state", "value"}) and posts Toggle / Press
#       to /<domain>/<object id>/toggle|press. rows: (entity, state, value); value None shows an empty
#       cell (nothing measured, or too old to be shown as current).
#       warnings: texts shown under the table (and replaced live by `warnings` events, a JSON list).
#       ota: (label, text) rows shown under the OTA Update form (firmware/ota/service.py page_rows()).
#       local_api: None (no such setting) or the "Local API v1" setting (True/False): a row with a Toggle
#       that PUTs /api/v1/local_api (a login is needed: the page's session and header)
#   portal_page(name, status, networks=(), ssid='', error=None) -> str
#       The access point's page: WiFi Networks (scan), WiFi Settings (SSID, Password, Save -> /wifisave)
#       and OTA Update. status: one line saying where the module stands; error: why the last Save failed.
#   login_page(name, why='') -> str    the one-time login (button press, then Log in: a session cookie)
#   esc(text) -> text safe inside HTML
#
# The script is inline: the module's page must work on a LAN without internet (ESPHome's v1 page loads
# its script from esphome.io).
from firmware.apps.common.entities import action_html

_CSS = ('body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}'
        'th,td{border:1px solid #ccc;padding:.3em .7em;text-align:left}.warning{color:#b00}'
        '.error{color:#b00;font-weight:bold}label{display:block;margin-top:.5em}')

_JS = ("(function(){var t=document.getElementById('states');"
       "var es=new EventSource('/events');"
       "es.addEventListener('state',function(e){var d=JSON.parse(e.data),r=document.getElementById(d.id);"
       "if(r)r.cells[1].textContent=d.value===null?'':d.state;});"
       "es.addEventListener('warnings',function(e){document.getElementById('warnings').textContent="
       "JSON.parse(e.data).join(' ');});"
       "t.addEventListener('click',function(e){var b=e.target;if(b.tagName!=='BUTTON')return;"
       "var id=b.closest('tr').id,i=id.indexOf('-'),d=id.slice(0,i);"
       "fetch('/'+d+'/'+id.slice(i+1)+'/'+(d==='button'?'press':'toggle'),{method:'POST',"
       "headers:{'X-Requested-With':'page'}}).then(function(r){if(r.status===401)location='/login';});});"
       "})();")

_OTA = ('<h2>OTA Update</h2><form method="POST" action="/update" enctype="multipart/form-data">'
        '<input type="file" name="update" accept=".bin"><input type="submit" value="Update"></form>')


def esc(s):
    if s is None:
        return ''
    s = str(s)
    if '&' in s:
        s = s.replace('&', '&amp;')
    if '<' in s:
        s = s.replace('<', '&lt;')
    if '>' in s:
        s = s.replace('>', '&gt;')
    if '"' in s:
        s = s.replace('"', '&quot;')
    return s


def _head(title):
    return ('<!DOCTYPE html><html lang="en"><head><meta charset=UTF-8>'
            '<meta name=viewport content="width=device-width, initial-scale=1"><title>' + esc(title) +
            '</title><style>' + _CSS + '</style></head><body><article class="markdown-body"><h1>' +
            esc(title) + '</h1>')


_LOCAL_JS = ("(function(){var b=document.getElementById('local_api_toggle'),c=document.getElementById("
             "'local_api_state');b.addEventListener('click',function(){fetch('/api/v1/local_api',{method:'PUT',"
             "headers:{'X-Requested-With':'page','Content-Type':'application/json'},body:JSON.stringify("
             "{enabled:c.textContent!=='ON'})}).then(function(r){if(r.status===401){location='/login';return;}"
             "return r.json().then(function(d){c.textContent=d.enabled?'ON':'OFF';});});});})();")


def states_page(title, rows, warnings=(), ota=(), local_api=None):
    return ''.join(states_chunks(title, rows, warnings, ota, local_api))


def states_chunks(title, rows, warnings=(), ota=(), local_api=None):
    yield _head(title + ' Web Server')
    yield '<h2>States</h2><table id="states"><thead><tr><th>Name<th>State<th>Actions<tbody>'
    for e, state, value in rows:
        yield '<tr class="%s" id="%s-%s"><td>%s</td><td>%s</td><td>%s</td></tr>' % (
            e.domain, e.domain, e.oid, esc(e.name), '' if value is None else esc(state), action_html(e))
    yield '</tbody></table><p id="warnings" class="warning">'
    yield esc(' '.join(warnings))
    yield '</p>'
    if local_api is not None:  # HomeWizard's "Local API" switch: the v1 writes without a token (JSON only)
        yield ('<h2>Local API</h2><table id="local_api"><tbody><tr><td>Local API v1</td><td id="local_api_state">'
               '%s</td><td><button id="local_api_toggle">Toggle</button></td></tr></tbody></table>'
               % ('ON' if local_api else 'OFF'))
    yield _OTA
    if ota:  # (label, text) rows about the installed firmware, next to the form (GET /api/ota has them all)
        yield '<table id="ota"><tbody>'
        for label, text in ota:
            yield '<tr><td>%s</td><td>%s</td></tr>' % (esc(label), esc(text))
        yield '</tbody></table>'
    yield '<script>'
    yield _JS
    if local_api is not None:
        yield _LOCAL_JS
    yield '</script></article></body></html>'


_LOGIN_JS = ("document.getElementById('login').addEventListener('click',function(){"
             "fetch('/login',{method:'POST',headers:{'X-Requested-With':'page'}}).then(function(r){"
             "return r.json().then(function(d){if(r.ok)location='/';else "
             "document.getElementById('error').textContent=d.error;});});});")

_SAVE_JS = ("document.getElementById('wifiform').addEventListener('submit',function(e){e.preventDefault();"
            "fetch('/wifisave',{method:'POST',headers:{'X-Requested-With':'page','Content-Type':"
            "'application/x-www-form-urlencoded'},body:new URLSearchParams(new FormData(e.target))})"
            ".then(function(r){return r.text();}).then(function(h){document.open();document.write(h);"
            "document.close();});});")


def login_page(name, why=''):
    """The one-time login: press the module's button, then Log in (a session cookie for this browser)."""
    return ''.join([_head(name), '<p>', esc(why), '</p><p>Press the button on the module, then press Log '
                    'in within 30 seconds.</p><p><button id="login">Log in</button></p>'
                    '<p id="error" class="error"></p><script>', _LOGIN_JS, '</script></article></body></html>'])


def portal_page(name, status, networks=(), ssid='', error=None):
    parts = [_head(name), '<p id="status">', esc(status), '</p>']
    if error:
        parts.append('<p id="error" class="error">' + esc(error) + '</p>')
    parts.append('<h2>WiFi Networks</h2><ul id="networks">')
    for net in networks:
        parts.append('<li>%s (%d dBm)</li>' % (esc(net[0]), net[1]))
    parts.append('</ul><h2>WiFi Settings</h2><form id="wifiform" method="POST" action="/wifisave">'
                 '<label for="ssid">SSID</label><input id="ssid" name="ssid" maxlength="32" value="')
    parts.append(esc(ssid))
    parts.append('"><label for="psk">Password</label><input id="psk" name="psk" type="password" '
                 'maxlength="64"><p><input type="submit" value="Save"></p></form>')
    parts.append('<script>' + _SAVE_JS + '</script>')
    parts.append(_OTA)
    parts.append('</article></body></html>')
    return ''.join(parts)
