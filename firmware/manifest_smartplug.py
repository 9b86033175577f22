# The SmartPlug's image (micropython-lib manifest style; see manifest_common.py and docs/memory.md).
metadata(description="bChain SmartPlug: CSE7766 metering, relay control on the SmartMeter's readings",
         version="1.0.0")

include("manifest_common.py")

package("firmware/control", base_path="..")
package("firmware/metering", base_path="..")
package("firmware/apps/smartplug", base_path="..")
