package dev.airlock.vmm.devices.clint;

import dev.airlock.vmm.bus.BusDevice;
import dev.airlock.vmm.bus.BusDeviceContractTest;
import dev.airlock.vmm.testing.FakeHart;
import java.util.List;

class ClintContractTest extends BusDeviceContractTest {
    @Override
    protected BusDevice newDevice() {
        return new Clint(FakeHart.harts(2), () -> 0x1234_5678_9ABCL);
    }

    @Override
    protected long windowSizeBytes() {
        return Clint.SIZE_BYTES;
    }

    @Override
    protected long[] unimplementedOffsets() {
        return new long[] {0x8, 0x3FF8, 0x4010, 0xBFF0, 0xC000, 0xFFF8};
    }

    @Override
    protected List<Reg> stateRegisters() {
        // mtimecmp is the hart's state, reset with the hart, so it is not part of the CLINT's.
        return List.of(new Reg(0, 4), new Reg(4, 4), new Reg(0xBFF8, 8));
    }
}
