package dev.airlock.vmm;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayInputStream;
import java.io.UncheckedIOException;
import org.junit.jupiter.api.Test;

class HostEntropyTest {
    private static byte[] counting(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) i;
        return b;
    }

    @Test
    void bytesComeInOrderAcrossBlocksAndNeverTwice() {
        var e = new HostEntropy(new ByteArrayInputStream(counting(64)), 16);
        byte[] a = new byte[10], b = new byte[30];
        e.nextBytes(a);
        e.nextBytes(b); // 6 from the first block, 16 from the second, 8 from the third
        assertArrayEquals(java.util.Arrays.copyOfRange(counting(64), 0, 10), a);
        assertArrayEquals(java.util.Arrays.copyOfRange(counting(64), 10, 40), b);
        assertEquals(0x28292a2b2c2d2e2fL, e.nextLong(), "big-endian, the next 8 bytes");
    }

    @Test
    void anExhaustedSourceIsAnErrorNotZeros() {
        var e = new HostEntropy(new ByteArrayInputStream(counting(20)), 16);
        e.nextBytes(new byte[16]);
        assertThrows(UncheckedIOException.class, () -> e.nextBytes(new byte[1]));
    }

    @Test
    void theHostsUrandomGivesDifferentIds() {
        var e = HostEntropy.urandom();
        byte[] a = new byte[16], b = new byte[16];
        e.nextBytes(a);
        e.nextBytes(b);
        assertFalse(java.util.Arrays.equals(a, b));
        assertFalse(java.util.Arrays.equals(a, new byte[16]));
    }
}
