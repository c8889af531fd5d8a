package dev.airlock.vmm.virtio.blk;

import dev.airlock.vmm.virtio.queue.DescriptorChain;

/**
 * One virtio-blk request as laid out in a descriptor chain (virtio 1.x spec 5.2.6), parsed but not
 * executed. A flyweight: the device parses every chain into the same instance.
 *
 * <pre>
 * device-readable:  le32 type | le32 reserved | le64 sector | data (OUT; DISCARD/WRITE_ZEROES segments)
 * device-writable:  data (IN, GET_ID) | u8 status
 * </pre>
 *
 * The header and data may be split across buffers anywhere, so positions are offsets into the
 * chain's readable or writable region. The status byte is the last writable byte.
 */
public final class BlockRequest {
    public static final int HEADER_SIZE_BYTES = 16;
    public static final int SECTOR_SIZE_BYTES = 512;
    /** struct virtio_blk_discard_write_zeroes: le64 sector, le32 num_sectors, le32 flags. */
    public static final int SEGMENT_SIZE_BYTES = 16;
    public static final int ID_SIZE_BYTES = 20;

    public static final int T_IN = 0;
    public static final int T_OUT = 1;
    public static final int T_FLUSH = 4;
    public static final int T_GET_ID = 8;
    public static final int T_GET_LIFETIME = 10;
    public static final int T_DISCARD = 11;
    public static final int T_WRITE_ZEROES = 13;
    public static final int T_SECURE_ERASE = 14;

    public static final int S_OK = 0;
    public static final int S_IOERR = 1;
    public static final int S_UNSUPP = 2;

    /** The chain cannot be answered at all: no room for a status byte, or no header. */
    public static final int UNANSWERABLE = -1;

    private final byte[] header = new byte[HEADER_SIZE_BYTES];

    private int type;
    private long sector;
    private long statusOffset;
    private long dataOffset;
    private long dataLengthBytes;
    private boolean dataWritable;
    private String problem;

    /** The request type field. */
    public int type() { return type; }

    /** The first sector of IN and OUT requests. */
    public long sector() { return sector; }

    /** Offset of the status byte in the writable region. */
    public long statusOffset() { return statusOffset; }

    /** Where the data lies: in the writable region (IN, GET_ID) or the readable one (OUT, segments). */
    public boolean dataWritable() { return dataWritable; }

    public long dataOffset() { return dataOffset; }

    public long dataLengthBytes() { return dataLengthBytes; }

    /** Why the last parse failed, for counters and logs; null when it succeeded. */
    public String problem() { return problem; }

    /**
     * Parses {@code chain} against a disk of {@code capacitySectors}.
     *
     * @return -2 when the request is well-formed and should be executed; otherwise the status to
     *         report without executing it ({@link #S_IOERR}, {@link #S_UNSUPP}), or
     *         {@link #UNANSWERABLE} when there is nowhere to put a status
     */
    public int parse(DescriptorChain chain, long capacitySectors) {
        problem = null;
        type = -1;
        sector = 0;
        dataOffset = dataLengthBytes = 0;
        dataWritable = false;
        long writable = chain.writableBytes();
        if (writable < 1) return fail(UNANSWERABLE, "no device-writable byte for the status");
        statusOffset = writable - 1;
        if (chain.read(0, header, 0, HEADER_SIZE_BYTES) < HEADER_SIZE_BYTES) {
            return fail(S_IOERR, "request header shorter than 16 bytes");
        }
        type = leInt(header, 0);
        sector = leLong(header, 8);
        long readableData = chain.readableBytes() - HEADER_SIZE_BYTES;
        long writableData = writable - 1;
        switch (type) {
            case T_IN -> {
                dataWritable = true;
                dataOffset = 0;
                dataLengthBytes = writableData;
                return checkSectors(capacitySectors);
            }
            case T_OUT -> {
                dataOffset = HEADER_SIZE_BYTES;
                dataLengthBytes = readableData;
                return checkSectors(capacitySectors);
            }
            case T_FLUSH -> {
                return -2;
            }
            case T_GET_ID -> {
                dataWritable = true;
                dataLengthBytes = Math.min(writableData, ID_SIZE_BYTES);
                return -2;
            }
            case T_DISCARD, T_WRITE_ZEROES -> {
                dataOffset = HEADER_SIZE_BYTES;
                dataLengthBytes = readableData;
                if (readableData == 0 || readableData % SEGMENT_SIZE_BYTES != 0) {
                    return fail(S_IOERR, "discard/write-zeroes data of " + readableData + " bytes is not whole segments");
                }
                return -2;
            }
            default -> {
                return fail(S_UNSUPP, "unsupported request type " + Integer.toUnsignedString(type));
            }
        }
    }

    private int checkSectors(long capacitySectors) {
        if (dataLengthBytes % SECTOR_SIZE_BYTES != 0) {
            return fail(S_IOERR, "data length " + dataLengthBytes + " is not a whole number of sectors");
        }
        if (!rangeInside(sector, dataLengthBytes / SECTOR_SIZE_BYTES, capacitySectors)) {
            return fail(S_IOERR, "sectors " + Long.toUnsignedString(sector) + "+" + dataLengthBytes / SECTOR_SIZE_BYTES
                    + " run past the disk's " + capacitySectors);
        }
        return -2;
    }

    /** Whether {@code [sector, sector + count)} lies inside a disk of {@code capacitySectors}, without overflow. */
    static boolean rangeInside(long sector, long count, long capacitySectors) {
        return Long.compareUnsigned(sector, capacitySectors) <= 0 && Long.compareUnsigned(count, capacitySectors - sector) <= 0;
    }

    private int fail(int status, String why) {
        problem = why;
        return status;
    }

    static int leInt(byte[] b, int at) {
        return (b[at] & 0xff) | (b[at + 1] & 0xff) << 8 | (b[at + 2] & 0xff) << 16 | (b[at + 3] & 0xff) << 24;
    }

    static long leLong(byte[] b, int at) {
        return Integer.toUnsignedLong(leInt(b, at)) | (long) leInt(b, at + 4) << 32;
    }
}
