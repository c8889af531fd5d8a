package dev.airlock.guest.assets;

/**
 * The guest kernel or busybox could not be fetched, unpacked or verified. The message is one line
 * for a person: what was being fetched, why it failed, and how to do without it.
 */
public final class GuestAssetException extends RuntimeException {

    public static final String FIX = "supply your own with --kernel FILE and --initrd FILE";

    GuestAssetException(String what, String reason, Throwable cause) {
        super(oneLine("could not " + what + ": " + reason + "; " + FIX), cause);
    }

    static String oneLine(String text) {
        return text.replaceAll("\\s+", " ").strip();
    }
}
