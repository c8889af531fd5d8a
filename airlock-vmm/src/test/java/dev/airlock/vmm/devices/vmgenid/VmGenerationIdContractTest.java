package dev.airlock.vmm.devices.vmgenid;

import dev.airlock.vmm.bus.BusDevice;
import dev.airlock.vmm.bus.BusDeviceContractTest;
import dev.airlock.vmm.bus.IrqLine;
import java.util.List;
import java.util.Random;

class VmGenerationIdContractTest extends BusDeviceContractTest {
    @Override
    protected BusDevice newDevice() {
        return new VmGenerationId(new Random(SEED), IrqLine.NONE);
    }

    @Override
    protected long windowSizeBytes() {
        return VmGenerationId.SIZE_BYTES;
    }

    @Override
    protected long[] unimplementedOffsets() {
        return new long[0]; // every byte of the window is the ID
    }

    @Override
    protected List<Reg> stateRegisters() {
        return List.of(new Reg(0, 8), new Reg(8, 8));
    }
}
