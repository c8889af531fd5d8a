package dev.airlock.vmm.virtio.vsock;

import static dev.airlock.vmm.virtio.vsock.VsockHeader.*;
import static org.junit.jupiter.api.Assertions.*;

import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The vsock packet parser and connection state machine under random packets (scripts/fuzz.sh runs more). */
class VsockPacketFuzzTest extends VsockHostFixture {
    static final long SEED = Long.getLong("airlock.fuzz.seed", 1234);
    static final int CASES = Integer.getInteger("airlock.fuzz.cases", 3000);

    /** Random bytes as transmit packets never throw out of the device nor leave it unusable. */
    @Test
    void randomPacketsNeverBreakTheDevice() throws Exception {
        System.out.println("vsock fuzz: seed " + SEED + ", " + CASES + " packets");
        Path socket = start();
        Random random = new Random(SEED);
        for (int i = 0; i < CASES; i++) {
            byte[] raw = new byte[SIZE_BYTES + random.nextInt(64)];
            random.nextBytes(raw);
            VsockHeader h = new VsockHeader();
            h.decode(raw);
            // Half the packets look plausible, so they get past the CID check into the state machine.
            if (random.nextBoolean()) {
                h.srcCid = guest.device.guestCid();
                h.dstCid = VirtioVsock.HOST_CID;
                h.op = 1 + random.nextInt(7);
                h.type = random.nextInt(10) == 0 ? 2 : TYPE_STREAM;
                h.len = random.nextInt(4) == 0 ? random.nextInt() : raw.length - SIZE_BYTES;
                h.dstPort = random.nextInt(4);
                h.srcPort = random.nextInt(4);
                h.encode(raw);
            }
            guest.sendRaw(raw);
            while (guest.poll(0) != null) {
                // keep the receive queue from filling up
            }
        }
        assertEquals(0, guest.transport.needsResetEvents());
        assertEquals(0, guest.transport.status() & dev.airlock.vmm.virtio.Virtio.STATUS_DEVICE_NEEDS_RESET);
        while (guest.poll(100) != null) {
            // drain answers to the noise
        }
        // Still works afterwards.
        try (SocketChannel host = unix(socket)) {
            int hostPort = requestFromHost(host, 77).header().srcPort;
            guest.send(guest.header(OP_RESPONSE, 77, hostPort), new byte[0]);
            assertTrue(read(host, 3).startsWith("OK"));
        }
    }

}
