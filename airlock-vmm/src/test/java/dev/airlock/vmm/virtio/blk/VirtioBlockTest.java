package dev.airlock.vmm.virtio.blk;

import static dev.airlock.vmm.virtio.blk.BlockRequest.*;
import static dev.airlock.vmm.virtio.testing.RingWriter.Buf.in;
import static dev.airlock.vmm.virtio.testing.RingWriter.Buf.out;
import static org.junit.jupiter.api.Assertions.*;

import dev.airlock.memory.GuestMemory;
import dev.airlock.vmm.virtio.DeviceEventLoop;
import dev.airlock.vmm.virtio.Virtio;
import dev.airlock.vmm.virtio.VirtioMmio;
import dev.airlock.vmm.virtio.VirtioMmioTransport;
import dev.airlock.vmm.virtio.testing.FakeDriver;
import dev.airlock.vmm.virtio.testing.InMemoryBackend;
import dev.airlock.vmm.virtio.testing.RecordingIrq;
import dev.airlock.vmm.virtio.testing.RingWriter;
import dev.airlock.vmm.virtio.testing.TestRam;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** virtio-blk requests end to end through the transport, over an in-memory disk and a raw image file. */
class VirtioBlockTest {
    static final int DISK_BYTES = 64 << 10; // 128 sectors
    final GuestMemory ram = TestRam.create(1 << 20);
    final RecordingIrq irq = new RecordingIrq();
    InMemoryBackend disk = new InMemoryBackend(DISK_BYTES, false);
    VirtioMmioTransport transport;
    FakeDriver driver;
    RingWriter ring;
    long hdr, data, status;

    @AfterEach
    void close() {
        if (transport != null) transport.close();
        ram.close();
    }

    void start(InMemoryBackendOrFile backend, long features) {
        transport = new VirtioMmioTransport(backend.device(), ram, irq, DeviceEventLoop.inline());
        driver = new FakeDriver(transport, ram);
        assertNotEquals(0, driver.negotiate(features) & Virtio.STATUS_FEATURES_OK);
        ring = driver.setupQueue(0, 16);
        driver.driverOk();
        hdr = driver.alloc(16, 16);
        data = driver.alloc(8192, 4096);
        status = driver.alloc(1, 1);
    }

    void start() {
        start(() -> new VirtioBlock(disk, "serial-123"), allFeatures());
    }

    long allFeatures() {
        return new VirtioBlock(disk, "x").deviceFeatures() | Virtio.TRANSPORT_FEATURES;
    }

    interface InMemoryBackendOrFile {
        VirtioBlock device();
    }

    void header(int type, long sector) {
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putInt(type).putInt(0).putLong(sector);
        ram.write(hdr, b.array());
    }

    /** Submits a chain, runs it, and returns the used element; the status byte is primed to 0xff. */
    RingWriter.Used submit(RingWriter.Buf... bufs) {
        ram.write(status, new byte[] {(byte) 0xff});
        ring.addChain(bufs);
        driver.notifyQueue(0);
        RingWriter.Used used = ring.pollUsed();
        assertNotNull(used, "request not completed; " + transport.lastNeedsResetReason());
        return used;
    }

    int statusByte() {
        return ram.read(status, 1)[0] & 0xff;
    }

    @Test
    void configSpaceDescribesTheDisk() {
        start();
        assertEquals(DISK_BYTES / 512, transport.read(VirtioMmio.CONFIG + VirtioBlock.CONFIG_CAPACITY, 4));
        assertEquals(0, transport.read(VirtioMmio.CONFIG + VirtioBlock.CONFIG_CAPACITY + 4, 4));
        assertEquals(VirtioBlock.SEG_MAX, transport.read(VirtioMmio.CONFIG + VirtioBlock.CONFIG_SEG_MAX, 4));
        assertEquals(512, transport.read(VirtioMmio.CONFIG + VirtioBlock.CONFIG_BLK_SIZE, 4));
        long f = driver.deviceFeatures();
        assertEquals(0, f & VirtioBlock.F_RO);
        assertNotEquals(0, f & VirtioBlock.F_FLUSH);
        assertNotEquals(0, f & VirtioBlock.F_DISCARD);
        assertNotEquals(0, f & VirtioBlock.F_WRITE_ZEROES);
    }

    @Test
    void readsSectorsIntoScatteredBuffers() {
        for (int i = 0; i < DISK_BYTES; i++) disk.bytes[i] = (byte) (i * 7 + i / 512);
        start();
        header(T_IN, 3);
        RingWriter.Used u = submit(in(hdr, 16), out(data, 512), out(data + 4096, 1024), out(status, 1));
        assertEquals(S_OK, statusByte());
        assertEquals(1536 + 1, u.lengthBytes());
        assertArrayEquals(Arrays.copyOfRange(disk.bytes, 3 * 512, 4 * 512), ram.read(data, 512));
        assertArrayEquals(Arrays.copyOfRange(disk.bytes, 4 * 512, 6 * 512), ram.read(data + 4096, 1024));
        assertTrue(irq.level(), "the driver is interrupted for the used buffer");
    }

    @Test
    void aHeaderSplitAcrossBuffersAndStatusInsideTheLastDataBufferWork() {
        for (int i = 0; i < DISK_BYTES; i++) disk.bytes[i] = (byte) i;
        start();
        header(T_IN, 1);
        // Header in two pieces; data and status share the last writable buffer.
        RingWriter.Used u = submit(in(hdr, 5), in(hdr + 5, 11), out(data, 513));
        assertEquals(513, u.lengthBytes());
        assertEquals(S_OK, ram.read(data + 512, 1)[0]);
        assertArrayEquals(Arrays.copyOfRange(disk.bytes, 512, 1024), ram.read(data, 512));
    }

    @Test
    void writesReachTheDisk() {
        start();
        byte[] payload = new byte[1024];
        Arrays.fill(payload, (byte) 0x5a);
        ram.write(data, payload);
        header(T_OUT, 10);
        RingWriter.Used u = submit(in(hdr, 16), in(data, 512), in(data + 512, 512), out(status, 1));
        assertEquals(S_OK, statusByte());
        assertEquals(1, u.lengthBytes());
        assertArrayEquals(payload, Arrays.copyOfRange(disk.bytes, 10 * 512, 12 * 512));
    }

    @Test
    void readsAndWritesPastTheEndFailWithIoErr() {
        start();
        header(T_IN, DISK_BYTES / 512);
        submit(in(hdr, 16), out(data, 512), out(status, 1));
        assertEquals(S_IOERR, statusByte());
        header(T_OUT, DISK_BYTES / 512 - 1);
        submit(in(hdr, 16), in(data, 1024), out(status, 1));
        assertEquals(S_IOERR, statusByte());
        header(T_IN, -1L); // sector overflow
        submit(in(hdr, 16), out(data, 512), out(status, 1));
        assertEquals(S_IOERR, statusByte());
        assertEquals(0, disk.writes);
    }

    @Test
    void partialSectorsFailWithIoErr() {
        start();
        header(T_IN, 0);
        submit(in(hdr, 16), out(data, 100), out(status, 1));
        assertEquals(S_IOERR, statusByte());
    }

    @Test
    void aZeroSectorReadIsFine() {
        start();
        header(T_IN, DISK_BYTES / 512);
        submit(in(hdr, 16), out(status, 1));
        assertEquals(S_OK, statusByte());
    }

    @Test
    void flushFlushes() {
        start();
        header(T_FLUSH, 0);
        submit(in(hdr, 16), out(status, 1));
        assertEquals(S_OK, statusByte());
        assertEquals(1, disk.flushes);
    }

    @Test
    void getIdReturnsTheSerialPaddedToTwentyBytes() {
        start();
        header(T_GET_ID, 0);
        RingWriter.Used u = submit(in(hdr, 16), out(data, 20), out(status, 1));
        assertEquals(S_OK, statusByte());
        assertEquals(21, u.lengthBytes());
        byte[] expected = Arrays.copyOf("serial-123".getBytes(), 20);
        assertArrayEquals(expected, ram.read(data, 20));
    }

    @Test
    void writeZeroesZeroesAndDiscardIsAccepted() {
        Arrays.fill(disk.bytes, (byte) 1);
        start();
        ByteBuffer seg = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(4).putInt(2).putInt(0);
        ram.write(data, seg.array());
        header(T_WRITE_ZEROES, 0);
        submit(in(hdr, 16), in(data, 16), out(status, 1));
        assertEquals(S_OK, statusByte());
        assertArrayEquals(new byte[1024], Arrays.copyOfRange(disk.bytes, 4 * 512, 6 * 512));
        assertEquals(1, disk.bytes[4 * 512 - 1]);
        assertEquals(1, disk.bytes[6 * 512]);
        header(T_DISCARD, 0);
        submit(in(hdr, 16), in(data, 16), out(status, 1));
        assertEquals(S_OK, statusByte());
        assertEquals(1, disk.discards);
    }

    @Test
    void discardWithUnmapIsUnsupportedAndBadSegmentsAreErrors() {
        start();
        ram.write(data, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(0).putInt(1).putInt(1).array());
        header(T_DISCARD, 0);
        submit(in(hdr, 16), in(data, 16), out(status, 1));
        assertEquals(S_UNSUPP, statusByte());
        ram.write(data, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(DISK_BYTES / 512).putInt(1).putInt(0).array());
        header(T_WRITE_ZEROES, 0);
        submit(in(hdr, 16), in(data, 16), out(status, 1));
        assertEquals(S_IOERR, statusByte());
        header(T_WRITE_ZEROES, 0);
        submit(in(hdr, 16), in(data, 15), out(status, 1));
        assertEquals(S_IOERR, statusByte());
        assertEquals(0, disk.discards);
    }

    @Test
    void discardIsUnsupportedUnlessNegotiated() {
        start(() -> new VirtioBlock(disk, "s"), Virtio.F_VERSION_1);
        ram.write(data, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(0).putInt(1).putInt(0).array());
        header(T_DISCARD, 0);
        submit(in(hdr, 16), in(data, 16), out(status, 1));
        assertEquals(S_UNSUPP, statusByte());
    }

    @Test
    void unknownTypesAreUnsupported() {
        start();
        for (int type : new int[] {2, 3, T_GET_LIFETIME, T_SECURE_ERASE, 0x7fff_ffff, -1}) {
            header(type, 0);
            submit(in(hdr, 16), out(status, 1));
            assertEquals(S_UNSUPP, statusByte(), "type " + type);
        }
    }

    @Test
    void aShortHeaderIsAnIoErrorAndNoStatusByteFailsTheRequest() {
        start();
        header(T_IN, 0);
        submit(in(hdr, 8), out(status, 1));
        assertEquals(S_IOERR, statusByte());
        RingWriter.Used u = submit(in(hdr, 16));
        assertEquals(0, u.lengthBytes());
        assertEquals(0, transport.status() & Virtio.STATUS_DEVICE_NEEDS_RESET);
        assertEquals(2, ((VirtioBlock) transport.device()).failedRequests());
    }

    @Test
    void ioErrorsReachTheGuestAsIoErr() {
        start();
        disk.failNextIo = true;
        header(T_IN, 0);
        submit(in(hdr, 16), out(data, 512), out(status, 1));
        assertEquals(S_IOERR, statusByte());
        assertEquals(1, ((VirtioBlock) transport.device()).ioErrors());
    }

    @Test
    void aReadOnlyDiskOffersRoAndRefusesWrites() {
        disk = new InMemoryBackend(DISK_BYTES, true);
        start(() -> new VirtioBlock(disk, "ro"), new VirtioBlock(disk, "ro").deviceFeatures() | Virtio.F_VERSION_1);
        long f = driver.deviceFeatures();
        assertNotEquals(0, f & VirtioBlock.F_RO);
        assertEquals(0, f & (VirtioBlock.F_DISCARD | VirtioBlock.F_WRITE_ZEROES));
        header(T_OUT, 0);
        submit(in(hdr, 16), in(data, 512), out(status, 1));
        assertEquals(S_IOERR, statusByte());
        header(T_DISCARD, 0);
        submit(in(hdr, 16), in(data, 16), out(status, 1));
        assertEquals(S_UNSUPP, statusByte());
        header(T_IN, 0);
        submit(in(hdr, 16), out(data, 512), out(status, 1));
        assertEquals(S_OK, statusByte());
        header(T_FLUSH, 0);
        submit(in(hdr, 16), out(status, 1));
        assertEquals(S_OK, statusByte());
    }

    @Test
    void aRawImageFileIsReadAndWrittenInPlace(@TempDir Path dir) throws Exception {
        Path image = dir.resolve("disk.img");
        byte[] content = new byte[DISK_BYTES];
        for (int i = 0; i < content.length; i++) content[i] = (byte) (i % 251);
        Files.write(image, content);
        RawImageBackend backend = RawImageBackend.open(image, false);
        start(() -> new VirtioBlock(backend, "file"), allFeatures());
        header(T_IN, 2);
        submit(in(hdr, 16), out(data, 1024), out(status, 1));
        assertEquals(S_OK, statusByte());
        assertArrayEquals(Arrays.copyOfRange(content, 1024, 2048), ram.read(data, 1024));
        byte[] payload = new byte[512];
        Arrays.fill(payload, (byte) 0x77);
        ram.write(data, payload);
        header(T_OUT, 5);
        submit(in(hdr, 16), in(data, 512), out(status, 1));
        header(T_FLUSH, 0);
        submit(in(hdr, 16), out(status, 1));
        ram.write(data, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(7).putInt(1).putInt(0).array());
        header(T_WRITE_ZEROES, 0);
        submit(in(hdr, 16), in(data, 16), out(status, 1));
        assertEquals(S_OK, statusByte());
        transport.close();
        transport = null;
        byte[] after = Files.readAllBytes(image);
        assertArrayEquals(payload, Arrays.copyOfRange(after, 5 * 512, 6 * 512));
        assertArrayEquals(new byte[512], Arrays.copyOfRange(after, 7 * 512, 8 * 512));
        assertArrayEquals(Arrays.copyOfRange(content, 0, 5 * 512), Arrays.copyOfRange(after, 0, 5 * 512));
    }

    @Test
    void badImagesGetOneClearLine(@TempDir Path dir) throws Exception {
        var missing = assertThrows(java.io.IOException.class, () -> RawImageBackend.open(dir.resolve("nope.img"), false));
        assertTrue(missing.getMessage().contains("does not exist"), missing.getMessage());
        var directory = assertThrows(java.io.IOException.class, () -> RawImageBackend.open(dir, true));
        assertTrue(directory.getMessage().contains("is a directory"), directory.getMessage());
        Path tiny = Files.write(dir.resolve("tiny.img"), new byte[100]);
        var small = assertThrows(java.io.IOException.class, () -> RawImageBackend.open(tiny, true));
        assertTrue(small.getMessage().contains("less than one 512-byte sector"), small.getMessage());
    }

    @Test
    void aReadOnlyRawImageCannotBeWrittenEvenByMistake(@TempDir Path dir) throws Exception {
        Path image = dir.resolve("ro.img");
        Files.write(image, new byte[4096]);
        try (RawImageBackend backend = RawImageBackend.open(image, true)) {
            assertTrue(backend.readOnly());
            assertEquals(4096, backend.sizeBytes());
            assertThrows(java.nio.channels.NonWritableChannelException.class,
                    () -> backend.write(0, java.lang.foreign.MemorySegment.ofArray(new byte[512])));
        }
    }
}
