package dev.airlock.vmm.fdt;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A strict reader of DTB v17 blobs for tests: it checks the header, alignment and token stream as a
 * boot loader would, and decodes the tree so tests can look at nodes and properties.
 */
final class FdtParser {
    record Header(int magic, int totalSize, int structOffset, int stringsOffset, int rsvmapOffset, int version,
            int lastCompatibleVersion, int bootCpuId, int stringsSize, int structSize) {}

    static final class Node {
        final String name;
        final Map<String, byte[]> properties = new LinkedHashMap<>();
        final List<Node> children = new ArrayList<>();

        Node(String name) {
            this.name = name;
        }

        Node child(String childName) {
            for (Node c : children) {
                if (c.name.equals(childName)) {
                    return c;
                }
            }
            throw new AssertionError("no node '" + childName + "' under '" + name + "'; children: "
                    + children.stream().map(c -> c.name).toList());
        }

        /** A node by path from this one, such as "soc/serial@10000000". */
        Node at(String path) {
            Node n = this;
            for (String part : path.split("/")) {
                if (!part.isEmpty()) {
                    n = n.child(part);
                }
            }
            return n;
        }

        byte[] prop(String prop) {
            byte[] v = properties.get(prop);
            if (v == null) {
                throw new AssertionError("node '" + name + "' has no property '" + prop + "'; it has " + properties.keySet());
            }
            return v;
        }

        int[] cells(String prop) {
            ByteBuffer b = ByteBuffer.wrap(prop(prop));
            int[] cells = new int[b.remaining() / 4];
            for (int i = 0; i < cells.length; i++) {
                cells[i] = b.getInt();
            }
            return cells;
        }

        long u64(String prop) {
            return ByteBuffer.wrap(prop(prop)).getLong();
        }

        List<String> strings(String prop) {
            byte[] v = prop(prop);
            if (v.length == 0 || v[v.length - 1] != 0) {
                throw new AssertionError("property '" + prop + "' is not NUL-terminated");
            }
            return List.of(new String(v, 0, v.length - 1, StandardCharsets.UTF_8).split("\0", -1));
        }

        String string(String prop) {
            List<String> s = strings(prop);
            if (s.size() != 1) {
                throw new AssertionError("property '" + prop + "' holds " + s.size() + " strings");
            }
            return s.get(0);
        }
    }

    final Header header;
    final List<long[]> reservations = new ArrayList<>();
    final Node root;

    FdtParser(byte[] blob) {
        ByteBuffer b = ByteBuffer.wrap(blob); // big-endian by default
        check(blob.length >= 40, "blob shorter than a header");
        header = new Header(b.getInt(0), b.getInt(4), b.getInt(8), b.getInt(12), b.getInt(16), b.getInt(20),
                b.getInt(24), b.getInt(28), b.getInt(32), b.getInt(36));
        check(header.magic == 0xD00DFEED, "bad magic");
        check(header.totalSize == blob.length, "totalsize " + header.totalSize + " != blob length " + blob.length);
        check(header.version == 17 && header.lastCompatibleVersion == 16, "version");
        check(header.rsvmapOffset % 8 == 0, "memory reservation block not 8-aligned");
        check(header.structOffset % 4 == 0, "structure block not 4-aligned");
        check(header.rsvmapOffset >= 40 && header.rsvmapOffset < header.structOffset, "reservation block placement");
        check(header.structOffset + header.structSize <= header.stringsOffset, "structure block overlaps strings");
        check(header.stringsOffset + header.stringsSize <= header.totalSize, "strings block past the end");

        for (int at = header.rsvmapOffset; ; at += 16) {
            long address = b.getLong(at);
            long size = b.getLong(at + 8);
            if (address == 0 && size == 0) {
                break;
            }
            reservations.add(new long[] {address, size});
        }

        int at = header.structOffset;
        int end = header.structOffset + header.structSize;
        List<Node> stack = new ArrayList<>();
        Node rootNode = null;
        boolean ended = false;
        while (at < end) {
            int token = b.getInt(at);
            at += 4;
            switch (token) {
                case 1 -> {
                    int nameEnd = at;
                    while (blob[nameEnd] != 0) {
                        nameEnd++;
                    }
                    Node n = new Node(new String(blob, at, nameEnd - at, StandardCharsets.US_ASCII));
                    at = align4(nameEnd + 1, blob);
                    if (stack.isEmpty()) {
                        check(rootNode == null, "second root node");
                        check(n.name.isEmpty(), "root node has a name");
                        rootNode = n;
                    } else {
                        stack.getLast().children.add(n);
                    }
                    stack.add(n);
                }
                case 2 -> {
                    check(!stack.isEmpty(), "END_NODE without BEGIN_NODE");
                    stack.removeLast();
                }
                case 3 -> {
                    check(!stack.isEmpty(), "property outside a node");
                    Node n = stack.getLast();
                    check(n.children.isEmpty(), "property after a child node in '" + n.name + "'");
                    int len = b.getInt(at);
                    int nameOff = b.getInt(at + 4);
                    check(nameOff >= 0 && nameOff < header.stringsSize, "property name offset out of the strings block");
                    int nameStart = header.stringsOffset + nameOff;
                    int nameEnd = nameStart;
                    while (blob[nameEnd] != 0) {
                        nameEnd++;
                    }
                    String name = new String(blob, nameStart, nameEnd - nameStart, StandardCharsets.US_ASCII);
                    byte[] value = new byte[len];
                    System.arraycopy(blob, at + 8, value, 0, len);
                    check(n.properties.put(name, value) == null, "duplicate property " + name);
                    at = align4(at + 8 + len, blob);
                }
                case 4 -> {}
                case 9 -> {
                    check(stack.isEmpty(), "END inside a node");
                    check(at == end, "END before the end of the structure block");
                    ended = true;
                }
                default -> throw new AssertionError("bad token " + token + " at " + (at - 4));
            }
        }
        check(ended, "no END token");
        check(rootNode != null, "no root");
        root = rootNode;
    }

    /** Skips to 4-byte alignment, checking that the padding is zeros. */
    private static int align4(int at, byte[] blob) {
        while ((at & 3) != 0) {
            check(blob[at] == 0, "non-zero padding at " + at);
            at++;
        }
        return at;
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError("malformed DTB: " + what);
        }
    }
}
