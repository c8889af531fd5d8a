package dev.airlock.guest.agent;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A child's stdin as the host writes it: each write becomes STDIN frames, sent only as far as
 * the agent's credit allows (the writer waits for WINDOW otherwise). Not buffered; wrap it in a
 * BufferedOutputStream for many small writes.
 */
final class StdinStream extends OutputStream {

    private final ExecProcess process;
    private final boolean requested;
    private final int maxFrameBytes;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition credited = lock.newCondition();
    private long creditBytes;
    private boolean closed;
    private String endedBecause;

    StdinStream(ExecProcess process, boolean requested, int windowBytes, int maxFrameBytes) {
        this.process = process;
        this.requested = requested;
        this.creditBytes = windowBytes;
        this.maxFrameBytes = maxFrameBytes;
    }

    /** On the reader thread: WINDOW for stdin. */
    void credit(int bytes) {
        lock.lock();
        try {
            creditBytes += bytes;
            credited.signalAll();
        } finally {
            lock.unlock();
        }
    }

    void end(String because) {
        lock.lock();
        try {
            if (endedBecause == null) {
                endedBecause = because;
            }
            credited.signalAll();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] buffer, int offset, int length) throws IOException {
        Objects.checkFromIndexSize(offset, length, buffer.length);
        if (!requested) {
            throw new IOException("the stdin of " + process + " was not requested; use ExecRequest.withStdin()");
        }
        while (length > 0) {
            int n;
            lock.lock();
            try {
                while (creditBytes == 0 && !closed && endedBecause == null) {
                    try {
                        credited.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new InterruptedIOException("interrupted writing the stdin of " + process);
                    }
                }
                if (closed) {
                    throw new IOException("the stdin of " + process + " is closed");
                }
                if (endedBecause != null) {
                    throw new IOException("cannot write the stdin of " + process + ": " + endedBecause);
                }
                n = (int) Math.min(Math.min(length, creditBytes), maxFrameBytes);
                creditBytes -= n;
            } finally {
                lock.unlock();
            }
            // Copied: the caller may reuse its buffer as soon as we return.
            byte[] chunk = new byte[n];
            System.arraycopy(buffer, offset, chunk, 0, n);
            process.sendStdin(ByteBuffer.wrap(chunk));
            offset += n;
            length -= n;
        }
    }

    /** Sends STDIN_CLOSE: the child reads end of file once it has read what was written. */
    @Override
    public void close() throws IOException {
        boolean send;
        lock.lock();
        try {
            send = requested && !closed && endedBecause == null;
            closed = true;
            credited.signalAll();
        } finally {
            lock.unlock();
        }
        if (send) {
            process.sendStdinClose();
        }
    }
}
