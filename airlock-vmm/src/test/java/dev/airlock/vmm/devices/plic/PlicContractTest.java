package dev.airlock.vmm.devices.plic;

import dev.airlock.vmm.bus.BusDevice;
import dev.airlock.vmm.bus.BusDeviceContractTest;
import dev.airlock.vmm.testing.FakeHart;
import java.util.ArrayList;
import java.util.List;

class PlicContractTest extends BusDeviceContractTest {
    @Override
    protected BusDevice newDevice() {
        return new Plic(FakeHart.harts(2));
    }

    @Override
    protected long windowSizeBytes() {
        return Plic.SIZE_BYTES;
    }

    @Override
    protected long[] unimplementedOffsets() {
        return new long[] {
            0x0, // source 0 does not exist
            4L * (Plic.MAX_SOURCE_ID + 1), // first id past the last source
            0xFFC,
            0x100C, // pending word 3
            0x2000 + 0xC, // enable word 3 of context 0
            0x2000 + 0x80 * 4, // context 4: only 2 harts
            0x1F_FFFC,
            0x20_0008, // reserved word in context 0's block
            0x20_0000 + 0x1000 * 4, // threshold of context 4
            0x20_0004 + 0x1000 * 4, // claim of context 4
            Plic.SIZE_BYTES - 4,
        };
    }

    @Override
    protected List<Reg> stateRegisters() {
        List<Reg> regs = new ArrayList<>();
        for (int src = 1; src <= Plic.MAX_SOURCE_ID; src++) {
            regs.add(new Reg(4L * src, 4));
        }
        for (int word = 0; word < 3; word++) {
            regs.add(new Reg(0x1000 + 4L * word, 4));
        }
        for (int ctx = 0; ctx < 4; ctx++) {
            for (int word = 0; word < 3; word++) {
                regs.add(new Reg(0x2000 + 0x80L * ctx + 4L * word, 4));
            }
            regs.add(new Reg(0x20_0000 + 0x1000L * ctx, 4));
        }
        return regs;
    }
}
