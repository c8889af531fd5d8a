package dev.airlock.vmm.virtio.balloon;

import dev.airlock.vmm.virtio.GuestWriteListener;
import dev.airlock.vmm.virtio.Virtio;
import dev.airlock.vmm.virtio.VirtioDevice;
import dev.airlock.vmm.virtio.VirtioDeviceContractTest;

class VirtioBalloonContractTest extends VirtioDeviceContractTest {
    @Override
    protected VirtioDevice newVirtioDevice() {
        return new VirtioBalloon(GuestWriteListener.NONE);
    }

    @Override
    protected int expectedDeviceId() {
        return Virtio.DEVICE_ID_BALLOON;
    }

    @Override
    protected boolean driverWritableConfigByte(int offsetBytes) {
        return offsetBytes >= VirtioBalloon.CONFIG_ACTUAL && offsetBytes < VirtioBalloon.CONFIG_ACTUAL + 4;
    }
}
