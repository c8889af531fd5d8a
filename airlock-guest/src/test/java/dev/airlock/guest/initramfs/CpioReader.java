package dev.airlock.guest.initramfs;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** A strict newc parser for tests: it reads concatenated archives as the kernel does. */
final class CpioReader {

    record Entry(String name, int inode, int mode, int nlink, long mtime, int rdevMajor, int rdevMinor, byte[] data,
                 int headerOffset) {
        int type() {
            return mode & 0170000;
        }

        int permissions() {
            return mode & 07777;
        }

        String text() {
            return new String(data, StandardCharsets.UTF_8);
        }
    }

    private CpioReader() {}

    /** All entries of all concatenated archives, trailers included; zero padding between is skipped. */
    static List<Entry> read(byte[] bytes) {
        var entries = new ArrayList<Entry>();
        int offset = 0;
        while (offset < bytes.length) {
            if (bytes[offset] == 0) { // the kernel skips zero padding between archives
                if ((offset & 3) != 0) {
                    throw new AssertionError("misaligned padding at offset " + offset);
                }
                offset += 4;
                continue;
            }
            if ((offset & 3) != 0) {
                throw new AssertionError("header not 4-byte aligned at offset " + offset);
            }
            String header = new String(bytes, offset, 110, StandardCharsets.US_ASCII);
            if (!header.startsWith("070701")) {
                throw new AssertionError("bad magic at offset " + offset + ": " + header.substring(0, 6));
            }
            long[] fields = new long[13];
            for (int i = 0; i < 13; i++) {
                fields[i] = Long.parseLong(header.substring(6 + 8 * i, 14 + 8 * i), 16);
            }
            int nameSize = (int) fields[11];
            int nameStart = offset + 110;
            if (bytes[nameStart + nameSize - 1] != 0) {
                throw new AssertionError("name not NUL-terminated at offset " + nameStart);
            }
            String name = new String(bytes, nameStart, nameSize - 1, StandardCharsets.UTF_8);
            int dataStart = align(nameStart + nameSize);
            int size = (int) fields[6];
            byte[] data = java.util.Arrays.copyOfRange(bytes, dataStart, dataStart + size);
            entries.add(new Entry(name, (int) fields[0], (int) fields[1], (int) fields[4], fields[5], (int) fields[9],
                    (int) fields[10], data, offset));
            offset = align(dataStart + size);
        }
        return entries;
    }

    private static int align(int offset) {
        return (offset + 3) & ~3;
    }
}
