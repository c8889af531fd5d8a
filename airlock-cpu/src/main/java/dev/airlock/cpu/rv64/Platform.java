package dev.airlock.cpu.rv64;

/** What a hart needs from the machine around it: its sibling harts, the console and power control. */
public interface Platform {
    /** The hart with this id, or null if there is none. */
    Hart hart(int hartId);

    int hartCount();

    /** One byte from the SBI debug console. */
    void consoleWrite(int b);

    /** SBI system reset: {@code type} 0 = shutdown, 1 = cold reboot, 2 = warm reboot. */
    void systemReset(int type, int reason);

    /** A hart that was stopped or waiting has become runnable and should be scheduled. */
    void wake(Hart hart);
}
