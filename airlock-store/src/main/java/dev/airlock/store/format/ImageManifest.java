package dev.airlock.store.format;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The small, rarely written description of an image ({@code image.meta}), replaced atomically
 * (write temp, fsync, rename, fsync directory).
 *
 * <pre>
 *  0 magic "AIRLIMG\0" | 8 version u32 | 12 bodyBytes u32 | 16 body ... | crc32c u32 of everything before it
 *  body: imageIdHi, imageIdLo, sizeBytes, createdMillis, sequenceFloor (u64 each), segmentSizeBytes u32,
 *        baseImage str, baseSnapshot str, baseSequence u64, snapshotCount u32,
 *        then per snapshot: name str, sequence u64, createdMillis u64      (str = u16 length + UTF-8)
 * </pre>
 */
public record ImageManifest(long imageIdHi, long imageIdLo, long sizeBytes, long createdMillis, long sequenceFloor,
        int segmentSizeBytes, String baseImage, String baseSnapshot, long baseSequence, List<Snapshot> snapshots) {

    public static final long MAGIC = 0x00474D494C524941L; // "AIRLIMG\0" read as little-endian
    public static final int FORMAT_VERSION = 1;
    public static final String FILE_NAME = "image.meta";

    /** A named point in the image's log: every record with sequence <= {@code sequence} belongs to it. */
    public record Snapshot(String name, long sequence, long createdMillis) {
    }

    public ImageManifest {
        snapshots = List.copyOf(snapshots);
        baseImage = baseImage == null ? "" : baseImage;
        baseSnapshot = baseSnapshot == null ? "" : baseSnapshot;
    }

    public boolean isClone() {
        return !baseImage.isEmpty();
    }

    public ImageManifest withSnapshots(List<Snapshot> newSnapshots, long newSequenceFloor) {
        return new ImageManifest(imageIdHi, imageIdLo, sizeBytes, createdMillis, newSequenceFloor, segmentSizeBytes,
                baseImage, baseSnapshot, baseSequence, newSnapshots);
    }

    public ByteBuffer encode() {
        ByteBuffer body = ByteBuffer.allocate(64 * 1024 + snapshots.size() * 1024).order(ByteOrder.LITTLE_ENDIAN);
        body.putLong(imageIdHi).putLong(imageIdLo).putLong(sizeBytes).putLong(createdMillis).putLong(sequenceFloor);
        body.putInt(segmentSizeBytes);
        putString(body, baseImage);
        putString(body, baseSnapshot);
        body.putLong(baseSequence);
        body.putInt(snapshots.size());
        for (Snapshot s : snapshots) {
            putString(body, s.name());
            body.putLong(s.sequence()).putLong(s.createdMillis());
        }
        body.flip();
        int bodyBytes = body.remaining();
        ByteBuffer out = ByteBuffer.allocate(16 + bodyBytes + 4).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(MAGIC).putInt(FORMAT_VERSION).putInt(bodyBytes).put(body);
        out.putInt(Crc32c.of(out, 0, 16 + bodyBytes));
        return out.flip();
    }

    /** Decodes a manifest; on any damage throws IllegalArgumentException naming the byte offset and problem. */
    public static ImageManifest decode(ByteBuffer in) {
        ByteBuffer b = in.slice().order(ByteOrder.LITTLE_ENDIAN);
        if (b.remaining() < 20 || b.getLong(0) != MAGIC) {
            throw new ManifestException(0, "bad image manifest magic");
        }
        if (b.getInt(8) != FORMAT_VERSION) {
            throw new ManifestException(8, "unsupported image manifest version " + b.getInt(8));
        }
        int bodyBytes = b.getInt(12);
        if (bodyBytes < 0 || 16L + bodyBytes + 4 != b.remaining()) {
            throw new ManifestException(12, "image manifest length " + bodyBytes + " does not match file size "
                    + b.remaining());
        }
        if (b.getInt(16 + bodyBytes) != Crc32c.of(b, 0, 16 + bodyBytes)) {
            throw new ManifestException(16 + bodyBytes, "image manifest checksum mismatch");
        }
        try {
            b.position(16);
            long idHi = b.getLong();
            long idLo = b.getLong();
            long sizeBytes = b.getLong();
            long createdMillis = b.getLong();
            long floor = b.getLong();
            int segmentSizeBytes = b.getInt();
            String baseImage = getString(b);
            String baseSnapshot = getString(b);
            long baseSequence = b.getLong();
            int count = b.getInt();
            List<Snapshot> snapshots = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                snapshots.add(new Snapshot(getString(b), b.getLong(), b.getLong()));
            }
            return new ImageManifest(idHi, idLo, sizeBytes, createdMillis, floor, segmentSizeBytes, baseImage,
                    baseSnapshot, baseSequence, snapshots);
        } catch (RuntimeException e) {
            // The checksum matched, so this is a writer bug rather than disk damage; still report it as corrupt.
            throw new ManifestException(b.position(), "image manifest body is malformed");
        }
    }

    private static void putString(ByteBuffer b, String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        b.putShort((short) bytes.length).put(bytes);
    }

    private static String getString(ByteBuffer b) {
        int length = Short.toUnsignedInt(b.getShort());
        byte[] bytes = new byte[length];
        b.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** A damaged manifest; the caller adds the file name. */
    public static final class ManifestException extends RuntimeException {
        private static final long serialVersionUID = 1L;
        public final long offsetBytes;

        ManifestException(long offsetBytes, String problem) {
            super(problem);
            this.offsetBytes = offsetBytes;
        }
    }
}
