package dev.airlock.guest.agent;

/**
 * Bytes on the wire that break the agent protocol (docs/agent-protocol.md): an oversized or
 * truncated frame, an unknown frame type, a payload that does not parse, credit overrun. The
 * connection cannot be trusted afterwards and is closed.
 */
public class AgentProtocolException extends AgentException {

    public AgentProtocolException(String message) {
        super(message);
    }
}
