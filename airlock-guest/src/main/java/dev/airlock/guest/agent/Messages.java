package dev.airlock.guest.agent;

import java.util.ArrayList;
import java.util.LinkedHashMap;

/**
 * Payload layouts of agent protocol 1, both directions (the agent's C code mirrors these; the
 * tests' fake agents use the agent-side half). Readers ignore bytes after the fields they know, so
 * a later minor version may append fields.
 */
final class Messages {

    static final int PROTOCOL_MAJOR = 1;
    static final int PROTOCOL_MINOR = 0;

    static final int CHANNEL_STDIN = 0;
    static final int CHANNEL_STDOUT = 1;
    static final int CHANNEL_STDERR = 2;

    static final int EXEC_STDIN_STREAM = 1;
    static final int EXEC_CLEAR_ENV = 2;
    static final int SIGNAL_PROCESS_GROUP = 1;

    record HostHello(int major, int minor, int outputWindowBytes, String clientName) {}

    record RemoteError(int errno, String message) {}

    record Window(int channel, int incrementBytes) {}

    record Signal(int signo, boolean processGroup) {}

    record FilePut(int mode, String path) {}

    private Messages() {}

    static byte[] hostHello(HostHello hello) {
        return new PayloadWriter().u16(hello.major()).u16(hello.minor()).u32(hello.outputWindowBytes())
                .string(hello.clientName()).toByteArray();
    }

    static HostHello parseHostHello(byte[] payload) throws AgentProtocolException {
        var in = new PayloadReader(payload, "HELLO");
        return new HostHello(in.u16(), in.u16(), in.u32(), in.string());
    }

    static byte[] agentHello(AgentHello hello) {
        return new PayloadWriter().u16(hello.protocolMajor()).u16(hello.protocolMinor())
                .u32(hello.stdinWindowBytes()).u32(hello.maxPayloadBytes()).string(hello.agentName()).toByteArray();
    }

    /** The major version is checked before anything else: a later major may lay the rest out anew. */
    static AgentHello parseAgentHello(byte[] payload) throws AgentProtocolException {
        var in = new PayloadReader(payload, "HELLO");
        int major = in.u16();
        if (major != PROTOCOL_MAJOR) {
            throw new ProtocolVersionException("the guest agent speaks protocol version " + major
                    + ", this client speaks " + PROTOCOL_MAJOR + "." + PROTOCOL_MINOR
                    + "; update the agent in the guest image or the host");
        }
        var hello = new AgentHello(major, in.u16(), in.u32(), in.u32(), in.string());
        if (hello.stdinWindowBytes() <= 0 || hello.maxPayloadBytes() <= 0) {
            throw in.malformed("non-positive window or frame limit");
        }
        return hello;
    }

    static byte[] exec(ExecRequest request) {
        int flags = (request.streamStdin() ? EXEC_STDIN_STREAM : 0) | (request.clearEnv() ? EXEC_CLEAR_ENV : 0);
        var out = new PayloadWriter().u32(flags).string(request.cwd()).u32(request.argv().size());
        request.argv().forEach(out::string);
        out.u32(request.env().size());
        request.env().forEach((name, value) -> out.string(name + "=" + value));
        return out.toByteArray();
    }

    static ExecRequest parseExec(byte[] payload) throws AgentProtocolException {
        var in = new PayloadReader(payload, "EXEC");
        int flags = in.u32();
        String cwd = in.string();
        int argc = in.count(4);
        var argv = new ArrayList<String>(argc);
        for (int i = 0; i < argc; i++) {
            argv.add(in.string());
        }
        int envc = in.count(4);
        var env = new LinkedHashMap<String, String>();
        for (int i = 0; i < envc; i++) {
            String variable = in.string();
            int eq = variable.indexOf('=');
            if (eq <= 0) {
                throw in.malformed("environment entry '" + variable + "' is not NAME=value");
            }
            env.put(variable.substring(0, eq), variable.substring(eq + 1));
        }
        try {
            return new ExecRequest(argv, env, cwd, (flags & EXEC_STDIN_STREAM) != 0, (flags & EXEC_CLEAR_ENV) != 0);
        } catch (IllegalArgumentException e) {
            throw in.malformed(e.getMessage());
        }
    }

    static byte[] started(int pid) {
        return new PayloadWriter().u32(pid).toByteArray();
    }

    static int parseStarted(byte[] payload) throws AgentProtocolException {
        return new PayloadReader(payload, "STARTED").u32();
    }

    static byte[] exit(ExitStatus status) {
        return new PayloadWriter().u8(status.signaled() ? 1 : 0).u32(status.value()).toByteArray();
    }

    static ExitStatus parseExit(byte[] payload) throws AgentProtocolException {
        var in = new PayloadReader(payload, "EXIT");
        int kind = in.u8();
        int value = in.u32();
        return switch (kind) {
            case 0 -> ExitStatus.exited(value);
            case 1 -> ExitStatus.killedBy(value);
            default -> throw in.malformed("unknown exit kind " + kind);
        };
    }

    static byte[] error(RemoteError error) {
        return new PayloadWriter().u32(error.errno()).string(error.message()).toByteArray();
    }

    static RemoteError parseError(byte[] payload) throws AgentProtocolException {
        var in = new PayloadReader(payload, "ERROR");
        return new RemoteError(in.u32(), in.string());
    }

    static byte[] window(Window window) {
        return new PayloadWriter().u8(window.channel()).u32(window.incrementBytes()).toByteArray();
    }

    static Window parseWindow(byte[] payload) throws AgentProtocolException {
        var in = new PayloadReader(payload, "WINDOW");
        var window = new Window(in.u8(), in.u32());
        if (window.channel() > CHANNEL_STDERR || window.incrementBytes() < 0) {
            throw in.malformed("channel " + window.channel() + ", increment " + Integer.toUnsignedString(window.incrementBytes()));
        }
        return window;
    }

    static byte[] signal(Signal signal) {
        return new PayloadWriter().u32(signal.signo()).u32(signal.processGroup() ? SIGNAL_PROCESS_GROUP : 0).toByteArray();
    }

    static Signal parseSignal(byte[] payload) throws AgentProtocolException {
        var in = new PayloadReader(payload, "SIGNAL");
        return new Signal(in.u32(), (in.u32() & SIGNAL_PROCESS_GROUP) != 0);
    }

    static byte[] filePut(FilePut put) {
        return new PayloadWriter().u32(put.mode()).string(put.path()).toByteArray();
    }

    static FilePut parseFilePut(byte[] payload) throws AgentProtocolException {
        var in = new PayloadReader(payload, "FILE_PUT");
        return new FilePut(in.u32(), in.string());
    }

    static byte[] fileGet(String path) {
        return new PayloadWriter().string(path).toByteArray();
    }

    static String parseFileGet(byte[] payload) throws AgentProtocolException {
        return new PayloadReader(payload, "FILE_GET").string();
    }

    /** FILE_END from the agent and FILE_PUT_OK both carry a u64 byte count. */
    static byte[] byteCount(long bytes) {
        return new PayloadWriter().u64(bytes).toByteArray();
    }

    static long parseByteCount(byte[] payload, String what) throws AgentProtocolException {
        var in = new PayloadReader(payload, what);
        long bytes = in.u64();
        if (bytes < 0) {
            throw in.malformed("byte count " + Long.toUnsignedString(bytes));
        }
        return bytes;
    }
}
