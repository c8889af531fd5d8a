package dev.airlock.guest.agent;

import java.io.IOException;

/** Something went wrong talking to the guest agent; subclasses say what kind of thing. */
public class AgentException extends IOException {

    public AgentException(String message) {
        super(message);
    }

    public AgentException(String message, Throwable cause) {
        super(message, cause);
    }
}
