package dev.airlock.guest.agent;

/**
 * The agent refused or failed a request and said why with an ERROR frame: a guest errno (Linux
 * numbering, e.g. 2 = ENOENT) and a message such as "cannot open /etc/nope: No such file or
 * directory".
 */
public final class AgentRemoteException extends AgentException {

    private final int errno;
    private final String remoteMessage;

    public AgentRemoteException(int errno, String remoteMessage) {
        super("guest agent: " + remoteMessage + " (" + Errno.name(errno) + ")");
        this.errno = errno;
        this.remoteMessage = remoteMessage;
    }

    /** The guest's errno value (Linux numbering). */
    public int errno() {
        return errno;
    }

    /** The symbolic errno, e.g. {@code ENOENT}, or {@code errno 123} for one not in our table. */
    public String errnoName() {
        return Errno.name(errno);
    }

    /** The agent's own message, without the errno. */
    public String remoteMessage() {
        return remoteMessage;
    }
}
