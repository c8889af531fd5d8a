package dev.airlock.guest.assets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HostAptSourcesTest {

    // The shape of a stock Debian 12 debian.sources (URIs are placeholders, not real mirrors).
    private static final String DEBIAN_SOURCES = """
            Types: deb
            # http://snapshot.example/archive/debian/20250520T000000Z
            URIs: http://mirror.example/debian
            Suites: bookworm bookworm-updates
            Components: main
            Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

            Types: deb
            URIs: http://mirror.example/debian-security
            Suites: bookworm-security
            Components: main
            Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
            """;

    @Test
    void deb822TakesTheFirstMainArchive() {
        assertEquals(Optional.of("http://mirror.example/debian"), HostAptSources.fromDeb822(DEBIAN_SOURCES));
    }

    @Test
    void deb822SkipsSecurityDisabledAndSourceOnlyStanzas() {
        String text = """
                Types: deb
                URIs: http://security.example/debian-security/
                Suites: trixie-security
                Components: main

                Types: deb
                URIs: http://disabled.example/debian
                Suites: trixie
                Enabled: no

                Types: deb-src
                URIs: http://src.example/debian
                Suites: trixie

                types: deb deb-src
                uris: cdrom:/media https://good.example/debian/
                suites: trixie trixie-updates
                Signed-By:
                 -----BEGIN PGP PUBLIC KEY BLOCK-----
                 Suites: not-a-field
                """;
        assertEquals(Optional.of("https://good.example/debian"), HostAptSources.fromDeb822(text));
        assertEquals(Optional.empty(), HostAptSources.fromDeb822("# nothing\n"));
    }

    @Test
    void oneLineStyleSkipsCommentsSourcesAndSecurity() {
        String text = """
                # deb http://commented.example/debian bookworm main
                deb-src http://src.example/debian bookworm main
                deb http://security.example/debian-security bookworm-security main
                deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://good.example/debian/ bookworm main
                deb http://later.example/debian bookworm main
                """;
        assertEquals(Optional.of("http://good.example/debian"), HostAptSources.fromOneLineStyle(text));
        assertEquals(Optional.empty(), HostAptSources.fromOneLineStyle("deb [broken http://x/debian bookworm main\n"));
    }

    @Test
    void debianSourcesComesBeforeSourcesList(@TempDir Path etc) throws Exception {
        Files.createDirectories(etc.resolve("sources.list.d"));
        Files.writeString(etc.resolve("sources.list"), "deb http://list.example/debian bookworm main\n");
        Files.writeString(etc.resolve("sources.list.d/zz.list"), "deb http://zz.example/debian bookworm main\n");
        Files.writeString(etc.resolve("sources.list.d/aa.list.disabled"), "deb http://no.example/debian bookworm main\n");
        List<Path> files = HostAptSources.candidateFiles(etc);
        assertEquals(List.of(etc.resolve("sources.list.d/debian.sources"), etc.resolve("sources.list"),
                etc.resolve("sources.list.d/zz.list")), files);
        assertEquals(Optional.of("http://list.example/debian"), HostAptSources.archiveUri(files));

        Files.writeString(etc.resolve("sources.list.d/debian.sources"), DEBIAN_SOURCES);
        assertEquals(Optional.of("http://mirror.example/debian"), HostAptSources.archiveUri(files));
        assertEquals(Optional.empty(), HostAptSources.archiveUri(List.of(etc.resolve("missing"))));
    }

    @Test
    void privateSourcesLineFollowsTheRecipe() {
        assertEquals("deb [arch=riscv64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]"
                        + " http://mirror.example/debian trixie main\n",
                HostAptSources.privateSourcesLine("http://mirror.example/debian", "trixie", PrivateApt.SIGNED_BY_DEBIAN));
        assertThrows(IllegalArgumentException.class,
                () -> HostAptSources.privateSourcesLine("http://a b", "trixie", PrivateApt.SIGNED_BY_DEBIAN));
    }
}
