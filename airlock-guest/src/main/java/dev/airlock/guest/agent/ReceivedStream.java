package dev.airlock.guest.agent;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.util.ArrayDeque;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A child's stdout or stderr as the host reads it. The reader thread appends whole frame payloads
 * (never blocking: the agent may send no more than the credit we granted); reading returns credit
 * to the agent in batches of a quarter window.
 */
final class ReceivedStream extends InputStream {

    private final ExecProcess process;
    private final int channel;
    private final int windowBytes;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final ArrayDeque<byte[]> chunks = new ArrayDeque<>();
    private int headOffset;
    private int bufferedBytes;
    /** Bytes the agent has sent that we have not yet given back as credit. */
    private int unackedBytes;
    /** Of those, bytes the reader has consumed (or we discarded) since the last grant. */
    private int consumedBytes;
    private boolean ended;
    private boolean closed;
    private AgentException failure;

    ReceivedStream(ExecProcess process, int channel, int windowBytes) {
        this.process = process;
        this.channel = channel;
        this.windowBytes = windowBytes;
    }

    /** On the reader thread: a data frame; an empty one is the end of the stream. */
    void offer(byte[] data) throws AgentProtocolException {
        int grantLater = 0;
        lock.lock();
        try {
            if (data.length == 0) {
                ended = true;
            } else {
                if (ended) {
                    throw new AgentProtocolException("the agent sent " + name() + " data after its end");
                }
                if (data.length > windowBytes - unackedBytes) {
                    throw new AgentProtocolException("the agent overran the " + name() + " window of "
                            + windowBytes + " bytes");
                }
                unackedBytes += data.length;
                if (closed) {
                    consumedBytes += data.length;
                    grantLater = takeGrant();
                } else {
                    chunks.add(data);
                    bufferedBytes += data.length;
                }
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        if (grantLater > 0) {
            process.grantLater(channel, grantLater);
        }
    }

    /** The process exited or the connection failed: readers get what is buffered, then this. */
    void end(AgentException cause) {
        lock.lock();
        try {
            if (!ended && failure == null) {
                failure = cause;
            }
            ended = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
    }

    @Override
    public int read(byte[] buffer, int offset, int length) throws IOException {
        java.util.Objects.checkFromIndexSize(offset, length, buffer.length);
        if (length == 0) {
            return 0;
        }
        int grant;
        int copied = 0;
        lock.lock();
        try {
            while (chunks.isEmpty() && !ended && !closed) {
                try {
                    changed.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("interrupted reading " + name());
                }
            }
            if (closed) {
                throw new IOException(name() + " is closed");
            }
            if (chunks.isEmpty()) {
                if (failure != null) {
                    throw new AgentException("cannot read " + name() + ": " + failure.getMessage(), failure);
                }
                return -1;
            }
            while (copied < length && !chunks.isEmpty()) {
                byte[] head = chunks.peek();
                int n = Math.min(length - copied, head.length - headOffset);
                System.arraycopy(head, headOffset, buffer, offset + copied, n);
                copied += n;
                headOffset += n;
                if (headOffset == head.length) {
                    chunks.poll();
                    headOffset = 0;
                }
            }
            bufferedBytes -= copied;
            consumedBytes += copied;
            grant = takeGrant();
        } finally {
            lock.unlock();
        }
        if (grant > 0) {
            process.grant(channel, grant);
        }
        return copied;
    }

    @Override
    public int available() {
        lock.lock();
        try {
            return bufferedBytes;
        } finally {
            lock.unlock();
        }
    }

    /** Discards what is buffered and what still comes, still granting credit so the child runs on. */
    @Override
    public void close() {
        int grant;
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            consumedBytes += bufferedBytes;
            bufferedBytes = 0;
            chunks.clear();
            headOffset = 0;
            grant = takeGrant();
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        if (grant > 0) {
            process.grantLater(channel, grant);
        }
    }

    /** Under the lock: credit worth returning now, if any. */
    private int takeGrant() {
        if (ended || consumedBytes < windowBytes / 4) {
            return 0;
        }
        int grant = consumedBytes;
        consumedBytes = 0;
        unackedBytes -= grant;
        return grant;
    }

    private String name() {
        return "the " + (channel == Messages.CHANNEL_STDOUT ? "stdout" : "stderr") + " of " + process;
    }
}
