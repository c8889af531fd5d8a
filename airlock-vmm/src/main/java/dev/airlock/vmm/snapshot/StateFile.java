package dev.airlock.vmm.snapshot;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * A VM's saved state (harts, interrupt controllers, devices) as one file of framed sections:
 *
 * <pre>
 * header   "AIRLKSTA" | u16 major | u16 minor | u32 section count | u32 CRC32C of the header before it
 * section  4-byte ASCII tag | u32 instance | u32 payload bytes | payload | u32 CRC32C of tag..payload
 * footer   "END!" | u32 CRC32C of every section's CRC, in order
 * </pre>
 *
 * Little-endian. Sections are small (registers, not memory: guest RAM goes to a {@link MemoryFile}),
 * so a whole file is read and checked before any of it is used, and any damage is reported with
 * the file and offset. A reader accepts every minor version of its major version and skips tags it
 * does not know; a new major is refused.
 */
public final class StateFile {
    public static final int MAJOR = 1;
    public static final int MINOR = 0;
    static final byte[] MAGIC = "AIRLKSTA".getBytes(StandardCharsets.US_ASCII);
    static final byte[] END = "END!".getBytes(StandardCharsets.US_ASCII);
    static final int HEADER_BYTES = 8 + 2 + 2 + 4 + 4;
    /** No section of registers comes near this; a larger length is damage, not data. */
    static final int MAX_SECTION_BYTES = 64 << 20;

    /** One section: what it holds ({@code tag}, e.g. "HART"), which one ({@code instance}, e.g. the hart id), its bytes. */
    public record Section(String tag, int instance, byte[] payload) {
        public Section {
            if (tag.length() != 4 || !StandardCharsets.US_ASCII.newEncoder().canEncode(tag)) {
                throw new IllegalArgumentException("a section tag is 4 ASCII characters, not '" + tag + "'");
            }
        }

        /** The payload as a little-endian buffer to read fields from. */
        public ByteBuffer buffer() {
            return ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN);
        }
    }

    private StateFile() {}

    /** Writes {@code sections} to {@code file} atomically: a temporary file, fsync, rename. */
    public static void write(Path file, List<Section> sections) throws IOException {
        int size = HEADER_BYTES + 8;
        for (Section s : sections) size += 12 + s.payload().length + 4;
        ByteBuffer out = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        out.put(MAGIC).putShort((short) MAJOR).putShort((short) MINOR).putInt(sections.size());
        out.putInt(crc(out.array(), 0, out.position()));
        CRC32C all = new CRC32C();
        for (Section s : sections) {
            int start = out.position();
            out.put(s.tag().getBytes(StandardCharsets.US_ASCII)).putInt(s.instance()).putInt(s.payload().length).put(s.payload());
            int c = crc(out.array(), start, out.position() - start);
            out.putInt(c);
            all.update(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, c));
        }
        out.put(END).putInt((int) all.getValue());
        Path temp = file.resolveSibling(file.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            out.flip();
            while (out.hasRemaining()) ch.write(out);
            ch.force(true);
        }
        Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** Reads and checks the whole file; throws {@link SnapshotFormatException} naming the offset of any damage. */
    public static List<Section> read(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < HEADER_BYTES) throw new SnapshotFormatException(file, 0, "too short for a state file header (" + bytes.length + " bytes)");
        byte[] magic = new byte[8];
        in.get(magic);
        if (!java.util.Arrays.equals(magic, MAGIC)) throw new SnapshotFormatException(file, 0, "not an Airlock state file");
        int major = in.getShort() & 0xffff, minor = in.getShort() & 0xffff;
        int count = in.getInt();
        int headerCrc = in.getInt();
        if (crc(bytes, 0, HEADER_BYTES - 4) != headerCrc) throw new SnapshotFormatException(file, HEADER_BYTES - 4, "header checksum mismatch");
        if (major != MAJOR) {
            throw new SnapshotFormatException(file, 8, "format version " + major + "." + minor + " is not readable by this Airlock (reads "
                    + MAJOR + ".x)");
        }
        if (count < 0 || count > 1 << 20) throw new SnapshotFormatException(file, 12, "implausible section count " + count);
        List<Section> sections = new ArrayList<>(Math.min(count, 1024));
        CRC32C all = new CRC32C();
        for (int i = 0; i < count; i++) {
            int start = in.position();
            if (in.remaining() < 12) throw new SnapshotFormatException(file, start, "truncated in section " + i + " of " + count);
            byte[] tag = new byte[4];
            in.get(tag);
            int instance = in.getInt();
            int length = in.getInt();
            if (length < 0 || length > MAX_SECTION_BYTES || length > in.remaining() - 4) {
                throw new SnapshotFormatException(file, start + 8, "section " + i + " claims " + Integer.toUnsignedString(length)
                        + " bytes; " + Math.max(0, in.remaining() - 4) + " remain");
            }
            byte[] payload = new byte[length];
            in.get(payload);
            int stored = in.getInt();
            int actual = crc(bytes, start, 12 + length);
            if (stored != actual) throw new SnapshotFormatException(file, start, "section " + i + " checksum mismatch");
            all.update(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, stored));
            String tagText = new String(tag, StandardCharsets.US_ASCII);
            try {
                sections.add(new Section(tagText, instance, payload));
            } catch (IllegalArgumentException e) {
                throw new SnapshotFormatException(file, start, "section " + i + " has a malformed tag");
            }
        }
        int footer = in.position();
        if (in.remaining() < 8) throw new SnapshotFormatException(file, footer, "truncated: no end marker after " + count + " sections");
        byte[] end = new byte[4];
        in.get(end);
        if (!java.util.Arrays.equals(end, END) || in.getInt() != (int) all.getValue()) {
            throw new SnapshotFormatException(file, footer, "end marker damaged");
        }
        if (in.hasRemaining()) throw new SnapshotFormatException(file, in.position(), in.remaining() + " bytes after the end marker");
        return sections;
    }

    private static int crc(byte[] b, int off, int len) {
        CRC32C c = new CRC32C();
        c.update(b, off, len);
        return (int) c.getValue();
    }
}
