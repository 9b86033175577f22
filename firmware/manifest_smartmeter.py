# The SmartMeter's image (micropython-lib manifest style; see manifest_common.py and docs/memory.md).
metadata(description="bChain SmartMeter: P1 port in, HomeWizard-compatible web API out", version="1.0.0")

include("manifest_common.py")

# framing, CRC, OBIS table, parser (stack.py is the benches' and fuzzer's wrapper: not on the board)
package("firmware/p1", files=("__init__.py", "crc16.py", "obis.py", "parser.py", "reader.py", "readings.py"),
        base_path="..")
package("firmware/apps/smartmeter", base_path="..")
