package dev.airlock.cpu;

/**
 * What platform devices (PLIC, CLINT) may do to one hart. Thread-safe: devices call it from
 * whichever thread runs them, and a raised line wakes a hart that waits in WFI.
 */
public interface HartInterrupts {
    int MIP_SSIP = 1, MIP_MSIP = 3, MIP_STIP = 5, MIP_MTIP = 7, MIP_SEIP = 9, MIP_MEIP = 11;

    /** Raises or lowers a level-triggered line: {@link #MIP_MSIP}, {@link #MIP_MEIP} or {@link #MIP_SEIP}. */
    void setInterruptLine(int mipBit, boolean level);

    /** The machine timer compare value in {@link TimeBase} ticks; MTIP is pending while time ≥ it. */
    void setMtimecmp(long ticks);

    long mtimecmp();
}
