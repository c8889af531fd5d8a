package dev.airlock.sys;

/** The errno values Airlock reacts to, by name. Values are Linux's (x86_64 and riscv64 agree). */
public final class Errno {
    public static final int EPERM = 1, ENOENT = 2, EINTR = 4, EIO = 5, EBADF = 9, EAGAIN = 11,
            ENOMEM = 12, EACCES = 13, EFAULT = 14, EEXIST = 17, EINVAL = 22, ENOSPC = 28, ENOSYS = 38;

    private Errno() {}

    public static String name(int errno) {
        return switch (errno) {
            case EPERM -> "EPERM"; case ENOENT -> "ENOENT"; case EINTR -> "EINTR"; case EIO -> "EIO";
            case EBADF -> "EBADF"; case EAGAIN -> "EAGAIN"; case ENOMEM -> "ENOMEM"; case EACCES -> "EACCES";
            case EFAULT -> "EFAULT"; case EEXIST -> "EEXIST"; case EINVAL -> "EINVAL"; case ENOSPC -> "ENOSPC";
            case ENOSYS -> "ENOSYS";
            default -> "errno" + errno;
        };
    }
}
