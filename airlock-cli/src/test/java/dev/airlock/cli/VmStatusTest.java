package dev.airlock.cli;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class VmStatusTest {
    @Test
    void jsonRoundTrips() {
        var s = new VmStatus("web-\"1\"\\x", 42, 3, 2, 512L << 20, "base", 90L << 20, 60L << 20, 30L << 20, 0, 1L << 20,
                300L << 20, 0, 600L << 20, 1_000_000_007L, 12_345, 200L << 20, 190L << 20,
                88L << 10, 40L << 10);
        assertEquals(s, VmStatus.fromJson(s.toJson()));
    }

    @Test
    void somethingElseIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> VmStatus.fromJson("{\"error\":\"expected STATUS or STOP\"}"));
    }

    @Test
    void thisProcessHasARssAndPss() {
        long[] rssPss = VmStatus.processRssPss();
        assertTrue(rssPss[0] > 0 && rssPss[1] > 0, () -> rssPss[0] + " " + rssPss[1]);
    }
}
