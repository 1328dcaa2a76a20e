package org.ext4j;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import java.util.ArrayList;
import java.util.List;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.core.importer.Location;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.library.Architectures.LayeredArchitecture;

/**
 * The layering of DESIGN.md as tiers, bottom up. A package may depend on packages of lower tiers
 * only (skipping tiers is fine), never on one of its own tier or above: {@code error} is usable by
 * all and uses nothing; {@code blockdev} knows no file system; the codecs in {@code format} and the
 * generic {@code buffer} cache sit side by side and do not know each other. Packages form no cycle,
 * there is no catch-all {@code util}, and a package missing from {@link #TIERS} fails
 * {@link #everyPackageHasATier} until it is given its place here.
 */
@AnalyzeClasses(packages = "org.ext4j", importOptions = ArchitectureTest.MainClassesOnly.class)
class ArchitectureTest {

    /** Bottom first. */
    static final List<List<String>> TIERS = List.of(
            List.of("error", "interleave"),
            List.of("blockdev"),
            List.of("format", "buffer", "pagecache"),
            List.of("txn", "iomap"),
            List.of("volume"),
            List.of("alloc"),
            List.of("extentstatus"),
            List.of("extents"),
            List.of("mapping"),
            List.of("inode"),
            List.of("namespace", "journal"),
            List.of("fs"),
            List.of("race", "tree"),
            List.of("mkfs"),
            List.of("cli"));

    /**
     * Main classes only. ArchUnit's own DoNotIncludeTests knows Maven's {@code target/test-classes}
     * but not a build directory moved with {@code -Dext4j.buildDir}, so match the folder name alone.
     */
    static final class MainClassesOnly implements ImportOption {
        @Override
        public boolean includes(Location location) {
            return !location.contains("/test-classes/") && new DoNotIncludeTests().includes(location);
        }
    }

    private static String pkg(String name) {
        return "org.ext4j." + name + "..";
    }

    private static LayeredArchitecture tiers() {
        LayeredArchitecture arch = layeredArchitecture().consideringOnlyDependenciesInLayers();
        for (List<String> tier : TIERS) {
            for (String name : tier) {
                arch = arch.layer(name).definedBy(pkg(name));
            }
        }
        for (int t = 0; t < TIERS.size(); t++) {
            List<String> above = new ArrayList<>();
            for (List<String> higher : TIERS.subList(t + 1, TIERS.size())) {
                above.addAll(higher);
            }
            for (String name : TIERS.get(t)) {
                arch = above.isEmpty() ? arch.whereLayer(name).mayNotBeAccessedByAnyLayer()
                        : arch.whereLayer(name).mayOnlyBeAccessedByLayers(above.toArray(String[]::new));
            }
        }
        return arch;
    }

    @ArchTest
    static final ArchRule dependenciesPointDown = tiers()
            .because("packages stack from the block device up to the public faces and depend only downwards"
                    + " (STYLE.md, DESIGN.md)");

    @ArchTest
    static final ArchRule errorDependsOnNothing = classes().that().resideInAPackage(pkg("error"))
            .should().onlyDependOnClassesThat().resideInAnyPackage(pkg("error"), "java..")
            .because("every layer reports through error, so error can use none of them");

    @ArchTest
    static final ArchRule interleaveDependsOnNothing = classes().that().resideInAPackage(pkg("interleave"))
            .should().onlyDependOnClassesThat().resideInAnyPackage(pkg("interleave"), "java..")
            .because("every layer marks its interleaving points, so the points can use none of them");

    @ArchTest
    static final ArchRule blockdevKnowsNoFileSystem = classes().that().resideInAPackage(pkg("blockdev"))
            .should().onlyDependOnClassesThat().resideInAnyPackage(pkg("blockdev"), pkg("error"), "java..")
            .because("the block device is generic: it knows nothing of ext4");

    @ArchTest
    static final ArchRule formatIsPureCodecs = noClasses().that().resideInAPackage(pkg("format"))
            .should().dependOnClassesThat().resideInAnyPackage(pkg("blockdev"), pkg("buffer"), pkg("txn"),
                    "java.nio.channels..", "java.nio.file..", "java.io.File")
            .because("codecs decode bytes they are handed; they do no I/O");

    @ArchTest
    static final ArchRule iomapAndPageCacheKnowNoExt4 = classes().that()
            .resideInAnyPackage(pkg("iomap"), pkg("pagecache"))
            .should().onlyDependOnClassesThat().resideInAnyPackage(pkg("iomap"), pkg("pagecache"), pkg("error"),
                    pkg("interleave"), "java..")
            .because("as fs/iomap knows nothing of ext4, the file system hands iomap its IomapOps");

    @ArchTest
    static final ArchRule packagesAreFreeOfCycles = slices().matching("org.ext4j.(*)..").should().beFreeOfCycles();

    @ArchTest
    static final ArchRule noUtilPackage = noClasses().should().resideInAPackage("..util..")
            .because("no catch-all util package (STYLE.md)");

    @ArchTest
    static final ArchRule everyPackageHasATier = classes().that().resideInAPackage("org.ext4j..")
            .should().resideInAnyPackage(TIERS.stream().flatMap(List::stream).map(ArchitectureTest::pkg)
                    .toArray(String[]::new))
            .because("a new package must be given its place in the layering (ArchitectureTest.TIERS)");
}
