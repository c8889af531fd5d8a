package dev.airlock.vmm.devices.power;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class TestFinisherTest {
    private final RecordingPower power = new RecordingPower();
    private final TestFinisher finisher = new TestFinisher(power);

    @Test
    void passPowersOffWithZero() {
        finisher.write(0, 4, 0x5555);
        assertEquals(List.of("off 0"), power.events);
    }

    @Test
    void failCarriesTheCodeFromTheUpperHalf() {
        finisher.write(0, 4, 0x3333 | (42 << 16));
        finisher.write(0, 4, 0x3333 | (0xFFFFL << 16));
        assertEquals(List.of("off 42", "off 65535"), power.events);
    }

    @Test
    void failWithCodeZeroDoesNotLookLikeAPass() {
        finisher.write(0, 4, 0x3333);
        assertEquals(List.of("off 1"), power.events);
    }

    @Test
    void resetAsksForAReset() {
        finisher.write(0, 4, 0x7777);
        assertEquals(List.of("reset"), power.events);
    }

    @Test
    void otherValuesOffsetsAndNarrowWritesAreIgnored() {
        finisher.write(0, 4, 0x1234);
        finisher.write(4, 4, 0x5555);
        finisher.write(0, 2, 0x5555);
        finisher.write(0, 1, 0x55);
        assertEquals(List.of(), power.events);
        assertEquals(0, finisher.read(0, 4));
    }

    @Test
    void a64BitWriteActsOnItsLowWord() {
        finisher.write(0, 8, 0xFFFF_FFFF_0000_5555L);
        assertEquals(List.of("off 0"), power.events);
    }
}
