package dev.airlock.vmm.devices.clint;

import dev.airlock.cpu.HartInterrupts;
import dev.airlock.cpu.TimeBase;
import dev.airlock.vmm.bus.BusDevice;
import java.util.Objects;

/**
 * The SiFive CLINT (the ACLINT MSWI and MTIMER devices at their CLINT offsets): software
 * interrupts and the machine timer, for M-mode software. With SBI implemented by the hypervisor
 * Linux does not need it, but firmware and bare-metal tests do.
 *
 * <pre>
 *  0x0000 + 4*hart   msip       bit 0 drives the hart's MSIP
 *  0x4000 + 8*hart   mtimecmp   64-bit; 32-bit halves may be written separately
 *  0xBFF8            mtime      64-bit, read-only here: the time base is the host clock
 * </pre>
 *
 * <p>The timer compare value lives in the hart ({@link HartInterrupts#setMtimecmp}), which raises
 * MTIP itself, so the CLINT holds only the msip bits. Thread-safe.
 */
public final class Clint implements BusDevice {
    public static final long SIZE_BYTES = 0x1_0000;
    static final long MSIP_BASE = 0x0;
    static final long MTIMECMP_BASE = 0x4000;
    static final long MTIME = 0xBFF8;
    /** The register map has room for this many harts. */
    public static final int MAX_HARTS = 4095;

    private final Object lock = new Object();
    private final HartInterrupts[] harts;
    private final TimeBase time;
    private final boolean[] msip;

    public Clint(HartInterrupts[] harts, TimeBase time) {
        Objects.requireNonNull(harts, "harts");
        this.time = Objects.requireNonNull(time, "time");
        if (harts.length < 1 || harts.length > MAX_HARTS) {
            throw new IllegalArgumentException("CLINT supports 1.." + MAX_HARTS + " harts, got " + harts.length);
        }
        this.harts = harts.clone();
        for (int h = 0; h < harts.length; h++) {
            Objects.requireNonNull(this.harts[h], "harts[" + h + "]");
        }
        this.msip = new boolean[harts.length];
    }

    /** The machine software-interrupt bits, one byte per hart, for a snapshot (mtimecmp lives in the harts). */
    public byte[] saveState() {
        synchronized (lock) {
            byte[] b = new byte[msip.length];
            for (int h = 0; h < msip.length; h++) b[h] = (byte) (msip[h] ? 1 : 0);
            return b;
        }
    }

    /** Puts back what {@link #saveState} saved (the harts' mip, restored with them, already carries the lines). */
    public void restoreState(byte[] state) {
        synchronized (lock) {
            if (state.length != msip.length) {
                throw new IllegalArgumentException("CLINT state for " + state.length + " harts does not fit " + msip.length);
            }
            for (int h = 0; h < msip.length; h++) msip[h] = state[h] != 0;
        }
    }

    @Override
    public long read(long offsetBytes, int sizeBytes) {
        if (offsetBytes < 0 || (sizeBytes != 4 && sizeBytes != 8) || (offsetBytes & (sizeBytes - 1)) != 0) {
            return 0;
        }
        if (offsetBytes < MTIMECMP_BASE) {
            int hart = (int) (offsetBytes >>> 2);
            if (sizeBytes != 4 || hart >= harts.length) {
                return 0;
            }
            synchronized (lock) {
                return msip[hart] ? 1 : 0;
            }
        }
        if (offsetBytes >= MTIME && offsetBytes < MTIME + 8) {
            return slice(time.ticks(), offsetBytes - MTIME, sizeBytes);
        }
        if (offsetBytes < MTIME) {
            int hart = (int) ((offsetBytes - MTIMECMP_BASE) >>> 3);
            if (hart >= harts.length) {
                return 0;
            }
            return slice(harts[hart].mtimecmp(), (offsetBytes - MTIMECMP_BASE) & 7, sizeBytes);
        }
        return 0;
    }

    @Override
    public void write(long offsetBytes, int sizeBytes, long value) {
        if (offsetBytes < 0 || (sizeBytes != 4 && sizeBytes != 8) || (offsetBytes & (sizeBytes - 1)) != 0) {
            return;
        }
        if (offsetBytes < MTIMECMP_BASE) {
            int hart = (int) (offsetBytes >>> 2);
            if (sizeBytes == 4 && hart < harts.length) {
                synchronized (lock) {
                    msip[hart] = (value & 1) != 0;
                    harts[hart].setInterruptLine(HartInterrupts.IRQ_M_SOFT, msip[hart]);
                }
            }
        } else if (offsetBytes < MTIME) {
            int hart = (int) ((offsetBytes - MTIMECMP_BASE) >>> 3);
            if (hart >= harts.length) {
                return;
            }
            long byteInRegister = (offsetBytes - MTIMECMP_BASE) & 7;
            synchronized (lock) {
                // Read-modify-write under the lock so two 32-bit halves written by different harts both land.
                long now = sizeBytes == 8 ? value : merge(harts[hart].mtimecmp(), byteInRegister, value);
                harts[hart].setMtimecmp(now);
            }
        }
        // mtime is the host's clock: guest writes are ignored.
    }

    /** Clears every msip bit. mtimecmp belongs to the hart and is reset with it. */
    @Override
    public void reset() {
        synchronized (lock) {
            for (int h = 0; h < harts.length; h++) {
                msip[h] = false;
                harts[h].setInterruptLine(HartInterrupts.IRQ_M_SOFT, false);
            }
        }
    }

    private static long slice(long register, long byteInRegister, int sizeBytes) {
        if (sizeBytes == 8) {
            return register;
        }
        return (register >>> (8 * byteInRegister)) & 0xFFFF_FFFFL;
    }

    private static long merge(long register, long byteInRegister, long value32) {
        int shift = (int) (8 * byteInRegister);
        long mask = 0xFFFF_FFFFL << shift;
        return (register & ~mask) | ((value32 & 0xFFFF_FFFFL) << shift);
    }
}
