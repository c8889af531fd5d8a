package dev.airlock.store.format;

/** What a log record does. Codes are on disk: never renumber. */
public enum RecordType {
    /** One block of data. */
    WRITE(1),
    /** A range of blocks discarded; they read as zeros. */
    TRIM(2),
    /** A range of blocks explicitly zeroed (same effect as TRIM here, kept apart for replication and audit). */
    ZERO(3);

    public final int code;

    RecordType(int code) {
        this.code = code;
    }

    /** The type for an on-disk code, or null if the code is unknown. */
    public static RecordType ofCode(int code) {
        return switch (code) {
            case 1 -> WRITE;
            case 2 -> TRIM;
            case 3 -> ZERO;
            default -> null;
        };
    }
}
