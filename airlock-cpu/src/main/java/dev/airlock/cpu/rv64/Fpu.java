package dev.airlock.cpu.rv64;

/** Placeholder until the IEEE-exact F/D unit lands: holds the accrued flags only. */
public final class Fpu {
    public int fflags;
}
