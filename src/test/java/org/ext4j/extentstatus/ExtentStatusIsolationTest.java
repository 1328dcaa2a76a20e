package org.ext4j.extentstatus;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * The extent status tree is in-memory only: it knows no device, no on-disk format and no other
 * layer of ext4j, only the JDK and (if ever needed) {@code org.ext4j.error}. That keeps it testable
 * alone and usable by the block mapper without cycles.
 */
class ExtentStatusIsolationTest {

    @Test
    void dependsOnNothingButTheJdkErrorsAndInterleavingPoints() {
        JavaClasses main = new ClassFileImporter()
                .withImportOption(location -> !location.contains("/test-classes/"))
                .withImportOption(new ImportOption.DoNotIncludeTests())
                .importPackages("org.ext4j.extentstatus");
        classes().that().resideInAPackage("org.ext4j.extentstatus..")
                .should().onlyDependOnClassesThat()
                .resideInAnyPackage("java..", "org.ext4j.extentstatus..", "org.ext4j.error..", "org.ext4j.interleave..")
                .check(main);
    }
}
