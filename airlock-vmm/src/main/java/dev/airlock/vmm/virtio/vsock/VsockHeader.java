package dev.airlock.vmm.virtio.vsock;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * The 44-byte little-endian header in front of every virtio-vsock packet (virtio 1.x spec 5.10.6),
 * as a mutable holder that is decoded from and encoded into a byte array.
 */
final class VsockHeader {
    static final int SIZE_BYTES = 44;

    static final int TYPE_STREAM = 1;

    static final int OP_REQUEST = 1;
    static final int OP_RESPONSE = 2;
    static final int OP_RST = 3;
    static final int OP_SHUTDOWN = 4;
    static final int OP_RW = 5;
    static final int OP_CREDIT_UPDATE = 6;
    static final int OP_CREDIT_REQUEST = 7;

    /** SHUTDOWN flags: the sender will receive no more, send no more. */
    static final int SHUTDOWN_RCV = 1;
    static final int SHUTDOWN_SEND = 2;

    private static final VarHandle LE64 = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LE32 = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LE16 = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);

    long srcCid;
    long dstCid;
    int srcPort;
    int dstPort;
    /** Payload bytes after the header, unsigned. */
    int len;
    int type;
    int op;
    int flags;
    /** The sender's receive buffer size and how much of it the sender has consumed (credit, spec 5.10.6.3). */
    int bufAlloc;
    int fwdCnt;

    void decode(byte[] b) {
        srcCid = (long) LE64.get(b, 0);
        dstCid = (long) LE64.get(b, 8);
        srcPort = (int) LE32.get(b, 16);
        dstPort = (int) LE32.get(b, 20);
        len = (int) LE32.get(b, 24);
        type = (short) LE16.get(b, 28) & 0xffff;
        op = (short) LE16.get(b, 30) & 0xffff;
        flags = (int) LE32.get(b, 32);
        bufAlloc = (int) LE32.get(b, 36);
        fwdCnt = (int) LE32.get(b, 40);
    }

    void encode(byte[] b) {
        LE64.set(b, 0, srcCid);
        LE64.set(b, 8, dstCid);
        LE32.set(b, 16, srcPort);
        LE32.set(b, 20, dstPort);
        LE32.set(b, 24, len);
        LE16.set(b, 28, (short) type);
        LE16.set(b, 30, (short) op);
        LE32.set(b, 32, flags);
        LE32.set(b, 36, bufAlloc);
        LE32.set(b, 40, fwdCnt);
    }

    static String opName(int op) {
        return switch (op) {
            case OP_REQUEST -> "REQUEST";
            case OP_RESPONSE -> "RESPONSE";
            case OP_RST -> "RST";
            case OP_SHUTDOWN -> "SHUTDOWN";
            case OP_RW -> "RW";
            case OP_CREDIT_UPDATE -> "CREDIT_UPDATE";
            case OP_CREDIT_REQUEST -> "CREDIT_REQUEST";
            default -> "op " + op;
        };
    }

    @Override
    public String toString() {
        return opName(op) + " " + srcCid + ":" + Integer.toUnsignedString(srcPort) + " -> " + dstCid + ":"
                + Integer.toUnsignedString(dstPort) + " len " + Integer.toUnsignedString(len) + " flags " + flags
                + " buf_alloc " + Integer.toUnsignedString(bufAlloc) + " fwd_cnt " + Integer.toUnsignedString(fwdCnt);
    }
}
