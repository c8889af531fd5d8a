package dev.airlock.vmm.virtio.vsock;

import dev.airlock.vmm.virtio.Virtio;
import dev.airlock.vmm.virtio.VirtioDevice;
import dev.airlock.vmm.virtio.VirtioDeviceContractTest;

class VirtioVsockContractTest extends VirtioDeviceContractTest {
    @Override
    protected VirtioDevice newVirtioDevice() {
        return new VirtioVsock(42);
    }

    /** The transmit queue: the receive queue is read only when there is something to deliver. */
    @Override
    protected int eagerlyReadQueue() {
        return 1;
    }

    @Override
    protected int expectedDeviceId() {
        return Virtio.DEVICE_ID_VSOCK;
    }
}
