# The SmartMeter's image (micropython-lib manifest style; see manifest_common.py and docs/memory.md).
metadata(description="bChain SmartMeter: P1 port in, HomeWizard-compatible web API out", version="1.0.0")

include("manifest_common.py")

# framing, CRC, OBIS table, parser, and the P1Stack that joins them for the P1 line (docs/p1-parser.md)
package("firmware/p1", files=("__init__.py", "crc16.py", "obis.py", "parser.py", "reader.py", "readings.py",
                              "stack.py"), base_path="..")
# Peak Guard's coordination endpoint (docs/peak-guard.md): the quarter table and the coordinator only
package("firmware/control", files=("__init__.py", "peakguard_coord.py", "peakguard_table.py"), base_path="..")
package("firmware/apps/smartmeter", base_path="..")
