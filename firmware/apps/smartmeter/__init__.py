# The SmartMeter: reads the meter's P1 port and serves its readings on the LAN.
#   model.py  pure: the States rows, freshness, the HomeWizard P1 API v1 and plug JSON, settings
#   app.py    the asyncio program: P1 task, web routes, mDNS; run(hal, config)
