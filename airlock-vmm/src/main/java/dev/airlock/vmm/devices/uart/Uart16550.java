package dev.airlock.vmm.devices.uart;

import dev.airlock.vmm.bus.BusDevice;
import dev.airlock.vmm.bus.IrqLine;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Objects;

/**
 * An NS16550A UART with byte-wide registers at consecutive offsets (no register shift), as the
 * device tree's {@code ns16550a} node with {@code clock-frequency = <3686400>} promises.
 *
 * <pre>
 *  offset  read               write              with LCR.DLAB = 1
 *  0       RBR receive        THR transmit       DLL divisor low
 *  1       IER                IER                DLM divisor high
 *  2       IIR                FCR
 *  3       LCR                LCR
 *  4       MCR                MCR
 *  5       LSR                (ignored)
 *  6       MSR                (ignored)
 *  7       SCR                SCR
 * </pre>
 *
 * <p>Transmission is instant: THR is always empty, so LSR always shows THRE and TEMT, and bytes go to
 * a buffer that is flushed to the host sink on newline, when full, or on {@link #flush()}. Received
 * bytes come from a host thread through {@link #receive(byte[])} into a bounded buffer; the guest sees
 * them through RBR and LSR.DR. Baud rate, word length and parity are stored but change nothing.
 *
 * <p>Thread-safe: harts access the registers while a host thread delivers input. The interrupt line
 * is driven under the device's lock so that level changes reach the controller in order.
 */
public final class Uart16550 implements BusDevice {
    /** The MMIO window the device tree gives the UART; registers beyond offset 7 read 0. */
    public static final long SIZE_BYTES = 0x100;
    /** The UART's input clock as the device tree advertises it (the divisor is not emulated). */
    public static final int CLOCK_FREQUENCY_HZ = 3_686_400;
    /** Host input held before the guest reads it; more is dropped and reported as overrun. */
    public static final int RX_BUFFER_BYTES = 4096;
    /** The 16550A's FIFO depth, which bounds what an FCR "clear receiver" discards. */
    public static final int FIFO_BYTES = 16;

    static final int RBR_THR_DLL = 0, IER_DLM = 1, IIR_FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7;

    static final int IER_RDI = 0x01, IER_THRI = 0x02, IER_RLSI = 0x04, IER_MSI = 0x08;
    static final int IIR_NO_INT = 0x01, IIR_THRI = 0x02, IIR_RDI = 0x04, IIR_RLSI = 0x06,
            IIR_RX_TIMEOUT = 0x0C, IIR_FIFO_ENABLED = 0xC0;
    static final int FCR_ENABLE_FIFO = 0x01, FCR_CLEAR_RCVR = 0x02;
    static final int LCR_DLAB = 0x80;
    static final int MCR_DTR = 0x01, MCR_RTS = 0x02, MCR_OUT1 = 0x04, MCR_OUT2 = 0x08, MCR_LOOP = 0x10;
    static final int LSR_DR = 0x01, LSR_OE = 0x02, LSR_THRE = 0x20, LSR_TEMT = 0x40;
    static final int MSR_CTS = 0x10, MSR_DSR = 0x20, MSR_RI = 0x40, MSR_DCD = 0x80;
    private static final int[] RX_TRIGGER_BYTES = {1, 4, 8, 14};

    private static final int TX_BUFFER_BYTES = 256;

    private final Object lock = new Object();
    private final OutputStream txSink;
    private final IrqLine irq;

    /** Made at the first byte received: thousands of idle clones never get console input. */
    private byte[] rx;
    private int rxHeadIndex;
    private int rxCount;
    private final byte[] tx = new byte[TX_BUFFER_BYTES];
    private int txCount;

    private int ier;
    private int lcr;
    private int mcr;
    private int scr;
    private int dll;
    private int dlm;
    private boolean fifoEnabled;
    private int rxTriggerBytes;
    /** The THRE interrupt source: set when THR empties or THRI is enabled, cleared by an IIR read that reports it. */
    private boolean thrEmptyInterrupt;
    private boolean overrun;
    private boolean irqLevel;

    private long txBytes;
    private long rxDroppedBytes;
    private long sinkErrors;

    /**
     * @param txSink where transmitted bytes go; written on the hart thread, so it should not block for long
     * @param irq the UART's interrupt wire
     */
    public Uart16550(OutputStream txSink, IrqLine irq) {
        this.txSink = Objects.requireNonNull(txSink, "txSink");
        this.irq = Objects.requireNonNull(irq, "irq");
        resetLocked();
    }

    @Override
    public long read(long offsetBytes, int sizeBytes) {
        if (offsetBytes < 0 || offsetBytes > SCR) {
            return 0;
        }
        synchronized (lock) {
            return switch ((int) offsetBytes) {
                case RBR_THR_DLL -> (lcr & LCR_DLAB) != 0 ? dll : popReceived();
                case IER_DLM -> (lcr & LCR_DLAB) != 0 ? dlm : ier;
                case IIR_FCR -> readIir();
                case LCR -> lcr;
                case MCR -> mcr;
                case LSR -> readLsr();
                case MSR -> modemStatus();
                default -> scr;
            };
        }
    }

    @Override
    public void write(long offsetBytes, int sizeBytes, long value) {
        if (offsetBytes < 0 || offsetBytes > SCR) {
            return;
        }
        int v = (int) value & 0xFF;
        synchronized (lock) {
            switch ((int) offsetBytes) {
                case RBR_THR_DLL -> {
                    if ((lcr & LCR_DLAB) != 0) {
                        dll = v;
                    } else {
                        transmit(v);
                    }
                }
                case IER_DLM -> {
                    if ((lcr & LCR_DLAB) != 0) {
                        dlm = v;
                    } else {
                        writeIer(v);
                    }
                }
                case IIR_FCR -> writeFcr(v);
                case LCR -> lcr = v;
                case MCR -> mcr = v & 0x1F;
                case SCR -> scr = v;
                default -> {} // LSR and MSR are read-only
            }
            updateIrq();
        }
    }

    @Override
    public void reset() {
        synchronized (lock) {
            flushLocked();
            resetLocked();
            // Force the wire low even if we believe it already is: the controller may have been reset apart.
            irq.set(false);
        }
    }

    /**
     * Delivers host input. Bytes that do not fit in the receive buffer are dropped and the guest sees
     * an overrun (LSR.OE), as on a real line; use {@link #offer} to apply back-pressure instead.
     */
    public void receive(byte[] data) {
        synchronized (lock) {
            for (byte b : data) {
                if (!enqueueReceived(b)) {
                    rxDroppedBytes++;
                    overrun = true;
                }
            }
            updateIrq();
        }
    }

    /** Delivers as much of the host input as fits, without overrun, and returns how many bytes were taken. */
    public int offer(byte[] data, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, data.length);
        synchronized (lock) {
            int taken = Math.min(length, RX_BUFFER_BYTES - rxCount);
            for (int i = 0; i < taken; i++) {
                enqueueReceived(data[offset + i]);
            }
            updateIrq();
            return taken;
        }
    }

    /** Writes buffered transmit bytes to the sink now. */
    public void flush() {
        synchronized (lock) {
            flushLocked();
        }
    }

    public long transmittedBytes() {
        synchronized (lock) {
            return txBytes;
        }
    }

    public long droppedReceiveBytes() {
        synchronized (lock) {
            return rxDroppedBytes;
        }
    }

    /** Failed writes to the host sink; their bytes are lost, the guest is not told. */
    public long sinkErrors() {
        synchronized (lock) {
            return sinkErrors;
        }
    }

    /** Registers and received-but-unread bytes, for a snapshot; pending output is flushed to the sink first. */
    public byte[] saveState() {
        synchronized (lock) {
            flushLocked();
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(48 + rxCount).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            b.putInt(ier).putInt(lcr).putInt(mcr).putInt(scr).putInt(dll).putInt(dlm).putInt(rxTriggerBytes);
            b.put((byte) (fifoEnabled ? 1 : 0)).put((byte) (thrEmptyInterrupt ? 1 : 0)).put((byte) (overrun ? 1 : 0)).put((byte) 0);
            b.putInt(rxCount);
            for (int i = 0; i < rxCount; i++) b.put(rx[(rxHeadIndex + i) % RX_BUFFER_BYTES]);
            return java.util.Arrays.copyOf(b.array(), b.position());
        }
    }

    /** Puts back what {@link #saveState} saved, and the interrupt line with it. */
    public void restoreState(java.nio.ByteBuffer b) {
        synchronized (lock) {
            resetLocked();
            ier = b.getInt() & 0x0f;
            lcr = b.getInt() & 0xff;
            mcr = b.getInt() & 0x1f;
            scr = b.getInt() & 0xff;
            dll = b.getInt() & 0xff;
            dlm = b.getInt() & 0xff;
            int trigger = b.getInt();
            rxTriggerBytes = trigger == 1 || trigger == 4 || trigger == 8 || trigger == 14 ? trigger : 1; // RX_TRIGGER_BYTES
            fifoEnabled = b.get() != 0;
            thrEmptyInterrupt = b.get() != 0;
            overrun = b.get() != 0;
            b.get();
            int n = b.getInt();
            if (n < 0 || n > RX_BUFFER_BYTES) throw new IllegalArgumentException("UART state holds " + n + " received bytes; the FIFO has " + RX_BUFFER_BYTES);
            if (n > 0 && rx == null) rx = new byte[RX_BUFFER_BYTES];
            for (int i = 0; i < n; i++) rx[i] = b.get();
            rxCount = n;
            updateIrq();
        }
    }

    // ---- under lock ----

    private void resetLocked() {
        rxHeadIndex = 0;
        rxCount = 0;
        txCount = 0;
        ier = 0;
        lcr = 0;
        mcr = 0;
        scr = 0;
        dll = 0;
        dlm = 0;
        fifoEnabled = false;
        rxTriggerBytes = 1;
        thrEmptyInterrupt = false;
        overrun = false;
        irqLevel = false;
    }

    private int popReceived() {
        if (rxCount == 0) {
            return 0;
        }
        int b = rx[rxHeadIndex] & 0xFF;
        rxHeadIndex = (rxHeadIndex + 1) % RX_BUFFER_BYTES;
        rxCount--;
        updateIrq();
        return b;
    }

    private boolean enqueueReceived(byte b) {
        if (rxCount == RX_BUFFER_BYTES) {
            return false;
        }
        if (rx == null) rx = new byte[RX_BUFFER_BYTES];
        rx[(rxHeadIndex + rxCount) % RX_BUFFER_BYTES] = b;
        rxCount++;
        return true;
    }

    private void dropFifo() {
        int n = Math.min(rxCount, FIFO_BYTES);
        rxHeadIndex = (rxHeadIndex + n) % RX_BUFFER_BYTES;
        rxCount -= n;
    }

    private void transmit(int b) {
        if ((mcr & MCR_LOOP) != 0) {
            if (!enqueueReceived((byte) b)) {
                overrun = true;
            }
        } else {
            tx[txCount++] = (byte) b;
            txBytes++;
            if (b == '\n' || txCount == TX_BUFFER_BYTES) {
                flushLocked();
            }
        }
        // THR empties at once, which is what raises the THRE interrupt again after a write.
        thrEmptyInterrupt = true;
    }

    private void flushLocked() {
        if (txCount == 0) {
            return;
        }
        try {
            txSink.write(tx, 0, txCount);
            txSink.flush();
        } catch (IOException e) {
            sinkErrors++; // the console is best-effort; the guest must not stall on the host's output
        }
        txCount = 0;
    }

    private void writeIer(int v) {
        int old = ier;
        // Only the four standard bits exist; Linux's probe checks that the upper ones read back 0.
        ier = v & 0x0F;
        if ((ier & IER_THRI) != 0 && (old & IER_THRI) == 0) {
            thrEmptyInterrupt = true; // THR is empty, so enabling THRI raises it at once
        }
    }

    private void writeFcr(int v) {
        boolean enable = (v & FCR_ENABLE_FIFO) != 0;
        if (enable != fifoEnabled) {
            dropFifo(); // switching FIFO mode resets the FIFOs
        }
        fifoEnabled = enable;
        if (enable) {
            // The other FCR bits are only programmed together with the enable bit.
            if ((v & FCR_CLEAR_RCVR) != 0) {
                dropFifo();
            }
            rxTriggerBytes = RX_TRIGGER_BYTES[v >>> 6];
        }
    }

    /** The highest-priority pending interrupt, without the FIFO bits. */
    private int pendingInterrupt() {
        if ((ier & IER_RLSI) != 0 && overrun) {
            return IIR_RLSI;
        }
        if ((ier & IER_RDI) != 0 && rxCount > 0) {
            // Below the trigger level the real chip reports a timeout after 4 character times; report it at once.
            return !fifoEnabled || rxCount >= rxTriggerBytes ? IIR_RDI : IIR_RX_TIMEOUT;
        }
        if ((ier & IER_THRI) != 0 && thrEmptyInterrupt) {
            return IIR_THRI;
        }
        return IIR_NO_INT;
    }

    private int readIir() {
        int iir = pendingInterrupt();
        if (iir == IIR_THRI) {
            thrEmptyInterrupt = false; // reading IIR acknowledges THRE until the next THR write or THRI enable
            updateIrq();
        }
        return iir | (fifoEnabled ? IIR_FIFO_ENABLED : 0);
    }

    private int readLsr() {
        int lsr = LSR_THRE | LSR_TEMT | (rxCount > 0 ? LSR_DR : 0) | (overrun ? LSR_OE : 0);
        overrun = false; // error bits clear on read
        updateIrq();
        return lsr;
    }

    private int modemStatus() {
        if ((mcr & MCR_LOOP) != 0) {
            // Loopback wires the modem outputs to the inputs; Linux's probe expects CTS|DCD after writing RTS|OUT2.
            return ((mcr & MCR_RTS) != 0 ? MSR_CTS : 0)
                    | ((mcr & MCR_DTR) != 0 ? MSR_DSR : 0)
                    | ((mcr & MCR_OUT1) != 0 ? MSR_RI : 0)
                    | ((mcr & MCR_OUT2) != 0 ? MSR_DCD : 0);
        }
        return MSR_DCD | MSR_DSR | MSR_CTS; // a host console is always connected and ready
    }

    private void updateIrq() {
        boolean level = pendingInterrupt() != IIR_NO_INT;
        if (level != irqLevel) {
            irqLevel = level;
            irq.set(level);
        }
    }
}
