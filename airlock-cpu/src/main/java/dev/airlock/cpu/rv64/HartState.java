package dev.airlock.cpu.rv64;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A hart's architectural state as bytes, for VM snapshots and templates: integer and FP registers,
 * pc, privilege, every CSR the hart keeps, timer compares, pending interrupts, instret, the LR
 * reservation and the SBI HSM state. Soft TLBs, decoded code and translated blocks are caches and
 * are not saved; a restore flushes them. Little-endian, with its own layout version first.
 */
public final class HartState {
    /** Bump when the layout changes; {@link #restore} refuses a layout it does not know. */
    public static final int LAYOUT = 1;
    /** layout, x and f, pc, priv/frm/fflags, 19 CSRs, mip, mtimecmp, hsm, stimecmp, instret, reservation. */
    static final int SIZE_BYTES = 4 + 2 * 32 * 8 + 8 + 3 * 4 + 19 * 8 + 2 * 8 + 4 + 4 * 8;

    private HartState() {}

    /** The state of {@code h}, which must not be running (its VM is paused or stopped). */
    public static byte[] save(Hart h) {
        ByteBuffer b = ByteBuffer.allocate(SIZE_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(LAYOUT);
        for (long v : h.x) b.putLong(v);
        for (long v : h.f) b.putLong(v);
        b.putLong(h.pc).putInt(h.priv).putInt(h.frm).putInt(h.fpu.fflags);
        b.putLong(h.mstatus).putLong(h.medeleg).putLong(h.mideleg).putLong(h.mie).putLong(h.mtvec).putLong(h.mscratch)
                .putLong(h.mepc).putLong(h.mcause).putLong(h.mtval).putLong(h.mcounteren).putLong(h.menvcfg);
        b.putLong(h.stvec).putLong(h.sscratch).putLong(h.sepc).putLong(h.scause).putLong(h.stval).putLong(h.scounteren)
                .putLong(h.senvcfg).putLong(h.satp);
        b.putLong(h.mip).putLong(h.mtimecmp).putInt(h.hsmState);
        b.putLong(h.stimecmp).putLong(h.instret).putLong(h.reservationAddr).putLong(h.reservationValue);
        if (b.hasRemaining()) throw new IllegalStateException("hart state layout miscounted: " + b.remaining() + " bytes spare");
        return b.array();
    }

    /**
     * Puts {@code state} into {@code h} (not running) and flushes its caches.
     *
     * @throws IllegalArgumentException if the bytes are not a hart state of a known layout
     */
    public static void restore(Hart h, ByteBuffer state) {
        ByteBuffer b = state.order(ByteOrder.LITTLE_ENDIAN);
        if (b.remaining() < 4) throw new IllegalArgumentException("hart state is empty");
        int layout = b.getInt();
        if (layout != LAYOUT) throw new IllegalArgumentException("hart state layout " + layout + " is unknown (this Airlock reads " + LAYOUT + ")");
        if (b.remaining() != SIZE_BYTES - 4) {
            throw new IllegalArgumentException("hart state is " + (b.remaining() + 4) + " bytes, expected " + SIZE_BYTES);
        }
        for (int i = 0; i < 32; i++) h.x[i] = b.getLong();
        h.x[0] = 0;
        for (int i = 0; i < 32; i++) h.f[i] = b.getLong();
        h.pc = b.getLong();
        int priv = b.getInt();
        if (priv != Hart.PRIV_U && priv != Hart.PRIV_S && priv != Hart.PRIV_M) throw new IllegalArgumentException("privilege " + priv);
        h.priv = priv;
        h.frm = b.getInt() & 7;
        h.fpu.fflags = b.getInt() & 0x1f;
        h.mstatus = b.getLong();
        h.medeleg = b.getLong();
        h.mideleg = b.getLong();
        h.mie = b.getLong();
        h.mtvec = b.getLong();
        h.mscratch = b.getLong();
        h.mepc = b.getLong();
        h.mcause = b.getLong();
        h.mtval = b.getLong();
        h.mcounteren = b.getLong();
        h.menvcfg = b.getLong();
        h.stvec = b.getLong();
        h.sscratch = b.getLong();
        h.sepc = b.getLong();
        h.scause = b.getLong();
        h.stval = b.getLong();
        h.scounteren = b.getLong();
        h.senvcfg = b.getLong();
        h.satp = b.getLong();
        h.mip = b.getLong();
        h.mtimecmp = b.getLong();
        h.hsmState = b.getInt();
        h.stimecmp = b.getLong();
        h.instret = b.getLong();
        h.reservationAddr = b.getLong();
        h.reservationValue = b.getLong();
        h.resetAsidSlots();
    }
}
