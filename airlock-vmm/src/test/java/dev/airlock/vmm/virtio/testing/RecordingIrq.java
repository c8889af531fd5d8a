package dev.airlock.vmm.virtio.testing;

import dev.airlock.vmm.bus.IrqLine;
import java.util.concurrent.atomic.AtomicInteger;

/** An interrupt line that remembers its level and counts rising edges. */
public final class RecordingIrq implements IrqLine {
    private volatile boolean level;
    private final AtomicInteger raises = new AtomicInteger();

    @Override
    public void set(boolean level) {
        if (level && !this.level) raises.incrementAndGet();
        this.level = level;
    }

    public boolean level() { return level; }

    public int raises() { return raises.get(); }
}
