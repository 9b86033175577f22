# The SmartMeter's image (micropython-lib manifest style; see manifest_common.py and docs/memory.md).
metadata(description="bChain SmartMeter: P1 port in, HomeWizard-compatible web API out", version="1.0.0")

include("manifest_common.py")

# framing, CRC, OBIS table, parser, and the P1Stack the app reads the port through
package("firmware/p1", files=("__init__.py", "crc16.py", "line_hunt.py", "obis.py", "parser.py", "reader.py",
                              "readings.py", "stack.py"), base_path="..")
# Peak Guard's coordination endpoint: the table and the peer check (the plug's controller is not needed)
package("firmware/control", files=("__init__.py", "peakguard_coord.py", "peakguard_table.py"), base_path="..")
package("firmware/apps/smartmeter", base_path="..")
