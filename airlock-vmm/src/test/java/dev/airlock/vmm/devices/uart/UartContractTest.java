package dev.airlock.vmm.devices.uart;

import dev.airlock.vmm.bus.BusDevice;
import dev.airlock.vmm.bus.BusDeviceContractTest;
import dev.airlock.vmm.bus.IrqLine;
import java.io.OutputStream;
import java.util.List;
import java.util.stream.LongStream;

class UartContractTest extends BusDeviceContractTest {
    @Override
    protected BusDevice newDevice() {
        return new Uart16550(OutputStream.nullOutputStream(), IrqLine.NONE);
    }

    @Override
    protected long windowSizeBytes() {
        return Uart16550.SIZE_BYTES;
    }

    @Override
    protected long[] unimplementedOffsets() {
        return LongStream.range(8, Uart16550.SIZE_BYTES).toArray();
    }

    @Override
    protected List<Reg> stateRegisters() {
        // RBR is left out: reading it consumes input. DLL/DLM need DLAB, which a read cannot set.
        return List.of(new Reg(1, 1), new Reg(2, 1), new Reg(3, 1), new Reg(4, 1), new Reg(5, 1), new Reg(6, 1),
                new Reg(7, 1));
    }
}
