# The web layer both apps share (ESPHome web_server v1 look and REST, HomeWizard-style JSON helpers,
# server-sent events, the WiFi provisioning portal). Each module states its API at its top:
#   entities.py  object ids, entity states and their JSON          (pure)
#   jsonw.py     exact JSON writer (Dec stays decimal), body parsing (pure)
#   page.py      the States page and the WiFi portal as HTML       (pure)
#   events.py    /events: ESPHome's state and ping events           (asyncio)
#   web.py       the microdot routes over a device object          (asyncio, microdot)
#   wifi.py      provisioning: access point, Save, join, retry      (asyncio, hal.wifi)
#   boot.py      the start-up both apps share: store, WiFi, mDNS, web server, tasks
