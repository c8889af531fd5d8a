package dev.airlock.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.lang.reflect.RecordComponent;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What {@code airlock ps} shows for a running VM, and what its memory really costs the host. Guest
 * RAM is counted page by page from the host's page tables ({@link dev.airlock.memory.FrameAccounting}):
 * private frames (the VM's own), template frames (its template's file pages, shared by every clone
 * and held once by the host), content-shared frames (KSM), pages mapping the host's zero page, and
 * pages not present. {@code residentBytes} is what the VM maps that is not the zero page. Then what
 * the balloon holds or the guest reported free, and the whole JVM's RSS and PSS from
 * {@code /proc/self/smaps_rollup} as a cross-check. {@code tableBytes} estimates the host page tables
 * mapping its RAM, and {@code javaBytes} the Java arrays its code cache and harts hold of their own.
 *
 * @param template the template it was cloned from, or "" for a booted VM
 */
record VmStatus(String name, long pid, long cid, int cpus, long memoryBytes, String template, long residentBytes,
                long privateBytes, long templateBytes, long sharedBytes, long zeroBytes, long notPresentBytes,
                long balloonBytes, long reportedFreeBytes, long guestInstructions, long uptimeMs,
                long processRssBytes, long processPssBytes, long tableBytes, long javaBytes) {

    /** One flat JSON object; each key is a component's name in snake case (memoryBytes: "memory_bytes"). */
    String toJson() {
        var json = new StringBuilder("{");
        for (RecordComponent c : VmStatus.class.getRecordComponents()) {
            if (json.length() > 1) json.append(',');
            json.append('"').append(key(c)).append("\":");
            Object v = value(c);
            json.append(v instanceof String text ? '"' + text.replace("\\", "\\\\").replace("\"", "\\\"") + '"' : v);
        }
        return json.append('}').toString();
    }

    private static final Pattern FIELD = Pattern.compile("\"([a-z_]+)\":(\"(?:[^\"\\\\]|\\\\.)*\"|-?\\d+)");

    /** Parses what {@link #toJson} wrote (our own format, one flat object); a missing number reads as -1. */
    static VmStatus fromJson(String json) {
        Map<String, String> f = new LinkedHashMap<>();
        Matcher m = FIELD.matcher(json);
        while (m.find()) f.put(m.group(1), m.group(2));
        if (!f.containsKey("name")) throw new IllegalArgumentException("not a VM status: " + json);
        RecordComponent[] components = VmStatus.class.getRecordComponents();
        Object[] args = new Object[components.length];
        Class<?>[] types = new Class<?>[components.length];
        for (int i = 0; i < components.length; i++) {
            types[i] = components[i].getType();
            String v = f.get(key(components[i]));
            if (types[i] == String.class) args[i] = v == null ? null : unquote(v);
            else if (types[i] == int.class) args[i] = v == null ? -1 : Integer.parseInt(v);
            else args[i] = v == null ? -1L : Long.parseLong(v);
        }
        try {
            return VmStatus.class.getDeclaredConstructor(types).newInstance(args);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String key(RecordComponent c) {
        return c.getName().replaceAll("([A-Z])", "_$1").toLowerCase(java.util.Locale.ROOT);
    }

    private Object value(RecordComponent c) {
        try {
            return c.getAccessor().invoke(this);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String unquote(String s) {
        return s.substring(1, s.length() - 1).replace("\\\"", "\"").replace("\\\\", "\\");
    }

    /** {Rss, Pss} of this process in bytes, from smaps_rollup; -1 where the kernel does not say. */
    static long[] processRssPss() {
        try {
            var m = dev.airlock.memory.ProcessMemory.readSelf();
            return new long[] {m.rssBytes(), m.pssBytes()};
        } catch (RuntimeException e) {
            return new long[] {-1, -1}; // not Linux, or no smaps_rollup (before 4.14)
        }
    }
}
