package dev.airlock.sys;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FlockTest {
    @TempDir Path dir;

    @Test
    void sharedLocksCoexistAndKeepAnExclusiveOneOutEvenInOneProcess() throws IOException {
        String file = Files.writeString(dir.resolve("in-use.lock"), "").toString();
        int a = Fcntl.open(file, Fcntl.O_RDONLY), b = Fcntl.open(file, Fcntl.O_RDONLY), c = Fcntl.open(file, Fcntl.O_RDONLY);
        try {
            assertTrue(Flock.flock(a, Flock.LOCK_SH));
            assertTrue(Flock.flock(b, Flock.LOCK_SH | Flock.LOCK_NB), "shared locks coexist");
            assertFalse(Flock.flock(c, Flock.LOCK_EX | Flock.LOCK_NB), "held shared by this very process: refused");
            Flock.flock(a, Flock.LOCK_UN);
            assertFalse(Flock.flock(c, Flock.LOCK_EX | Flock.LOCK_NB), "one shared holder left");
            Flock.flock(b, Flock.LOCK_UN);
            assertTrue(Flock.flock(c, Flock.LOCK_EX | Flock.LOCK_NB), "free: the exclusive lock is taken");
            assertFalse(Flock.flock(a, Flock.LOCK_SH | Flock.LOCK_NB), "and keeps shared ones out");
        } finally {
            Fcntl.close(a);
            Fcntl.close(b);
            Fcntl.close(c);
        }
    }

    @Test
    void closingTheDescriptorDropsItsLock() throws IOException {
        String file = Files.writeString(dir.resolve("in-use.lock"), "").toString();
        int a = Fcntl.open(file, Fcntl.O_RDONLY), b = Fcntl.open(file, Fcntl.O_RDONLY);
        try {
            assertTrue(Flock.flock(a, Flock.LOCK_EX));
            Fcntl.close(a);
            assertTrue(Flock.flock(b, Flock.LOCK_EX | Flock.LOCK_NB));
        } finally {
            Fcntl.close(b);
        }
    }

    @Test
    void aBadDescriptorIsAnError() {
        assertThrows(ErrnoException.class, () -> Flock.flock(-1, Flock.LOCK_SH));
    }
}
