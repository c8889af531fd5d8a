package dev.airlock.vmm.devices.uart;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.airlock.vmm.bus.IrqLine;
import dev.airlock.vmm.testing.Allocations;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class Uart16550Test {
    private static final int RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5,
            MSR = 6, SCR = 7;

    static final class Line implements IrqLine {
        volatile boolean level;
        int changes;

        @Override
        public synchronized void set(boolean level) {
            if (level != this.level) {
                changes++;
            }
            this.level = level;
        }
    }

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final Line irq = new Line();
    private final Uart16550 uart = new Uart16550(out, irq);

    private int read(int offset) {
        return (int) uart.read(offset, 1);
    }

    private void write(int offset, int value) {
        uart.write(offset, 1, value);
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void powerOnStateIsIdleWithTransmitterEmpty() {
        assertEquals(0x60, read(LSR), "THRE | TEMT, no data");
        assertEquals(0x01, read(IIR), "no interrupt, FIFOs off");
        assertEquals(0, read(IER));
        assertEquals(0, read(LCR));
        assertFalse(irq.level);
    }

    @Test
    void lsrDataReadyFollowsTheReceiveBuffer() {
        uart.receive(ascii("hi"));
        assertEquals(0x61, read(LSR));
        assertEquals('h', read(RBR));
        assertEquals(0x61, read(LSR));
        assertEquals('i', read(RBR));
        assertEquals(0x60, read(LSR));
        assertEquals(0, read(RBR), "an empty receiver reads 0");
    }

    @Test
    void dlabMapsOffsetsZeroAndOneToTheDivisor() {
        write(IER, 0x05);
        write(LCR, 0x83); // DLAB, 8N1
        write(DLL, 0x01);
        write(DLM, 0x02);
        assertEquals(0x01, read(DLL));
        assertEquals(0x02, read(DLM));
        write(LCR, 0x03);
        assertEquals(0x05, read(IER), "IER kept apart from DLM");
        write(THR, 'x');
        write(LCR, 0x83);
        assertEquals(0x01, read(DLL), "a THR write with DLAB clear did not touch DLL");
        uart.flush();
        assertEquals("x", out.toString(StandardCharsets.US_ASCII));
    }

    @Test
    void ierKeepsOnlyItsFourBitsAsLinuxProbesExpect() {
        write(IER, 0);
        assertEquals(0, read(IER));
        write(IER, 0x0F);
        assertEquals(0x0F, read(IER));
        write(IER, 0xFF);
        assertEquals(0x0F, read(IER), "UUE (0x40) must not stick, or Linux thinks this is an XScale UART");
    }

    @Test
    void scratchRegisterHoldsAnyByte() {
        write(SCR, 0xA5);
        assertEquals(0xA5, read(SCR));
        write(SCR, 0x5A);
        assertEquals(0x5A, read(SCR));
    }

    @Test
    void loopbackShowsModemOutputsAsInputsAndEchoesTransmittedBytes() {
        write(MCR, 0x10 | 0x0A); // LOOP | OUT2 | RTS: Linux's probe
        assertEquals(0x90, read(MSR) & 0xF0, "CTS | DCD");
        write(MCR, 0x10 | 0x05); // LOOP | OUT1 | DTR
        assertEquals(0x60, read(MSR) & 0xF0, "DSR | RI");
        write(THR, 'q');
        assertEquals(0x61, read(LSR));
        assertEquals('q', read(RBR));
        write(MCR, 0);
        assertEquals(0xB0, read(MSR), "without loopback a host console is connected and ready");
        uart.flush();
        assertEquals(0, out.size(), "looped-back bytes do not reach the host");
    }

    @Test
    void iirReportsFifosOnceEnabled() {
        write(FCR, 0x01);
        assertEquals(0xC1, read(IIR));
        assertEquals(3, read(IIR) >> 6, "Linux's autoconfig takes IIR>>6 == 3 as a 16550A");
        write(FCR, 0x00);
        assertEquals(0x01, read(IIR));
    }

    @Test
    void transmitIsBufferedUntilNewlineOrFlush() {
        for (byte b : ascii("hello")) {
            write(THR, b);
        }
        assertEquals(0, out.size(), "no newline yet");
        write(THR, '\n');
        assertEquals("hello\n", out.toString(StandardCharsets.US_ASCII));
        write(THR, '$');
        uart.flush();
        assertEquals("hello\n$", out.toString(StandardCharsets.US_ASCII));
        assertEquals(7, uart.transmittedBytes());
    }

    @Test
    void aFullTransmitBufferIsWrittenWithoutNewline() {
        for (int i = 0; i < 1000; i++) {
            write(THR, 'a');
        }
        assertTrue(out.size() >= 1000 - 256, "wrote " + out.size());
        uart.flush();
        assertEquals(1000, out.size());
    }

    @Test
    void aFailingSinkIsCountedAndDoesNotStopTheGuest() {
        Uart16550 u = new Uart16550(new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("closed");
            }
        }, IrqLine.NONE);
        u.write(THR, 1, 'a');
        u.write(THR, 1, '\n');
        assertEquals(1, u.sinkErrors());
        assertEquals(0x60, u.read(LSR, 1));
    }

    @Test
    void thrEmptyInterruptRisesOnEnableAndIsAcknowledgedByReadingIir() {
        write(IER, 0x02);
        assertTrue(irq.level, "THR is empty, so enabling THRI interrupts at once");
        assertEquals(0x02, read(IIR));
        assertFalse(irq.level, "reading IIR while it reports THRE acknowledges it");
        assertEquals(0x01, read(IIR));
        write(THR, 'a');
        assertTrue(irq.level, "the byte left at once, so THR is empty again");
        assertEquals(0x02, read(IIR));
        assertFalse(irq.level);
        write(IER, 0x02);
        assertFalse(irq.level, "rewriting IER with THRI already set is not a re-enable");
        write(IER, 0x00);
        write(IER, 0x02);
        assertTrue(irq.level, "re-enabling THRI raises it again");
        write(IER, 0x00);
        assertFalse(irq.level, "disabling THRI lowers the line");
    }

    @Test
    void linuxThreTestSeesAWorkingThreInterrupt() {
        // serial8250_do_startup: IER=THRI, read IIR, IER=0, IER=THRI, read IIR. Bit 0 clear both times, else UART_BUG_THRE.
        write(LCR, 0x03);
        write(IER, 0x02);
        int iir1 = read(IIR);
        write(IER, 0);
        write(IER, 0x02);
        int iir2 = read(IIR);
        write(IER, 0);
        assertEquals(0, iir1 & 1);
        assertEquals(0, iir2 & 1);
        assertFalse(irq.level);
    }

    @Test
    void receivedDataInterruptsUntilTheBufferIsDrained() {
        write(IER, 0x01);
        assertFalse(irq.level);
        uart.receive(ascii("ab"));
        assertTrue(irq.level);
        assertEquals(0x04, read(IIR));
        assertEquals('a', read(RBR));
        assertTrue(irq.level);
        assertEquals('b', read(RBR));
        assertFalse(irq.level);
        assertEquals(0x01, read(IIR));
    }

    @Test
    void fifoModeReportsTimeoutBelowTheTriggerLevel() {
        write(FCR, 0x81); // FIFO on, trigger 8 bytes
        write(IER, 0x01);
        uart.receive(ascii("abc"));
        assertEquals(0xCC, read(IIR), "character timeout below the trigger level");
        uart.receive(ascii("defgh"));
        assertEquals(0xC4, read(IIR), "received data available at 8 bytes");
        assertTrue(irq.level);
    }

    @Test
    void receivedDataOutranksThre() {
        write(IER, 0x03);
        uart.receive(ascii("z"));
        assertEquals(0x04, read(IIR));
        assertEquals('z', read(RBR));
        assertEquals(0x02, read(IIR), "THRE still pending below it");
        assertFalse(irq.level);
    }

    @Test
    void clearingTheReceiveFifoDropsAtMostSixteenBytes() {
        byte[] data = new byte[20];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) ('A' + i);
        }
        uart.receive(data);
        write(FCR, 0x01); // enabling the FIFO resets it
        assertEquals('A' + 16, read(RBR));
        write(FCR, 0x03); // clear receiver
        assertEquals(0x60, read(LSR));
    }

    @Test
    void inputBeyondTheBufferIsAnOverrun() {
        write(IER, 0x05);
        uart.receive(new byte[Uart16550.RX_BUFFER_BYTES + 3]);
        assertEquals(3, uart.droppedReceiveBytes());
        assertEquals(0x06, read(IIR), "receiver line status outranks received data");
        assertEquals(0x63, read(LSR), "OE | DR | THRE | TEMT");
        assertEquals(0x61, read(LSR), "OE clears on read");
        assertEquals(0x04, read(IIR));
    }

    @Test
    void offerTakesOnlyWhatFits() {
        byte[] data = new byte[Uart16550.RX_BUFFER_BYTES - 10];
        assertEquals(data.length, uart.offer(data, 0, data.length));
        assertEquals(10, uart.offer(new byte[50], 5, 40));
        assertEquals(0, uart.offer(new byte[1], 0, 1));
        assertEquals(0x61, read(LSR), "no overrun");
        assertEquals(0, uart.droppedReceiveBytes());
    }

    @Test
    void widerAccessesActOnTheByteAtTheirOffset() {
        uart.write(LCR, 4, 0x1234_5603L);
        assertEquals(0x03, uart.read(LCR, 4));
        assertEquals(0x03, uart.read(LCR, 8));
        assertEquals(0x60, uart.read(LSR, 2));
    }

    @Test
    void resetLowersTheLineAndForgetsInput() {
        write(IER, 0x01);
        uart.receive(ascii("x"));
        assertTrue(irq.level);
        uart.reset();
        assertFalse(irq.level);
        assertEquals(0x60, read(LSR));
        assertEquals(0, read(IER));
    }

    @Test
    void inputFromAHostThreadArrivesInOrder() throws InterruptedException {
        int total = 100_000;
        Thread host = new Thread(() -> {
            byte[] chunk = new byte[100];
            for (int sent = 0; sent < total; ) {
                for (int i = 0; i < chunk.length; i++) {
                    chunk[i] = (byte) (sent + i);
                }
                int off = 0;
                while (off < chunk.length) {
                    off += uart.offer(chunk, off, chunk.length - off);
                    Thread.yield();
                }
                sent += chunk.length;
            }
        });
        host.start();
        for (int got = 0; got < total; ) {
            if ((read(LSR) & 1) != 0) {
                assertEquals(got & 0xFF, read(RBR), "byte " + got);
                got++;
            } else {
                Thread.yield();
            }
        }
        host.join();
    }

    @Test
    void registerAccessesAllocateNothing() {
        Uart16550 u = new Uart16550(OutputStream.nullOutputStream(), IrqLine.NONE);
        long allocated = Allocations.bytesAllocatedBy(() -> {
            for (int i = 0; i < 100_000; i++) {
                u.write(IER, 1, i & 0x0F);
                u.write(THR, 1, i);
                u.read(LSR, 1);
                u.read(IIR, 1);
            }
        });
        assertTrue(allocated < 1024, "UART register accesses allocated " + allocated + " bytes");
    }

    @Test
    void registersAndUnreadInputSurviveASaveAndRestore() {
        write(LCR, 0x80);
        write(0, 0x0c); // divisor latch low
        write(LCR, 0x03);
        write(IER, 0x01);
        write(SCR, 0x5a);
        uart.receive(ascii("abc"));
        assertEquals('a', read(RBR));
        byte[] saved = uart.saveState();
        Uart16550 copy = new Uart16550(out, irq);
        copy.restoreState(java.nio.ByteBuffer.wrap(saved).order(java.nio.ByteOrder.LITTLE_ENDIAN));
        assertEquals(0x5a, (int) copy.read(SCR, 1));
        assertEquals(0x01, (int) copy.read(IER, 1));
        assertEquals('b', (int) copy.read(RBR, 1));
        assertEquals('c', (int) copy.read(RBR, 1));
        copy.write(LCR, 1, 0x83);
        assertEquals(0x0c, (int) copy.read(0, 1), "the divisor came back");
    }
}
