package dev.airlock.vmm.virtio.blk;

import dev.airlock.vmm.virtio.Virtio;
import dev.airlock.vmm.virtio.VirtioDevice;
import dev.airlock.vmm.virtio.VirtioDeviceContractTest;
import dev.airlock.vmm.virtio.testing.InMemoryBackend;

class VirtioBlockContractTest extends VirtioDeviceContractTest {
    @Override
    protected VirtioDevice newVirtioDevice() {
        return new VirtioBlock(new InMemoryBackend(1 << 20, false), "contract");
    }

    @Override
    protected int expectedDeviceId() {
        return Virtio.DEVICE_ID_BLOCK;
    }
}
