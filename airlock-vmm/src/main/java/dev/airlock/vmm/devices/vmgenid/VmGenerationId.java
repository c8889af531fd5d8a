package dev.airlock.vmm.devices.vmgenid;

import dev.airlock.vmm.bus.BusDevice;
import dev.airlock.vmm.bus.IrqLine;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * The Virtual Machine Generation ID ({@code "microsoft,vmgenid"}): a random 128-bit identifier that
 * the host changes whenever the VM may have been duplicated, for instance in each clone restored from
 * one template snapshot. Linux mixes it into its RNG at probe and, on each notification that it
 * changed, reseeds, so clones do not share the template's random stream.
 *
 * <pre>
 *  offset  0..15   the generation ID, byte i at offset i; read-only, any size and alignment
 *                  (bytes past 15 read 0); writes are ignored
 * </pre>
 *
 * <p>Debian's 6.12 kernel maps the window with ioremap and copies it as four aligned 32-bit loads,
 * once at probe and once in each interrupt.
 *
 * <p>The interrupt: Linux's driver acknowledges nothing on the device; its handler only copies the 16
 * bytes. This machine's PLIC is level-triggered, so a pulse could be lost before the hart claims it.
 * The line therefore goes high when the ID changes and low at the guest's next read of the window,
 * which the handler makes before it completes the interrupt. A change during the handler raises the
 * line again, so no generation goes unnoticed.
 *
 * <p>Thread-safe: harts read while a host thread starts a new generation; the line is driven under the
 * device's lock so that level changes reach the controller in order.
 */
public final class VmGenerationId implements BusDevice {
    /** The window the device tree describes: the ID and nothing else. */
    public static final long SIZE_BYTES = 16;
    /** Length of {@link #saveState}: the ID, then a byte with bit 0 set while a notification is pending. */
    public static final int STATE_BYTES = 17;

    private final Object lock = new Object();
    private final RandomGenerator random;
    private final IrqLine irq;

    /** Bytes 0..7 and 8..15 of the ID, little-endian, so a read is shifts and no array. */
    private long idLow;
    private long idHigh;
    /** The ID changed and the guest has not read the window since: the line is high. */
    private boolean notifying;

    /**
     * @param random the source of the first ID and of each {@link #newGeneration()}; a
     *     {@link java.security.SecureRandom} in a real VM, a seeded generator in tests
     * @param irq the device's interrupt wire
     */
    public VmGenerationId(RandomGenerator random, IrqLine irq) {
        this.random = Objects.requireNonNull(random, "random");
        this.irq = Objects.requireNonNull(irq, "irq");
        long[] id = randomId();
        idLow = id[0];
        idHigh = id[1];
    }

    /**
     * A fresh ID as {@code {low, high}}: 16 bytes in one call, since each call to a
     * {@link java.security.SecureRandom} costs about as much as the bytes (two nextLong() calls were
     * four of them, eight per clone with the constructor's).
     */
    private long[] randomId() {
        byte[] bytes = new byte[(int) SIZE_BYTES];
        random.nextBytes(bytes);
        ByteBuffer le = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        return new long[] {le.getLong(), le.getLong()};
    }

    @Override
    public long read(long offsetBytes, int sizeBytes) {
        synchronized (lock) {
            if (notifying) {
                notifying = false;
                irq.set(false);
            }
            long value = 0;
            for (int i = 0; i < sizeBytes && i < 8; i++) {
                value |= (idByte(offsetBytes + i) & 0xFFL) << (8 * i);
            }
            return value;
        }
    }

    @Override
    public void write(long offsetBytes, int sizeBytes, long value) {
        // Read-only: the guest cannot choose its own generation.
    }

    /** Keeps the ID (a reset is the same machine, not a copy) and drops a pending notification. */
    @Override
    public void reset() {
        synchronized (lock) {
            notifying = false;
            // Force the wire low even if it already is: the controller may have been reset apart.
            irq.set(false);
        }
    }

    /** Starts a new generation with a fresh random ID and notifies the guest. */
    public void newGeneration() {
        long[] id = randomId();
        synchronized (lock) {
            change(id[0], id[1]);
        }
    }

    /**
     * Starts a new generation with {@code id16} as its ID and notifies the guest; an ID equal to the
     * current one changes nothing, as the guest would ignore it.
     */
    public void newGeneration(byte[] id16) {
        if (id16.length != SIZE_BYTES) {
            throw new IllegalArgumentException("a VM generation ID is 16 bytes, got " + id16.length);
        }
        ByteBuffer b = ByteBuffer.wrap(id16).order(ByteOrder.LITTLE_ENDIAN);
        long low = b.getLong();
        long high = b.getLong();
        synchronized (lock) {
            change(low, high);
        }
    }

    /** The current ID, byte i as the guest reads it at offset i. */
    public byte[] generationId() {
        synchronized (lock) {
            return ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(idLow).putLong(idHigh).array();
        }
    }

    /** The ID and whether the guest has yet to read it after a change, for a snapshot. */
    public byte[] saveState() {
        synchronized (lock) {
            return ByteBuffer.allocate(STATE_BYTES).order(ByteOrder.LITTLE_ENDIAN)
                    .putLong(idLow).putLong(idHigh).put((byte) (notifying ? 1 : 0)).array();
        }
    }

    /**
     * Puts back what {@link #saveState} saved, and the interrupt line with it. A clone restored from a
     * template then calls {@link #newGeneration()} so it does not keep the template's ID.
     */
    public void restoreState(ByteBuffer b) {
        byte[] id = new byte[16];
        b.get(id); // as bytes, so the caller's buffer order does not matter
        int flags = b.get() & 0xFF;
        ByteBuffer le = ByteBuffer.wrap(id).order(ByteOrder.LITTLE_ENDIAN);
        long low = le.getLong();
        long high = le.getLong();
        if ((flags & ~1) != 0) {
            throw new IllegalArgumentException("VM generation ID state has unknown flags 0x" + Integer.toHexString(flags));
        }
        synchronized (lock) {
            idLow = low;
            idHigh = high;
            notifying = flags != 0;
            irq.set(notifying);
        }
    }

    // ---- under lock ----

    private void change(long low, long high) {
        if (low == idLow && high == idHigh) {
            return;
        }
        idLow = low;
        idHigh = high;
        if (!notifying) {
            notifying = true;
            irq.set(true);
        }
    }

    private int idByte(long offsetBytes) {
        if (offsetBytes < 0 || offsetBytes >= SIZE_BYTES) {
            return 0;
        }
        long word = offsetBytes < 8 ? idLow : idHigh;
        return (int) (word >>> (8 * (offsetBytes & 7)));
    }
}
