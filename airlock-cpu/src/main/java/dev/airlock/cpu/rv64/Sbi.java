package dev.airlock.cpu.rv64;

import static dev.airlock.memory.HostMemory.ALL;
import static dev.airlock.memory.HostMemory.I8;

/**
 * The SBI (v2.0) served by the hypervisor itself, so no M-mode firmware is booted.
 * Extensions: BASE, TIME, IPI, RFENCE, HSM, SRST, DBCN, and the legacy console and shutdown calls.
 */
final class Sbi {
    static final int SPEC_VERSION = 2 << 24;
    /** Implementation id: not registered with RISC-V International; chosen outside the listed range. */
    static final long IMPL_ID = 0xA1A1;
    static final long SUCCESS = 0, ERR_FAILED = -1, ERR_NOT_SUPPORTED = -2, ERR_INVALID_PARAM = -3,
            ERR_INVALID_ADDRESS = -5, ERR_ALREADY_AVAILABLE = -6;

    static final int EXT_BASE = 0x10, EXT_TIME = 0x54494D45, EXT_IPI = 0x735049, EXT_RFENCE = 0x52464E43,
            EXT_HSM = 0x48534D, EXT_SRST = 0x53525354, EXT_DBCN = 0x4442434E,
            LEGACY_SET_TIMER = 0x00, LEGACY_PUTCHAR = 0x01, LEGACY_GETCHAR = 0x02, LEGACY_SHUTDOWN = 0x08;

    private Sbi() {}

    /** Serves the call in a7/a6 with arguments a0..a5; results go to a0 (error) and a1 (value). */
    static void call(Hart h) {
        long[] x = h.x;
        int ext = (int) x[17];
        int fn = (int) x[16];
        long a0 = x[10], a1 = x[11], a2 = x[12];
        long error = SUCCESS, value = 0;
        switch (ext) {
            case EXT_BASE -> {
                switch (fn) {
                    case 0 -> value = SPEC_VERSION;
                    case 1 -> value = IMPL_ID;
                    case 2 -> value = 1;
                    case 3 -> value = supported((int) a0) ? 1 : 0;
                    case 4, 5, 6 -> value = 0; // mvendorid, marchid, mimpid
                    default -> error = ERR_NOT_SUPPORTED;
                }
            }
            case EXT_TIME -> {
                if (fn == 0) h.setStimecmp(a0); else error = ERR_NOT_SUPPORTED;
            }
            case EXT_IPI -> {
                if (fn == 0) error = forEachHart(h, a0, a1, HartAction.IPI, 0, 0); else error = ERR_NOT_SUPPORTED;
            }
            case EXT_RFENCE -> {
                // Remote fence.i: the harts look their code page up again (a clone may have let go of a
                // page shared with its template); sfence variants drop TLBs.
                if (fn == 0) error = forEachHart(h, a0, a1, HartAction.REFETCH, 0, 0);
                else if (fn >= 1 && fn <= 2) error = forEachHart(h, a0, a1, HartAction.FLUSH_TLB, a2, x[13]);
                else error = ERR_NOT_SUPPORTED;
            }
            case EXT_HSM -> {
                switch (fn) {
                    case 0 -> error = hartStart(h, (int) a0, a1, a2);
                    case 1 -> { h.hsmState = Hart.HSM_STOPPED; h.exit(Hart.EXIT_STOPPED); }
                    case 2 -> {
                        Hart t = h.platform.hart((int) a0);
                        if (t == null) error = ERR_INVALID_PARAM; else value = t.hsmState;
                    }
                    default -> error = ERR_NOT_SUPPORTED;
                }
            }
            case EXT_SRST -> {
                if (fn == 0 && a0 >= 0 && a0 <= 2) {
                    h.platform.systemReset((int) a0, (int) a1);
                    h.exit(Hart.EXIT_HALT);
                } else {
                    error = fn == 0 ? ERR_INVALID_PARAM : ERR_NOT_SUPPORTED;
                }
            }
            case EXT_DBCN -> {
                switch (fn) {
                    case 0 -> { // console_write(num_bytes, base_lo, base_hi)
                        long base = a1;
                        long n = a0;
                        long written = 0;
                        while (written < n) {
                            long hva = h.hvaOfGpa(base + written);
                            if (hva < 0) break;
                            h.platform.consoleWrite(ALL.get(I8, hva) & 0xff);
                            written++;
                        }
                        if (written == 0 && n > 0) error = ERR_INVALID_PARAM;
                        value = written;
                    }
                    case 1 -> value = 0; // console_read: input arrives through the UART
                    case 2 -> h.platform.consoleWrite((int) a0 & 0xff);
                    default -> error = ERR_NOT_SUPPORTED;
                }
            }
            case LEGACY_SET_TIMER -> { h.setStimecmp(a0); x[10] = 0; return; }
            case LEGACY_PUTCHAR -> { h.platform.consoleWrite((int) a0 & 0xff); x[10] = 0; return; }
            case LEGACY_GETCHAR -> { x[10] = -1; return; }
            case LEGACY_SHUTDOWN -> { h.platform.systemReset(0, 0); h.exit(Hart.EXIT_HALT); return; }
            default -> error = ERR_NOT_SUPPORTED;
        }
        x[10] = error;
        x[11] = value;
    }

    private static boolean supported(int ext) {
        return switch (ext) {
            case EXT_BASE, EXT_TIME, EXT_IPI, EXT_RFENCE, EXT_HSM, EXT_SRST, EXT_DBCN,
                 LEGACY_SET_TIMER, LEGACY_PUTCHAR, LEGACY_GETCHAR, LEGACY_SHUTDOWN -> true;
            default -> false;
        };
    }

    private enum HartAction { IPI, FLUSH_TLB, REFETCH }

    /** Applies an action to the harts in an SBI hart mask; base -1 means all harts. */
    private static long forEachHart(Hart self, long mask, long base, HartAction action, long startVa, long sizeBytes) {
        int count = self.platform.hartCount();
        for (int id = 0; id < count; id++) {
            boolean selected = base == -1 || (id >= base && id - base < 64 && ((mask >>> (id - base)) & 1) != 0);
            if (!selected) continue;
            Hart t = self.platform.hart(id);
            switch (action) {
                case IPI -> {
                    t.setMip(Csr.MIP_SSIP);
                    t.pollNow = true;
                    self.platform.wake(t);
                }
                case FLUSH_TLB -> {
                    if (t == self) {
                        if (sizeBytes == 0 || sizeBytes > 64 * 4096L || sizeBytes == -1) self.flushTlb();
                        else for (long va = startVa & ~0xfffL; va < startVa + sizeBytes; va += 4096) self.flushTlbPage(va);
                    } else {
                        t.requestRemoteFlush();
                    }
                }
                case REFETCH -> t.forgetCodePage();
            }
        }
        if (base != -1 && base >= count) return ERR_INVALID_PARAM;
        return SUCCESS;
    }

    private static long hartStart(Hart self, int hartId, long startAddr, long opaque) {
        Hart t = self.platform.hart(hartId);
        if (t == null) return ERR_INVALID_PARAM;
        synchronized (t) {
            if (t.hsmState != Hart.HSM_STOPPED) return ERR_ALREADY_AVAILABLE;
            if (t.hvaOfGpa(startAddr) < 0) return ERR_INVALID_ADDRESS;
            t.reset(startAddr, Hart.PRIV_S, hartId, opaque);
        }
        self.platform.wake(t);
        return SUCCESS;
    }
}
