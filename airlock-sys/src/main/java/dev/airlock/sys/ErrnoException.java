package dev.airlock.sys;

/** A failed system call, carrying its name and errno so callers can tell ENOMEM from EINVAL. */
public final class ErrnoException extends RuntimeException {
    private final String syscall;
    private final int errno;

    public ErrnoException(String syscall, int errno) {
        super(syscall + " failed: " + Errno.name(errno) + " (errno " + errno + ")");
        this.syscall = syscall;
        this.errno = errno;
    }

    /** As {@link #ErrnoException(String, int)}, naming what the call was about, e.g. the path {@code open} was given. */
    public ErrnoException(String syscall, int errno, String subject) {
        super(syscall + " " + subject + " failed: " + Errno.name(errno) + " (errno " + errno + ")");
        this.syscall = syscall;
        this.errno = errno;
    }

    public String syscall() { return syscall; }

    public int errno() { return errno; }
}
