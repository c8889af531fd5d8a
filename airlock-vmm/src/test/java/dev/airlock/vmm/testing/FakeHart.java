package dev.airlock.vmm.testing;

import dev.airlock.cpu.HartInterrupts;
import java.util.ArrayList;
import java.util.List;

/** Records what devices do to a hart's interrupt lines and timer compare. */
public final class FakeHart implements HartInterrupts {
    private final boolean[] lines = new boolean[64];
    private final List<String> calls = new ArrayList<>();
    private long mtimecmp = -1L;
    private int lineCalls;

    public static FakeHart[] harts(int n) {
        FakeHart[] h = new FakeHart[n];
        for (int i = 0; i < n; i++) {
            h[i] = new FakeHart();
        }
        return h;
    }

    @Override
    public synchronized void setInterruptLine(int irq, boolean level) {
        lines[irq] = level;
        lineCalls++;
        calls.add(irq + "=" + level);
    }

    @Override
    public synchronized void setMtimecmp(long ticks) {
        mtimecmp = ticks;
    }

    @Override
    public synchronized long mtimecmp() {
        return mtimecmp;
    }

    public synchronized boolean line(int irq) {
        return lines[irq];
    }

    public synchronized int lineCalls() {
        return lineCalls;
    }

    public synchronized List<String> calls() {
        return List.copyOf(calls);
    }
}
