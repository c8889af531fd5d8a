package dev.airlock.vmm.devices.power;

import java.util.ArrayList;
import java.util.List;

final class RecordingPower implements PowerControl {
    final List<String> events = new ArrayList<>();

    @Override
    public void powerOff(int exitCode) {
        events.add("off " + exitCode);
    }

    @Override
    public void reset() {
        events.add("reset");
    }
}
