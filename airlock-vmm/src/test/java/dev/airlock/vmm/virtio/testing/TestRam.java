package dev.airlock.vmm.virtio.testing;

import dev.airlock.memory.GuestMemory;

/** Guest RAM for device tests: real anonymous memory at the machine's RAM base. */
public final class TestRam {
    public static final long BASE_GPA = 0x8000_0000L;

    private TestRam() {}

    public static GuestMemory create(long sizeBytes) {
        return new GuestMemory(BASE_GPA, sizeBytes);
    }
}
