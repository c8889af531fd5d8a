package dev.airlock.cpu;

/**
 * What platform devices (PLIC, CLINT) may do to one hart. Thread-safe: devices call it from
 * whichever thread runs them, and a raised line wakes a hart that waits in WFI.
 */
public interface HartInterrupts {
    /** Interrupt numbers: the bit positions in mip/mie (and the cause codes). */
    int IRQ_S_SOFT = 1, IRQ_M_SOFT = 3, IRQ_S_TIMER = 5, IRQ_M_TIMER = 7, IRQ_S_EXT = 9, IRQ_M_EXT = 11;

    /** Raises or lowers a level-triggered line: {@link #IRQ_M_SOFT}, {@link #IRQ_M_EXT} or {@link #IRQ_S_EXT}. */
    void setInterruptLine(int irq, boolean level);

    /** The machine timer compare value in {@link TimeBase} ticks; MTIP is pending while time ≥ it. */
    void setMtimecmp(long ticks);

    long mtimecmp();
}
