package dev.airlock.guest.agent;

/** The agent and this client speak different major versions of the agent protocol. */
public final class ProtocolVersionException extends AgentProtocolException {

    public ProtocolVersionException(String message) {
        super(message);
    }
}
