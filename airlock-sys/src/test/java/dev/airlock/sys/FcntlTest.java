package dev.airlock.sys;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FcntlTest {
    @TempDir Path dir;

    @Test
    void aPrivateMappingOfAReadOnlyDescriptorOutlivesItAndNeverWritesTheFile() throws IOException {
        int page = Mman.pageSizeBytes();
        byte[] content = new byte[2 * page];
        for (int i = 0; i < content.length; i++) content[i] = (byte) (i * 31 + 7);
        Path file = Files.write(dir.resolve("template.ram"), content);

        int fd = Fcntl.open(file.toString(), Fcntl.O_RDONLY);
        assertTrue(fd >= 0);
        MemorySegment m = Mman.mapFilePrivate(2L * page, fd, 0);
        Fcntl.close(fd);
        try {
            assertArrayEquals(content, m.toArray(ValueLayout.JAVA_BYTE));
            m.set(ValueLayout.JAVA_BYTE, page + 5, (byte) 0x55);
            assertEquals((byte) 0x55, m.get(ValueLayout.JAVA_BYTE, page + 5));
            assertArrayEquals(content, Files.readAllBytes(file), "copy-on-write never reaches the file");
        } finally {
            Mman.munmap(m);
        }
    }

    @Test
    void createsFilesWithTheGivenMode() throws IOException {
        Path file = dir.resolve("new");
        int fd = Fcntl.open(file.toString(), Fcntl.O_RDWR | Fcntl.O_CREAT | Fcntl.O_EXCL, 0640);
        Fcntl.close(fd);
        assertEquals("rw-r-----", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        ErrnoException e = assertThrows(ErrnoException.class,
                () -> Fcntl.open(file.toString(), Fcntl.O_RDWR | Fcntl.O_CREAT | Fcntl.O_EXCL, 0640));
        assertEquals(Errno.EEXIST, e.errno());
    }

    @Test
    void failuresNameTheCallTheFileAndTheErrno() {
        String missing = dir.resolve("no-such-template.ram").toString();
        ErrnoException e = assertThrows(ErrnoException.class, () -> Fcntl.open(missing, Fcntl.O_RDONLY));
        assertEquals(Errno.ENOENT, e.errno());
        assertEquals("open", e.syscall());
        assertEquals("open " + missing + " failed: ENOENT (errno 2)", e.getMessage());

        ErrnoException bad = assertThrows(ErrnoException.class, () -> Fcntl.close(-1));
        assertEquals(Errno.EBADF, bad.errno());
        assertEquals("close", bad.syscall());
    }
}
