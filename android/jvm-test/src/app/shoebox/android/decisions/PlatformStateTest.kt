package app.shoebox.android.decisions

import org.junit.Assert.assertEquals
import org.junit.Test

class PlatformStateTest {
    private fun caps(wifi: Boolean = false, cellular: Boolean = false, notMetered: Boolean = false, validated: Boolean = true, ethernet: Boolean = false, vpn: Boolean = false) =
        NetworkCaps(wifi = wifi, cellular = cellular, notMetered = notMetered, validated = validated, ethernet = ethernet, vpn = vpn)

    @Test
    fun validationIsRequired() {
        assertEquals(NetworkDecisions.NONE, NetworkDecisions.stateOf(null))
        // Wi-Fi with NET_CAPABILITY_INTERNET but not VALIDATED: a captive portal.
        assertEquals(NetworkDecisions.NONE, NetworkDecisions.stateOf(caps(wifi = true, notMetered = true, validated = false)))
        assertEquals(NetworkDecisions.NONE, NetworkDecisions.stateOf(caps(cellular = true, validated = false)))
    }

    @Test
    fun unmeteredWifiIsWifi() {
        assertEquals(CoreNetwork(NetKind.WIFI, metered = false), NetworkDecisions.stateOf(caps(wifi = true, notMetered = true)))
    }

    @Test
    fun hotspotWifiIsMeteredWifi() {
        assertEquals(CoreNetwork(NetKind.WIFI, metered = true), NetworkDecisions.stateOf(caps(wifi = true, notMetered = false)))
    }

    @Test
    fun cellularIsMeteredCellular() {
        assertEquals(CoreNetwork(NetKind.CELLULAR, metered = true), NetworkDecisions.stateOf(caps(cellular = true)))
        // An "unmetered" 5G plan is still cellular: Wi-Fi only must not upload over it.
        assertEquals(CoreNetwork(NetKind.CELLULAR, metered = true), NetworkDecisions.stateOf(caps(cellular = true, notMetered = true)))
    }

    @Test
    fun vpnTakesItsUnderlyingTransport() {
        assertEquals(CoreNetwork(NetKind.WIFI, false), NetworkDecisions.stateOf(caps(vpn = true, wifi = true, notMetered = true)))
        assertEquals(CoreNetwork(NetKind.CELLULAR, true), NetworkDecisions.stateOf(caps(vpn = true, cellular = true)))
        // Over Wi-Fi and cellular at once: bytes may go over cellular.
        assertEquals(CoreNetwork(NetKind.CELLULAR, true), NetworkDecisions.stateOf(caps(vpn = true, wifi = true, cellular = true, notMetered = true)))
        // Underlying network unknown.
        assertEquals(CoreNetwork(NetKind.OTHER, true), NetworkDecisions.stateOf(caps(vpn = true)))
    }

    @Test
    fun ethernetIsOther() {
        assertEquals(CoreNetwork(NetKind.OTHER, false), NetworkDecisions.stateOf(caps(ethernet = true, notMetered = true)))
    }

    @Test
    fun power() {
        assertEquals(CorePower(charging = false, lowPower = true), PowerDecisions.stateOf(plugged = 0, status = 3, powerSave = true))
        assertEquals(CorePower(charging = true, lowPower = false), PowerDecisions.stateOf(plugged = 2, status = 3, powerSave = false))
        assertEquals(CorePower(charging = true, lowPower = false), PowerDecisions.stateOf(plugged = 0, status = PowerDecisions.STATUS_FULL, powerSave = false))
        assertEquals(CorePower(charging = true, lowPower = false), PowerDecisions.stateOf(0, 0, false, batteryIntentMissing = true))
    }
}
