package dev.airlock.vmm.devices.power;

import dev.airlock.vmm.bus.BusDevice;
import java.util.Objects;

/**
 * The SiFive test finisher ({@code "sifive,test0"}): bare-metal tests and firmware power the machine
 * off or reset it by writing one 32-bit word at offset 0.
 *
 * <pre>
 *  bits 15..0   0x5555 pass (power off, exit 0)
 *               0x3333 fail (power off, exit code in bits 31..16)
 *               0x7777 reset
 * </pre>
 *
 * A failure whose code is 0 is reported as exit code 1, so that a failure never looks like a pass.
 */
public final class TestFinisher implements BusDevice {
    public static final long SIZE_BYTES = 0x1000;
    public static final int PASS = 0x5555;
    public static final int FAIL = 0x3333;
    public static final int RESET = 0x7777;

    private final PowerControl power;

    public TestFinisher(PowerControl power) {
        this.power = Objects.requireNonNull(power, "power");
    }

    @Override
    public long read(long offsetBytes, int sizeBytes) {
        return 0;
    }

    @Override
    public void write(long offsetBytes, int sizeBytes, long value) {
        if (offsetBytes != 0 || sizeBytes < 4) {
            return;
        }
        int word = (int) value;
        switch (word & 0xFFFF) {
            case PASS -> power.powerOff(0);
            case FAIL -> {
                int code = word >>> 16;
                power.powerOff(code == 0 ? 1 : code);
            }
            case RESET -> power.reset();
            default -> {} // other values are reserved
        }
    }
}
