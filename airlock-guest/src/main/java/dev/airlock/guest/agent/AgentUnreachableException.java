package dev.airlock.guest.agent;

/**
 * The agent could not be reached: the socket would not connect, the VM's vsock proxy refused the
 * {@code CONNECT}, or nothing answered HELLO in time. Usually the guest is not up yet or the agent
 * is not running in it.
 */
public final class AgentUnreachableException extends AgentException {

    public AgentUnreachableException(String message) {
        super(message);
    }

    public AgentUnreachableException(String message, Throwable cause) {
        super(message, cause);
    }
}
