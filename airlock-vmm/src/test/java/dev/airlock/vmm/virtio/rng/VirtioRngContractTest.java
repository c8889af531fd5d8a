package dev.airlock.vmm.virtio.rng;

import dev.airlock.vmm.virtio.Virtio;
import dev.airlock.vmm.virtio.VirtioDevice;
import dev.airlock.vmm.virtio.VirtioDeviceContractTest;
import java.util.Random;

class VirtioRngContractTest extends VirtioDeviceContractTest {
    @Override
    protected VirtioDevice newVirtioDevice() {
        return new VirtioRng(new Random(SEED));
    }

    @Override
    protected int expectedDeviceId() {
        return Virtio.DEVICE_ID_ENTROPY;
    }
}
