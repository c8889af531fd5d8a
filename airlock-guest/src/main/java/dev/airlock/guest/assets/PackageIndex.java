package dev.airlock.guest.assets;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Where the guest packages are looked up and downloaded from: apt's lists, verified by Debian's
 * signature ({@link PrivateApt}), or an index verified by a pinned hash ({@link PinnedIndex}).
 * Failures are IOExceptions whose message is one line for a person.
 */
interface PackageIndex {

    /** The index's version of each named package it has, by name; absent names are left out. */
    Map<String, PrivateApt.PackageInfo> show(List<String> names) throws IOException;

    /** Downloads exactly these versions into {@code dir} as NAME_*.deb, each checked against the index's hash. */
    void download(List<PrivateApt.PackageInfo> packages, Path dir) throws IOException;
}
