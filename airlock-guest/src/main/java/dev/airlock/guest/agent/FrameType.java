package dev.airlock.guest.agent;

/** Frame types of agent protocol 1 (docs/agent-protocol.md), with who may send each. */
public enum FrameType {
    HELLO(0x01, Direction.BOTH),
    PING(0x02, Direction.TO_AGENT),
    PONG(0x03, Direction.TO_HOST),
    ERROR(0x0F, Direction.TO_HOST),
    EXEC(0x10, Direction.TO_AGENT),
    STARTED(0x11, Direction.TO_HOST),
    STDOUT(0x12, Direction.TO_HOST),
    STDERR(0x13, Direction.TO_HOST),
    STDIN(0x14, Direction.TO_AGENT),
    STDIN_CLOSE(0x15, Direction.TO_AGENT),
    EXIT(0x16, Direction.TO_HOST),
    SIGNAL(0x17, Direction.TO_AGENT),
    WINDOW(0x18, Direction.BOTH),
    FILE_PUT(0x20, Direction.TO_AGENT),
    FILE_DATA(0x21, Direction.BOTH),
    FILE_END(0x22, Direction.BOTH),
    FILE_PUT_OK(0x23, Direction.TO_HOST),
    FILE_GET(0x24, Direction.TO_AGENT);

    public enum Direction { TO_AGENT, TO_HOST, BOTH }

    private static final FrameType[] BY_CODE = new FrameType[256];

    static {
        for (FrameType type : values()) {
            BY_CODE[type.code] = type;
        }
    }

    private final int code;
    private final Direction direction;

    FrameType(int code, Direction direction) {
        this.code = code;
        this.direction = direction;
    }

    /** The type byte on the wire. */
    public int code() {
        return code;
    }

    public boolean sentByAgent() {
        return direction != Direction.TO_AGENT;
    }

    public boolean sentByHost() {
        return direction != Direction.TO_HOST;
    }

    /** The type for a wire byte, or null for one protocol 1 does not define. */
    public static FrameType ofCode(int code) {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }
}
