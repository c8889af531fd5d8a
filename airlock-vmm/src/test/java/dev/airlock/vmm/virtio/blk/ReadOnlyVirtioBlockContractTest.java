package dev.airlock.vmm.virtio.blk;

import dev.airlock.vmm.virtio.Virtio;
import dev.airlock.vmm.virtio.VirtioDevice;
import dev.airlock.vmm.virtio.VirtioDeviceContractTest;
import dev.airlock.vmm.virtio.testing.InMemoryBackend;

class ReadOnlyVirtioBlockContractTest extends VirtioDeviceContractTest {
    @Override
    protected VirtioDevice newVirtioDevice() {
        return new VirtioBlock(new InMemoryBackend(64 << 10, true), "contract-ro");
    }

    @Override
    protected int expectedDeviceId() {
        return Virtio.DEVICE_ID_BLOCK;
    }
}
