package org.ext4j.testing;

import java.lang.reflect.Method;
import java.util.LinkedHashMap;
import java.util.Map;

import net.jqwik.api.lifecycle.AroundPropertyHook;
import net.jqwik.api.lifecycle.PropagationMode;
import net.jqwik.api.lifecycle.PropertyExecutionResult;
import net.jqwik.api.lifecycle.PropertyExecutor;
import net.jqwik.api.lifecycle.PropertyLifecycleContext;

import org.junit.jupiter.api.extension.DynamicTestInvocationContext;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.InvocationInterceptor;
import org.junit.jupiter.api.extension.ReflectiveInvocationContext;
import org.opentest4j.TestAbortedException;

/**
 * Turns the checks a test left out ({@link Tools#kernelCheck}, {@link Tools#skipCheck}) into a
 * visible JUnit skip: the test runs to its end, and if it passed but left a check out it is
 * reported as skipped (aborted) with every left-out check and its reason, so the report never
 * counts as passed a test whose kernel check did not run. A test that fails stays failed.
 *
 * <p>Register it on each class whose tests call those methods: {@code @ExtendWith(SkippedChecks.class)}
 * for JUnit Jupiter (test methods, parameterized and repeated tests, dynamic tests), and
 * {@code @AddLifecycleHook(SkippedChecks.class)} for jqwik properties (the whole property, all its
 * tries). The calls fail the test where no registration is active.
 *
 * <p>The record is one per JVM: this project's tests run one at a time (no parallel execution is
 * configured), and a second test starting while one is recorded is reported as an error rather
 * than mixed up.
 */
public final class SkippedChecks implements InvocationInterceptor, AroundPropertyHook {
    /** What was left out, and why, in the running test; null when no registered test runs. */
    private static Map<String, String> current;

    @Override
    public void interceptTestMethod(Invocation<Void> invocation, ReflectiveInvocationContext<Method> invocationContext,
            ExtensionContext extensionContext) throws Throwable {
        around(invocation);
    }

    @Override
    public void interceptTestTemplateMethod(Invocation<Void> invocation,
            ReflectiveInvocationContext<Method> invocationContext, ExtensionContext extensionContext) throws Throwable {
        around(invocation);
    }

    @Override
    public void interceptDynamicTest(Invocation<Void> invocation, DynamicTestInvocationContext invocationContext,
            ExtensionContext extensionContext) throws Throwable {
        around(invocation);
    }

    /** Registered on a class, the hook wraps each of its properties (jqwik's default is the class alone). */
    @Override
    public PropagationMode propagateTo() {
        return PropagationMode.ALL_DESCENDANTS;
    }

    @Override
    public PropertyExecutionResult aroundProperty(PropertyLifecycleContext context, PropertyExecutor property) {
        begin();
        PropertyExecutionResult result;
        Map<String, String> skipped;
        try {
            result = property.execute();
        } finally {
            skipped = end();
        }
        if (result.status() == PropertyExecutionResult.Status.SUCCESSFUL && !skipped.isEmpty()) {
            return result.mapToAborted(new TestAbortedException(message(skipped)));
        }
        return result;
    }

    private static void around(Invocation<Void> invocation) throws Throwable {
        begin();
        Map<String, String> skipped;
        try {
            invocation.proceed();
        } finally {
            skipped = end();
        }
        if (!skipped.isEmpty()) {
            throw new TestAbortedException(message(skipped));
        }
    }

    private static synchronized void begin() {
        if (current != null) {
            throw new IllegalStateException("two tests recording skipped checks at once: SkippedChecks assumes"
                    + " tests run one at a time");
        }
        current = new LinkedHashMap<>();
    }

    private static synchronized Map<String, String> end() {
        Map<String, String> skipped = current;
        current = null;
        return skipped;
    }

    /** Fails unless a registered test is running, so that no check can be left out silently. */
    static synchronized void requireActive(String what) {
        if (current == null) {
            throw new IllegalStateException(what + " may be skipped, but this test is not registered with"
                    + " SkippedChecks: add @ExtendWith(SkippedChecks.class) to the test class"
                    + " (@AddLifecycleHook(SkippedChecks.class) for jqwik)");
        }
    }

    static synchronized void record(String what, String why) {
        requireActive(what);
        current.putIfAbsent(what, why);
    }

    private static String message(Map<String, String> skipped) {
        StringBuilder s = new StringBuilder("everything else in this test passed, but it left out ");
        String sep = "";
        for (Map.Entry<String, String> e : skipped.entrySet()) {
            s.append(sep).append(e.getKey()).append(" (").append(e.getValue()).append(')');
            sep = "; ";
        }
        return s.toString();
    }
}
