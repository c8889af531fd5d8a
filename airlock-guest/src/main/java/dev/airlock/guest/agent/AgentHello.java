package dev.airlock.guest.agent;

/** What the agent said about itself in its HELLO. */
public record AgentHello(int protocolMajor, int protocolMinor, int stdinWindowBytes, int maxPayloadBytes,
        String agentName) {}
