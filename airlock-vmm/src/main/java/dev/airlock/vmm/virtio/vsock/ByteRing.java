package dev.airlock.vmm.virtio.vsock;

import dev.airlock.vmm.virtio.queue.DescriptorChain;

/**
 * A fixed-capacity FIFO of bytes between a guest queue and a host socket. Not thread-safe: the
 * owning {@link VsockConnection}'s monitor guards it.
 */
final class ByteRing {
    private final byte[] buf;
    private int head;
    private int size;

    ByteRing(int capacity) {
        buf = new byte[capacity];
    }

    int size() { return size; }

    int free() { return buf.length - size; }

    int capacity() { return buf.length; }

    /** Appends {@code n} bytes; the caller checked {@link #free()}. */
    void put(byte[] src, int off, int n) {
        if (n > free()) throw new IllegalStateException("ring overflow: " + n + " > " + free());
        int tail = (head + size) % buf.length;
        int first = Math.min(n, buf.length - tail);
        System.arraycopy(src, off, buf, tail, first);
        System.arraycopy(src, off + first, buf, 0, n - first);
        size += n;
    }

    /** Appends {@code n} bytes from the chain's readable region at {@code chainOffset}; returns the bytes copied. */
    int putFrom(DescriptorChain chain, long chainOffset, int n) {
        if (n > free()) throw new IllegalStateException("ring overflow: " + n + " > " + free());
        int done = 0;
        while (done < n) {
            int tail = (head + size) % buf.length;
            int run = Math.min(n - done, buf.length - tail);
            int got = chain.read(chainOffset + done, buf, tail, run);
            size += got;
            done += got;
            if (got < run) break;
        }
        return done;
    }

    /** Removes up to {@code max} bytes into {@code dst}; returns how many. */
    int take(byte[] dst, int off, int max) {
        int n = Math.min(max, size);
        int first = Math.min(n, buf.length - head);
        System.arraycopy(buf, head, dst, off, first);
        System.arraycopy(buf, 0, dst, off + first, n - first);
        consume(n);
        return n;
    }

    /** Removes up to {@code max} bytes into the chain's writable region at {@code chainOffset}; returns how many. */
    int takeInto(DescriptorChain chain, long chainOffset, int max) {
        int n = Math.min(max, size);
        int done = 0;
        while (done < n) {
            int run = Math.min(n - done, buf.length - head);
            int put = chain.write(chainOffset + done, buf, head, run);
            consume(put);
            done += put;
            if (put < run) break;
        }
        return done;
    }

    private void consume(int n) {
        head = (head + n) % buf.length;
        size -= n;
        if (size == 0) head = 0;
    }
}
