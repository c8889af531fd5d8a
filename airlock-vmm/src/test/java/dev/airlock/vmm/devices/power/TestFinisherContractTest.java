package dev.airlock.vmm.devices.power;

import dev.airlock.vmm.bus.BusDevice;
import dev.airlock.vmm.bus.BusDeviceContractTest;
import java.util.List;
import java.util.stream.LongStream;

class TestFinisherContractTest extends BusDeviceContractTest {
    @Override
    protected BusDevice newDevice() {
        return new TestFinisher(new RecordingPower());
    }

    @Override
    protected long windowSizeBytes() {
        return TestFinisher.SIZE_BYTES;
    }

    @Override
    protected long[] unimplementedOffsets() {
        return LongStream.range(1, TestFinisher.SIZE_BYTES).toArray();
    }

    @Override
    protected List<Reg> stateRegisters() {
        return List.of(new Reg(0, 4));
    }
}
