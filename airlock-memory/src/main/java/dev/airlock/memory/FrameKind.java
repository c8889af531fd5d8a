package dev.airlock.memory;

/** What backs one host page of a VM's RAM, as {@link FrameAccounting} classifies it. */
public enum FrameKind {
    /** No frame: never touched, discarded, or swapped out (no RAM held). */
    NOT_PRESENT,
    /** The kernel's shared zero page: read but never written. Costs the host nothing per VM. */
    ZERO,
    /** A page-cache page of the template's memory file (or any file or shmem page), shared by every mapping of it. */
    TEMPLATE,
    /**
     * An anonymous frame mapped more than once: merged by KSM because its content matched another
     * page's. (A page still shared after fork would look the same; Airlock does not fork.)
     */
    SHARED,
    /** An anonymous frame mapped only here: written by this VM, or a KSM page all others have copied away from. */
    PRIVATE
}
